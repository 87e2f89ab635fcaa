/** Port selection on 127.0.0.1: free ports for a new cluster, checks for explicit ones. */
import { readFileSync } from "node:fs";
import { createServer } from "node:net";
import { DevClusterError } from "./errors.ts";

/** The kernel's range for the source ports of outgoing connections. */
export function ephemeralRange(
  text = readProcRange(),
): { first: number; last: number } | undefined {
  const match = /^\s*(\d+)\s+(\d+)\s*$/.exec(text ?? "");
  if (!match) return undefined;
  const first = Number(match[1]);
  const last = Number(match[2]);
  return first <= last && last <= 65535 ? { first, last } : undefined;
}

function readProcRange(): string | undefined {
  try {
    return readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8");
  } catch {
    return undefined;
  }
}

/** Where {@link freePort} draws from: below the ephemeral range, above the well-known servers. */
export function listenRange(
  ephemeral: { first: number; last: number } | undefined,
): { first: number; last: number } | undefined {
  const first = 10_000;
  if (!ephemeral || ephemeral.first - first < 4096) return undefined;
  return { first, last: ephemeral.first - 1 };
}

/**
 * A free port for a component that listens, drawn from below the kernel's
 * ephemeral range. A component stopped and started again (a node restart, an
 * API server restart in a test) binds the same port it was given, and a port
 * from the ephemeral range can meanwhile become the source port of any
 * outgoing connection on the host: that made a ZooKeeper e2e node restart
 * fail with EADDRINUSE. Outside that range only an explicit bind can take it.
 * Another process could still take it before we bind it; the control plane
 * retries on that.
 */
export async function freePort(): Promise<number> {
  const range = listenRange(ephemeralRange());
  if (range) {
    for (let attempt = 0; attempt < 64; attempt++) {
      const port = range.first + Math.floor(Math.random() * (range.last - range.first + 1));
      if (await isPortFree(port)) return port;
    }
  }
  return kernelChosenPort();
}

function kernelChosenPort(): Promise<number> {
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
