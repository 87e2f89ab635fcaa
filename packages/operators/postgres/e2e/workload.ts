/**
 * The PostgreSQL driver of the e2e kit's acknowledged-write checker: each
 * write is one transaction, `INSERT INTO acked (scenario, seq)`, on the
 * pod `<name>-rw` selects (the one labelled primary and serving, as the
 * Service's endpoints would give it), counted as acknowledged once COMMIT
 * returned — with `synchronous`, PostgreSQL returns it only once `any`
 * standbys flushed it. Reads select the scenario's rows from the primary
 * once the writes stop.
 *
 * One connection (npm `pg`), no pool, no retry inside a write; when it
 * breaks or the primary moves, the next write connects afresh to whoever
 * is labelled primary then.
 */
import type { AckedWriteDriver } from "@ballast/e2e-kit";
import pg from "pg";

export interface PgDriverFigures {
  /** Writes that failed (not acknowledged): connection lost, refused, timed out. */
  failed: number;
  /** Times the writer connected (a new primary, or a broken connection). */
  connects: number;
}

export interface PgTarget {
  host: string;
  password: string;
}

export function pgDriver(
  primary: () => Promise<PgTarget | undefined>,
  { scenario, timeoutMs = 3000 }: { scenario: string; timeoutMs?: number },
): AckedWriteDriver<PgDriverFigures> & { ackTimes: number[] } {
  let client: pg.Client | undefined;
  let connectedTo = "";
  const figures = { failed: 0, connects: 0 };
  const ackTimes: number[] = [];

  async function connected(): Promise<pg.Client> {
    const target = await primary();
    if (!target) throw new Error("no pod is labelled primary and serving");
    if (client && target.host === connectedTo) return client;
    await drop();
    const c = new pg.Client({
      host: target.host,
      port: 5432,
      user: "postgres",
      password: target.password,
      database: "postgres",
      connectionTimeoutMillis: timeoutMs,
      query_timeout: timeoutMs * 3,
      application_name: "e2e-writer",
    });
    c.on("error", () => {});
    await c.connect();
    figures.connects++;
    await c.query(
      "CREATE TABLE IF NOT EXISTS acked (scenario text NOT NULL, seq integer NOT NULL)",
    );
    client = c;
    connectedTo = target.host;
    return c;
  }

  async function drop(): Promise<void> {
    const c = client;
    client = undefined;
    connectedTo = "";
    await c?.end().catch(() => {});
  }

  return {
    ackTimes,
    async write(seq) {
      try {
        const c = await connected();
        await c.query("INSERT INTO acked (scenario, seq) VALUES ($1, $2)", [scenario, seq]);
        ackTimes.push(Date.now());
      } catch (err) {
        figures.failed++;
        await drop();
        throw err;
      }
    },
    async readAll({ deadline }) {
      for (;;) {
        try {
          const c = await connected();
          const res = await c.query<{ seq: number }>("SELECT seq FROM acked WHERE scenario = $1", [
            scenario,
          ]);
          return res.rows.map((r) => r.seq);
        } catch (err) {
          await drop();
          if (Date.now() > deadline) throw err;
          await new Promise((r) => setTimeout(r, 500));
        }
      }
    },
    progress: () => ({ ...figures }),
    close: drop,
  };
}

/** One short session on an instance's IP; quick to give up on one that is gone. */
export async function onInstance<T>(
  host: string,
  password: string,
  work: (c: pg.Client) => Promise<T>,
  timeoutMs = 1500,
): Promise<T> {
  const c = new pg.Client({
    host,
    port: 5432,
    user: "postgres",
    password,
    database: "postgres",
    connectionTimeoutMillis: timeoutMs,
    query_timeout: timeoutMs,
  });
  c.on("error", () => {});
  await c.connect();
  try {
    return await work(c);
  } finally {
    await c.end().catch(() => {});
  }
}
