/**
 * The real PostgreSQL port, on npm `pg`: one short-lived session per call
 * (`session.ts` says why), every statement bounded by a small
 * `statement_timeout` except the two that legitimately take long
 * (`pg_promote`, which waits for the promotion; `CHECKPOINT`, which writes
 * every dirty buffer), which get their own, longer bounds.
 *
 * Statements that take no parameters (`ALTER SYSTEM` is a utility
 * statement: no `$1`) embed their value with `escapeLiteral`, after a
 * local check where PostgreSQL's rule is simple (slot names).
 */
import { type Client, escapeLiteral } from "pg";
import { readReport, walFileTimeline } from "./_report.ts";
import {
  type InstanceAddress,
  type InstanceReport,
  isSlotName,
  type PostgresPort,
  type PromoteOptions,
  type Promotion,
} from "./port.ts";
import { classify, Sessions } from "./session.ts";
import {
  historyFileName,
  parseTimelineHistory,
  type TimelineSwitchText,
} from "./timeline-history.ts";

export interface PostgresAdminOptions {
  /** The role to connect as: a superuser in the operator's pods. @default "postgres" */
  user?: string;
  password: string;
  /** @default "postgres" */
  database?: string;
  /** @default 2000 */
  connectTimeoutMs?: number;
  /** `statement_timeout` of each session. @default 3000 */
  statementTimeoutMs?: number;
  /** The bound on `CHECKPOINT`: it writes every dirty buffer at full speed. @default 60000 */
  checkpointTimeoutMs?: number;
  /** How long `setSynchronousStandbyNames` waits for the reload to apply. @default 2000 */
  reloadTimeoutMs?: number;
  /** How the port's sessions appear in `pg_stat_activity`. @default "ballast-operator" */
  applicationName?: string;
}

export class PostgresAdmin implements PostgresPort {
  readonly #options: PostgresAdminOptions;
  readonly #sessions: Sessions;

  constructor(options: PostgresAdminOptions) {
    this.#options = options;
    this.#sessions = new Sessions(options);
  }

  async report(instance: InstanceAddress): Promise<InstanceReport> {
    try {
      return await this.#sessions.run(instance, "report", (client) => readReport(client, instance));
    } catch (err) {
      return {
        id: instance.id,
        reachable: false,
        role: "unknown",
        error: this.#sessions.failure(err),
      };
    }
  }

  async timelineHistory(
    instance: InstanceAddress,
    timeline: number,
  ): Promise<TimelineSwitchText[]> {
    const file = historyFileName(timeline);
    if (timeline === 1) return [];
    const what = `timelineHistory ${timeline}`;
    return this.#sessions.run(instance, what, async (client) => {
      const { rows } = await client.query("SELECT pg_read_file($1, 0, 1048576, true) AS content", [
        `pg_wal/${file}`,
      ]);
      const content = rows[0]?.content;
      if (typeof content !== "string") {
        throw this.#sessions.error(instance, "error", what, `pg_wal/${file} does not exist`);
      }
      return parseTimelineHistory(content);
    });
  }

  async promote(instance: InstanceAddress, options: PromoteOptions = {}): Promise<Promotion> {
    const waitSeconds = Math.max(1, Math.round(options.waitSeconds ?? 60));
    const statementTimeoutMs = waitSeconds * 1000 + (this.#options.statementTimeoutMs ?? 3000);
    const what = `promote (pg_promote, wait ${waitSeconds} s)`;
    return this.#sessions.run(
      instance,
      what,
      async (client) => {
        let alreadyPrimary = !(await inRecovery(client));
        if (!alreadyPrimary) {
          try {
            const { rows } = await client.query("SELECT pg_promote(true, $1) AS promoted", [
              waitSeconds,
            ]);
            if (rows[0]?.promoted !== true) {
              throw this.#sessions.error(
                instance,
                "timeout",
                what,
                `still in recovery after ${waitSeconds} s (the promotion may yet finish: report again)`,
              );
            }
          } catch (err) {
            // 55000 "recovery is not in progress": someone else promoted it meanwhile.
            if (classify(err).sqlState !== "55000" || (await inRecovery(client))) throw err;
            alreadyPrimary = true;
          }
        }
        const { rows } = await client.query(
          "SELECT pg_current_wal_lsn()::text AS lsn, pg_walfile_name(pg_current_wal_lsn()) AS walfile",
        );
        return {
          alreadyPrimary,
          timeline: walFileTimeline(String(rows[0]?.walfile)),
          currentLsn: String(rows[0]?.lsn),
        };
      },
      { statementTimeoutMs },
    );
  }

  async checkpoint(instance: InstanceAddress): Promise<void> {
    await this.#sessions.run(instance, "CHECKPOINT", (client) => client.query("CHECKPOINT"), {
      statementTimeoutMs: this.#options.checkpointTimeoutMs ?? 60_000,
    });
  }

  async ensureSlot(instance: InstanceAddress, name: string): Promise<{ created: boolean }> {
    const what = `ensureSlot ${name}`;
    this.#checkSlotName(instance, what, name);
    return this.#sessions.run(instance, what, async (client) => {
      try {
        await client.query("SELECT pg_create_physical_replication_slot($1, true)", [name]);
        return { created: true };
      } catch (err) {
        // 42710 duplicate_object: it exists (checking first would race with another creator).
        if (classify(err).sqlState === "42710") return { created: false };
        throw err;
      }
    });
  }

  async dropSlot(instance: InstanceAddress, name: string): Promise<{ dropped: boolean }> {
    const what = `dropSlot ${name}`;
    this.#checkSlotName(instance, what, name);
    return this.#sessions.run(instance, what, async (client) => {
      try {
        await client.query("SELECT pg_drop_replication_slot($1)", [name]);
        return { dropped: true };
      } catch (err) {
        // 42704 undefined_object: already gone.
        if (classify(err).sqlState === "42704") return { dropped: false };
        throw err;
      }
    });
  }

  async setSynchronousStandbyNames(primary: InstanceAddress, value: string): Promise<string> {
    const what = `setSynchronousStandbyNames ${JSON.stringify(value)}`;
    const applied = await this.#setAndReload(primary, what, { synchronous_standby_names: value });
    return applied.synchronous_standby_names ?? "";
  }

  async setStreamingSource(
    standby: InstanceAddress,
    source: { conninfo: string; slotName: string },
  ): Promise<void> {
    this.#checkSlotName(standby, "setStreamingSource", source.slotName);
    // The conninfo holds no password (a passfile does); it is still left out of the message.
    await this.#setAndReload(standby, `setStreamingSource slot ${source.slotName}`, {
      primary_conninfo: source.conninfo,
      primary_slot_name: source.slotName,
    });
  }

  /**
   * `ALTER SYSTEM SET` each setting, `pg_reload_conf()`, then waits until
   * this session applies every value: pg_reload_conf() only signals the
   * postmaster, which re-reads the files and signals every process; a
   * backend applies the new values between statements, once the signal
   * reached it. A value the command line sets is never applied (a
   * command-line setting outranks postgresql.auto.conf): the wait times out
   * and says which value the server still applies.
   */
  async #setAndReload(
    instance: InstanceAddress,
    what: string,
    settings: Record<string, string>,
  ): Promise<Record<string, string>> {
    return this.#sessions.run(instance, what, async (client) => {
      for (const [name, value] of Object.entries(settings))
        await client.query(`ALTER SYSTEM SET ${name} = ${escapeLiteral(value)}`);
      await client.query("SELECT pg_reload_conf()");
      const deadline = Date.now() + (this.#options.reloadTimeoutMs ?? 2000);
      for (;;) {
        const applied: Record<string, string> = {};
        for (const name of Object.keys(settings)) {
          const { rows } = await client.query("SELECT current_setting($1) AS value", [name]);
          applied[name] = String(rows[0]?.value ?? "");
        }
        const behind = Object.keys(settings).filter((n) => applied[n] !== settings[n]);
        if (behind.length === 0) return applied;
        if (Date.now() >= deadline) {
          const errors = await client.query(
            "SELECT sourcefile, sourceline, name, error FROM pg_file_settings WHERE error IS NOT NULL",
          );
          const why = errors.rows
            .map((r) => `${r.sourcefile}:${r.sourceline} ${r.name ?? ""}: ${r.error}`)
            .join("; ");
          const still =
            behind[0] === "synchronous_standby_names"
              ? `the server still applies ${JSON.stringify(applied[behind[0]])}`
              : `the server does not apply the new ${behind.join(", ")} (set on its command line?)`;
          throw this.#sessions.error(
            instance,
            "timeout",
            what,
            `${still}${why ? ` (configuration errors: ${why})` : ""}`,
          );
        }
        await new Promise((r) => setTimeout(r, 20));
      }
    });
  }

  async terminateClientBackends(instance: InstanceAddress): Promise<number> {
    return this.#sessions.run(instance, "terminateClientBackends", async (client) => {
      const { rows } = await client.query(
        `SELECT count(*) FILTER (WHERE pg_terminate_backend(pid))::int4 AS terminated
         FROM pg_stat_activity
         WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()`,
      );
      return Number(rows[0]?.terminated ?? 0);
    });
  }

  #checkSlotName(instance: InstanceAddress, what: string, name: string): void {
    if (!isSlotName(name)) {
      throw this.#sessions.error(
        instance,
        "error",
        what,
        `${JSON.stringify(name)} is not a slot name (lower-case letters, digits and _, at most 63)`,
      );
    }
  }
}

async function inRecovery(client: Client): Promise<boolean> {
  const { rows } = await client.query("SELECT pg_is_in_recovery() AS recovery");
  return rows[0]?.recovery === true;
}
