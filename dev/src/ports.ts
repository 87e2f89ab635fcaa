/** Port selection on 127.0.0.1: free ports for a new cluster, checks for explicit ones. */
import { createServer } from "node:net";
import { DevClusterError } from "./errors.ts";

/** Asks the kernel for a free port. Another process could take it before we bind it; the control plane retries on that. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === "object") resolve(address.port);
        else reject(new Error("could not read the port the kernel chose"));
      });
    });
  });
}

export function isPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

/** For a port the user chose: fails before anything starts if it is taken. */
export async function assertPortFree(port: number, flag: string): Promise<void> {
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new DevClusterError(
      `${flag} ${port} is not a TCP port.`,
      `Pass a number from 1 to 65535 to ${flag}, or leave it out to pick a free port.`,
    );
  }
  if (!(await isPortFree(port))) {
    throw new DevClusterError(
      `Port 127.0.0.1:${port} (${flag}) is already in use by another process.`,
      `Stop what listens there (\`ss -ltnp 'sport = :${port}'\` shows it), pass another port to ${flag}, or leave ${flag} out to pick a free port.`,
    );
  }
}
