/** The part of node-zookeeper-client (no types of its own) the e2e driver uses. */
declare module "node-zookeeper-client" {
  interface Client {
    connect(): void;
    close(): void;
    once(event: "connected" | "disconnected" | "expired", listener: () => void): void;
    getState(): unknown;
    mkdirp(path: string, callback: (error: Error | null) => void): void;
    create(
      path: string,
      data: Buffer,
      mode: number,
      callback: (error: Error | null, path: string) => void,
    ): void;
    getChildren(path: string, callback: (error: Error | null, children: string[]) => void): void;
  }
  const zookeeper: {
    createClient(
      connectionString: string,
      options?: { sessionTimeout?: number; spinDelay?: number; retries?: number },
    ): Client;
    State: { SYNC_CONNECTED: unknown };
    CreateMode: { PERSISTENT_SEQUENTIAL: number };
  };
  export default zookeeper;
}
