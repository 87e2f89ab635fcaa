/**
 * The Redis driver of the e2e kit's acknowledged-write checker: each
 * write is `SET <prefix>:<seq> <seq>` on the pod the master Service selects
 * (a prefix per scenario, so a key an earlier scenario wrote cannot stand
 * in for one this scenario lost),
 * acknowledged only once `WAIT 1 <ms>` on the same connection says at
 * least one replica has it — what a client that must not lose a write
 * asks of Redis. Reads `SCAN` the `<prefix>:*` keys on the master once the
 * writes stop.
 *
 * The client (ioredis) connects to the master pod's IP, without retries
 * or an offline queue; when the connection breaks, or the master moves,
 * the next write connects afresh to whoever is labelled master then.
 */
import type { AckedWriteDriver } from "@ballast/e2e-kit";
import { Redis } from "ioredis";

export interface RedisDriverFigures {
  /** Writes the master accepted that WAIT did not confirm (not counted as acknowledged). */
  unconfirmed: number;
}

export function redisDriver(
  master: () => Promise<string | undefined>,
  password: string,
  { waitMs = 1000, timeoutMs = 3000, prefix = "ack" } = {},
): AckedWriteDriver<RedisDriverFigures> & { ackTimes: number[] } {
  let client: Redis | undefined;
  let connectedTo = "";
  const figures = { unconfirmed: 0 };
  const ackTimes: number[] = [];

  async function connected(): Promise<Redis> {
    const host = await master();
    if (!host) throw new Error("no pod is labelled master and serving");
    if (client && host === connectedTo && client.status === "ready") return client;
    client?.disconnect();
    const c = new Redis({
      host,
      port: 6379,
      password,
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
      connectTimeout: timeoutMs,
      commandTimeout: timeoutMs + waitMs,
    });
    c.on("error", () => {});
    client = c;
    connectedTo = host;
    await c.connect();
    return c;
  }

  return {
    ackTimes,
    async write(seq) {
      const c = await connected();
      try {
        await c.set(`${prefix}:${seq}`, String(seq));
        const replicas = (await c.call("WAIT", "1", String(waitMs))) as number;
        if (replicas < 1) {
          figures.unconfirmed++;
          throw new Error(`WAIT 1 ${waitMs}: no replica confirmed ${seq}`);
        }
        ackTimes.push(Date.now());
      } catch (err) {
        client?.disconnect();
        client = undefined;
        throw err;
      }
    },
    async readAll({ deadline }) {
      for (;;) {
        try {
          const c = await connected();
          const found: number[] = [];
          let cursor = "0";
          do {
            const [next, keys] = await c.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 1000);
            cursor = next;
            for (const k of keys) found.push(Number(k.slice(prefix.length + 1)));
          } while (cursor !== "0");
          return found;
        } catch (err) {
          client = undefined;
          if (Date.now() > deadline) throw err;
          await new Promise((r) => setTimeout(r, 500));
        }
      }
    },
    progress: () => ({ ...figures }),
    async close() {
      client?.disconnect();
    },
  };
}
