/**
 * The ZooKeeper driver of the e2e kit's acknowledged-write checker: each
 * write is a PERSISTENT_SEQUENTIAL create of `/acked/w<seq>-`, acknowledged
 * only once the create returns (ZooKeeper commits a write on a quorum
 * before it answers). Reads list `/acked` and parse the numbers back.
 *
 * The client (node-zookeeper-client, pure JavaScript) connects to the
 * serving members' pod IPs; when its session breaks, or members come and
 * go, the next write connects afresh to whoever serves then.
 */
import type { AckedWriteDriver } from "@ballast/e2e-kit";
import zookeeper from "node-zookeeper-client";

type Client = ReturnType<typeof zookeeper.createClient>;

export function zooKeeperDriver(
  servers: () => Promise<string[]>,
  timeoutMs = 4000,
): AckedWriteDriver {
  let client: Client | undefined;
  let connectedTo = "";

  async function connected(): Promise<Client> {
    const list = (await servers()).join(",");
    if (client && client.getState() === zookeeper.State.SYNC_CONNECTED && list === connectedTo)
      return client;
    client?.close();
    if (!list) throw new Error("no serving member to connect to");
    const c = zookeeper.createClient(list, { sessionTimeout: 10_000, spinDelay: 200, retries: 0 });
    client = c;
    connectedTo = list;
    await within(
      new Promise<void>((resolve) => {
        c.once("connected", () => resolve());
        c.connect();
      }),
      timeoutMs,
      "connect",
    );
    await new Promise<void>((resolve, reject) =>
      c.mkdirp("/acked", (err) => (err ? reject(err) : resolve())),
    );
    return c;
  }

  return {
    async write(seq) {
      const c = await connected();
      try {
        await within(
          new Promise<void>((resolve, reject) =>
            c.create(
              `/acked/w${seq}-`,
              Buffer.from(String(seq)),
              zookeeper.CreateMode.PERSISTENT_SEQUENTIAL,
              (err) => (err ? reject(err) : resolve()),
            ),
          ),
          timeoutMs,
          `create ${seq}`,
        );
      } catch (err) {
        // A broken session is replaced by the next write.
        client?.close();
        client = undefined;
        throw err;
      }
    },
    async readAll({ deadline }) {
      for (;;) {
        try {
          const c = await connected();
          const children = await within(
            new Promise<string[]>((resolve, reject) =>
              c.getChildren("/acked", (err, names) => (err ? reject(err) : resolve(names))),
            ),
            timeoutMs,
            "list /acked",
          );
          return children.flatMap((name) => {
            const m = /^w(\d+)-/.exec(name);
            return m ? [Number(m[1])] : [];
          });
        } catch (err) {
          client = undefined;
          if (Date.now() > deadline) throw err;
          await new Promise((r) => setTimeout(r, 500));
        }
      }
    },
    async close() {
      client?.close();
    },
  };
}

function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no answer in ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
