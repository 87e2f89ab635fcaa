/**
 * The Redis Cluster driver of the e2e kit's acknowledged-write checker.
 * Each write is `SET <prefix>:<seq>` on the master of the key's slot, then
 * `WAIT 1 <ms>` on the same connection: acknowledged only when a replica
 * has it. Reads `SCAN` every master once the writes stop.
 *
 * A small cluster client of its own rather than ioredis's `Cluster`: WAIT
 * must run on the connection that ran the SET, which a pipeline only
 * guarantees when no redirect happens — and redirects are what the
 * reshard scenarios are about. So this client follows them itself and
 * counts them: MOVED (the slot has moved: update the slot map, retry) and
 * ASK (the slot is being moved and the key is not on the source any more:
 * `ASKING` + SET + WAIT on the target, once). Nodes are named by the
 * hostnames they announce; the test maps those to pod IPs (the host does
 * not resolve cluster DNS names).
 */
import type { AckedWriteDriver } from "@ballast/e2e-kit";
import { Redis } from "ioredis";

export interface ClusterDriverFigures {
  moved: number;
  ask: number;
  /** Writes a master accepted that WAIT did not confirm (not counted as acknowledged). */
  unconfirmed: number;
}

/** hostname (as nodes announce it) → pod IP, fresh from the API server. */
export type Resolve = () => Promise<Map<string, string>>;

/** CRC16/XMODEM of the key's hash tag (or whole key) mod 16384: Redis Cluster's key → slot. */
export function keySlot(key: string): number {
  const open = key.indexOf("{");
  let part = key;
  if (open >= 0) {
    const close = key.indexOf("}", open + 1);
    if (close > open + 1) part = key.slice(open + 1, close);
  }
  let crc = 0;
  for (const byte of Buffer.from(part)) {
    crc ^= byte << 8;
    for (let i = 0; i < 8; i++)
      crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc % 16384;
}

export function clusterDriver(
  resolve: Resolve,
  password: string,
  { waitMs = 1000, timeoutMs = 2000, prefix = "ack" } = {},
): AckedWriteDriver<ClusterDriverFigures> & { ackTimes: number[] } {
  const figures = { moved: 0, ask: 0, unconfirmed: 0 };
  const ackTimes: number[] = [];
  const conns = new Map<string, Redis>();
  /** slot → "ip:port" */
  let slots: string[] = [];
  let hosts = new Map<string, string>();

  function connection(ipPort: string): Redis {
    const had = conns.get(ipPort);
    if (had && had.status !== "end" && had.status !== "close") return had;
    const [host = "", port = "6379"] = ipPort.split(":");
    const c = new Redis({
      host,
      port: Number(port),
      password,
      enableOfflineQueue: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
      connectTimeout: timeoutMs,
      commandTimeout: timeoutMs + waitMs,
    });
    c.on("error", () => {});
    conns.set(ipPort, c);
    return c;
  }

  function drop(ipPort: string): void {
    conns.get(ipPort)?.disconnect();
    conns.delete(ipPort);
  }

  /** "host:port" from a redirect or CLUSTER SLOTS → "ip:port". */
  function toIP(host: string, port: number | string): string {
    return `${hosts.get(host) ?? host}:${port}`;
  }

  async function refresh(): Promise<void> {
    hosts = await resolve();
    for (const ip of new Set(hosts.values())) {
      try {
        const reply = (await connection(`${ip}:6379`).call("CLUSTER", "SLOTS")) as unknown[][];
        const next: string[] = [];
        for (const entry of reply) {
          const [start, end, master] = entry as [number, number, unknown[]];
          const where = toIP(String(master[0]), Number(master[1]));
          for (let s = start; s <= end; s++) next[s] = where;
        }
        slots = next;
        return;
      } catch {
        drop(`${ip}:6379`);
      }
    }
    throw new Error("no node answered CLUSTER SLOTS");
  }

  async function setAndWait(ipPort: string, key: string, value: string, asking: boolean) {
    const p = connection(ipPort).pipeline();
    if (asking) p.call("ASKING");
    p.set(key, value);
    p.call("WAIT", "1", String(waitMs));
    const out = (await p.exec()) ?? [];
    const offset = asking ? 1 : 0;
    const [setErr] = out[offset] ?? [];
    const [waitErr, replicas] = out[offset + 1] ?? [];
    return { setErr, waitErr, replicas: Number(replicas ?? 0) };
  }

  return {
    ackTimes,
    async write(seq) {
      if (slots.length === 0) await refresh();
      const key = `${prefix}:${seq}`;
      const slot = keySlot(key);
      let target = slots[slot];
      let asking = false;
      for (let attempt = 0; attempt < 4; attempt++) {
        if (!target) {
          await refresh();
          target = slots[slot];
          if (!target) throw new Error(`slot ${slot} has no master`);
        }
        let res: Awaited<ReturnType<typeof setAndWait>>;
        try {
          res = await setAndWait(target, key, String(seq), asking);
        } catch (err) {
          drop(target);
          slots = [];
          throw err;
        }
        const msg = res.setErr?.message ?? "";
        const redirect = msg.match(/^(MOVED|ASK) \d+ (\S+):(\d+)/);
        if (redirect) {
          // A node met since the last refresh: learn its pod IP first.
          if (!hosts.has(redirect[2] ?? "")) hosts = await resolve();
          const where = toIP(redirect[2] ?? "", redirect[3] ?? "6379");
          if (redirect[1] === "MOVED") {
            figures.moved++;
            slots[slot] = where;
            asking = false;
          } else {
            figures.ask++;
            asking = true;
          }
          target = where;
          continue;
        }
        if (res.setErr) {
          if (/CLUSTERDOWN|TRYAGAIN|LOADING/.test(msg)) slots = [];
          throw res.setErr;
        }
        if (res.waitErr) throw res.waitErr;
        if (res.replicas < 1) {
          figures.unconfirmed++;
          throw new Error(`WAIT 1 ${waitMs}: no replica confirmed ${seq}`);
        }
        ackTimes.push(Date.now());
        return;
      }
      throw new Error(`too many redirects for ${key}`);
    },
    async readAll({ deadline }) {
      for (;;) {
        try {
          await refresh();
          const masters = new Set(slots.filter(Boolean));
          const found: number[] = [];
          for (const m of masters) {
            const c = connection(m);
            let cursor = "0";
            do {
              const [next, keys] = await c.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 1000);
              cursor = next;
              for (const k of keys) found.push(Number(k.slice(prefix.length + 1)));
            } while (cursor !== "0");
          }
          return found;
        } catch (err) {
          if (Date.now() > deadline) throw err;
          await new Promise((r) => setTimeout(r, 500));
        }
      }
    },
    progress: () => ({ ...figures }),
    async close() {
      for (const c of conns.values()) c.disconnect();
      conns.clear();
    },
  };
}
