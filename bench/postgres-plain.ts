/**
 * The reference of P1/P2 (postgres-failover.ts): two plain PostgreSQL 15
 * servers on 127.0.0.1, Debian's binaries run as the `postgres` user the
 * way the admin tests run them (`asPostgres`: setpriv execs, so each child
 * process IS a postmaster and its signals reach it), a primary and a
 * streaming standby, no Kubernetes and no operator.
 *
 * - `failover()`: the primary's postmaster SIGKILLed; a promoter that
 *   tries a TCP connect to the primary every `refusalPollMs` calls
 *   `pg_promote()` on the standby as soon as one is refused, and names the
 *   standby as the place to write at that moment — the floor: no detection
 *   delay, nothing to reschedule, no Service to move.
 * - `switchover()`: the clean handover done by hand: CHECKPOINT, fast
 *   shutdown of the primary (its WAL senders send everything, the
 *   shutdown checkpoint included, before they exit), wait until the
 *   standby has received that checkpoint, `pg_promote()`, then the old
 *   primary restarted as a standby of the new one.
 * - `rejoin()`: after a failover, the killed primary's data directory is
 *   replaced by a base backup of the new primary and started as its
 *   standby (a rewind would do too; a fresh copy of a small database is as
 *   quick and cannot go wrong).
 *
 * Settings as the operator's pods have them where they matter to a
 * failover: checksums, wal_log_hints, fsync on, the manifest's
 * shared_buffers and max_connections, the operator's WAL settings.
 * Replication is asynchronous here (the operator's cluster has
 * `synchronous: {any: 1}`): a promoted standby with a synchronous setting
 * and no standby of its own would accept no commit, and the floor is the
 * cheapest correct handover.
 */
import type { ChildProcess } from "node:child_process";
import { chownSync, closeSync, mkdirSync, openSync, rmSync, writeFileSync } from "node:fs";
import { connect as tcpConnect } from "node:net";
import { join } from "node:path";
import { eventually, freePort } from "@ballast/dev/testkit";
import pg from "pg";
import {
  asPostgres,
  mustRunAsPostgres,
  postgresIds,
  runAsPostgres,
  stopProcess,
} from "../packages/operators/postgres/src/admin/_test-servers.ts";

export interface PgAddress {
  host: string;
  port: number;
}

interface Server {
  id: number;
  port: number;
  dir: string;
  child?: ChildProcess;
}

const clock = (): number => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** How often the failover's promoter tries the primary's port. */
const refusalPollMs = 5;

export class PlainPostgresPair {
  readonly #root: string;
  readonly #password: string;
  readonly #servers: [Server, Server];
  #primary = 0;
  /** Where a client writes: the server the promoter (or the hand switchover) last named the primary. */
  writeTarget: PgAddress;

  private constructor(root: string, password: string, ports: [number, number]) {
    this.#root = root;
    this.#password = password;
    this.#servers = [
      { id: 0, port: ports[0], dir: join(root, "s0") },
      { id: 1, port: ports[1], dir: join(root, "s1") },
    ];
    this.writeTarget = this.address(0);
  }

  static async start(options: { dir: string; password: string }): Promise<PlainPostgresPair> {
    const { uid, gid } = postgresIds();
    mkdirSync(options.dir, { recursive: true });
    chownSync(options.dir, uid, gid);
    const pair = new PlainPostgresPair(options.dir, options.password, [
      await freePort(),
      await freePort(),
    ]);
    await pair.#initPrimary();
    await pair.#copyStandby(1, 0);
    await pair.streaming();
    return pair;
  }

  address(id: number): PgAddress {
    return { host: "127.0.0.1", port: this.#servers[id]?.port ?? 0 };
  }

  get primary(): PgAddress {
    return this.address(this.#primary);
  }

  get standby(): PgAddress {
    return this.address(1 - this.#primary);
  }

  /** A server's log, for an error message. */
  logOf(id: number): string {
    return join(this.#root, `s${id}.log`);
  }

  /**
   * SIGKILL of the primary's postmaster, the promoter watching its port.
   * Times (clock()): the kill, the first refusal seen, pg_promote sent and
   * answered, the standby out of recovery.
   */
  async failover(): Promise<Record<string, number>> {
    const old = this.#servers[this.#primary] as Server;
    const next = this.#servers[1 - this.#primary] as Server;
    const pid = old.child?.pid;
    if (pid === undefined) throw new Error(`plain server ${old.id} is not running`);
    const refused = refusalOf(old.port);
    const killed = clock();
    process.kill(pid, "SIGKILL");
    const refusedAt = await refused;
    const promoteSent = clock();
    // The write target moves when the promotion is asked: a client meets
    // "read-only transaction" until it ends, as it would through a Service.
    this.writeTarget = this.address(next.id);
    await this.#sql(next, "SELECT pg_promote(false)");
    const promoteAnswered = clock();
    this.#primary = next.id;
    const outOfRecovery = await this.#outOfRecovery(next);
    await exited(old.child);
    delete old.child;
    return { killed, refusedAt, promoteSent, promoteAnswered, outOfRecovery };
  }

  /** The killed primary as a fresh base backup of the new one, streaming from it. */
  async rejoin(): Promise<void> {
    const old = 1 - this.#primary;
    await this.#copyStandby(old, this.#primary);
    await this.streaming();
  }

  /**
   * The clean switchover by hand. Times (clock()): asked, CHECKPOINT done,
   * the old primary stopped, its shutdown checkpoint received by the
   * standby, pg_promote sent and answered, the standby out of recovery,
   * the old primary streaming from the new one.
   */
  async switchover(): Promise<Record<string, number>> {
    const old = this.#servers[this.#primary] as Server;
    const next = this.#servers[1 - this.#primary] as Server;
    const asked = clock();
    await this.#sql(old, "CHECKPOINT");
    const checkpointed = clock();
    await stopProcess(old.child, "SIGINT");
    delete old.child;
    const stopped = clock();
    const shutdownAt = await this.#checkpointLocation(old);
    await eventually(
      `plain standby ${next.id} received the old primary's shutdown checkpoint ${shutdownAt}`,
      async () => {
        const [row] = await this.#sql(
          next,
          "SELECT pg_wal_lsn_diff(pg_last_wal_receive_lsn(), $1::pg_lsn) > 0 AS has",
          [shutdownAt],
        );
        return row?.has === true ? true : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 5 },
    );
    const walReceived = clock();
    const promoteSent = clock();
    this.writeTarget = this.address(next.id);
    await this.#sql(next, "SELECT pg_promote(false)");
    const promoteAnswered = clock();
    this.#primary = next.id;
    const outOfRecovery = await this.#outOfRecovery(next);
    // Stopped cleanly after its standby had every byte: it follows the new timeline as it is.
    this.#followConf(old, next);
    writeFileSync(join(old.dir, "standby.signal"), "");
    this.#startServer(old);
    await this.streaming();
    const oldStreaming = clock();
    return {
      asked,
      checkpointed,
      stopped,
      walReceived,
      promoteSent,
      promoteAnswered,
      outOfRecovery,
      oldStreaming,
    };
  }

  /** Waits until the standby streams from the primary and has replayed its current WAL. */
  async streaming(timeoutMs = 60_000): Promise<void> {
    const p = this.#servers[this.#primary] as Server;
    const s = this.#servers[1 - this.#primary] as Server;
    await eventually(
      `plain standby ${s.id} streaming from ${p.id} and caught up (logs ${this.logOf(s.id)})`,
      async () => {
        const [sent] = await this.#sql(
          p,
          "SELECT pg_current_wal_lsn()::text AS lsn, (SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming')::int AS n",
        );
        if (sent?.n !== 1) return undefined;
        const [rep] = await this.#sql(
          s,
          "SELECT pg_is_in_recovery() AS r, pg_wal_lsn_diff(pg_last_wal_replay_lsn(), $1::pg_lsn) >= 0 AS caught",
          [sent.lsn],
        );
        return rep?.r === true && rep.caught === true ? true : undefined;
      },
      { timeoutMs, intervalMs: 100 },
    );
  }

  async stop(): Promise<void> {
    for (const s of this.#servers) await stopProcess(s.child, "SIGQUIT");
  }

  async #initPrimary(): Promise<void> {
    const s = this.#servers[0];
    const { uid, gid } = postgresIds();
    const pwfile = join(this.#root, "pwfile");
    writeFileSync(pwfile, `${this.#password}\n`, { mode: 0o600 });
    chownSync(pwfile, uid, gid);
    await mustRunAsPostgres(
      "initdb",
      [
        ...["-D", s.dir, "-U", "postgres", "-A", "scram-sha-256", `--pwfile=${pwfile}`],
        ...["--data-checksums", "--no-locale", "-E", "UTF8", "--no-sync"],
      ],
      { cwd: this.#root },
    );
    rmSync(pwfile);
    writeFileSync(
      join(s.dir, "postgresql.conf"),
      [
        "",
        "listen_addresses = '127.0.0.1'",
        `unix_socket_directories = '${this.#root}'`,
        // The e2e manifest's parameters, and the operator's defaults and owned settings.
        "shared_buffers = 16MB",
        "max_connections = 50",
        "max_wal_senders = 10",
        "max_replication_slots = 10",
        "wal_keep_size = 512MB",
        "wal_log_hints = on",
        "hot_standby = on",
        // A standby retries a lost upstream every 5 s by default; the switchover's old primary should not wait.
        "wal_retrieve_retry_interval = 500ms",
        "",
      ].join("\n"),
      { flag: "a" },
    );
    this.#startServer(s);
    await eventually(`plain server 0 answering (log ${this.logOf(0)})`, async () =>
      (await this.#sql(s, "SELECT 1 AS one").catch(() => []))[0]?.one === 1 ? true : undefined,
    );
  }

  /** Server `id` as a base backup of `from`, started as its standby. */
  async #copyStandby(id: number, from: number): Promise<void> {
    const s = this.#servers[id] as Server;
    const src = this.#servers[from] as Server;
    await stopProcess(s.child, "SIGQUIT");
    delete s.child;
    rmSync(s.dir, { recursive: true, force: true });
    await mustRunAsPostgres(
      "pg_basebackup",
      [
        ...["-h", "127.0.0.1", "-p", String(src.port), "-U", "postgres", "-D", s.dir],
        ...["-R", "-X", "stream", "-c", "fast"],
      ],
      { cwd: this.#root, env: { PGPASSWORD: this.#password } },
    );
    this.#startServer(s);
  }

  /** postgresql.auto.conf of `s` names `upstream` (pg_basebackup -R wrote the first one). */
  #followConf(s: Server, upstream: Server): void {
    const { uid, gid } = postgresIds();
    const file = join(s.dir, "postgresql.auto.conf");
    writeFileSync(
      file,
      `primary_conninfo = 'host=127.0.0.1 port=${upstream.port} user=postgres password=${this.#password}'\n`,
    );
    chownSync(file, uid, gid);
  }

  #startServer(s: Server): void {
    const log = openSync(this.logOf(s.id), "a");
    // The port on the command line: pg_basebackup copies postgresql.conf from the other server.
    s.child = asPostgres(
      "postgres",
      ["-D", s.dir, "-p", String(s.port), "-c", `cluster_name=plain-${s.id}`],
      { cwd: this.#root, stdio: log },
    );
    closeSync(log);
    // However the bench ends, no postmaster outlives it.
    const child = s.child;
    process.once("exit", () => child.kill("SIGQUIT"));
  }

  async #outOfRecovery(s: Server): Promise<number> {
    await eventually(
      `plain server ${s.id} out of recovery`,
      async () =>
        (await this.#sql(s, "SELECT pg_is_in_recovery() AS r"))[0]?.r === false ? true : undefined,
      { timeoutMs: 30_000, intervalMs: 5 },
    );
    return clock();
  }

  /** "Latest checkpoint location" of a stopped server, from pg_controldata. */
  async #checkpointLocation(s: Server): Promise<string> {
    const r = await runAsPostgres("pg_controldata", ["-D", s.dir], { cwd: this.#root });
    const found = /Latest checkpoint location:\s+(\S+)/.exec(r.stdout);
    if (!found?.[1]) throw new Error(`pg_controldata of ${s.dir}: ${r.output}`);
    return found[1];
  }

  async #sql(s: Server, text: string, params: unknown[] = []): Promise<Record<string, unknown>[]> {
    const c = new pg.Client({
      host: "127.0.0.1",
      port: s.port,
      user: "postgres",
      password: this.#password,
      database: "postgres",
      connectionTimeoutMillis: 2000,
      query_timeout: 10_000,
    });
    c.on("error", () => {});
    await c.connect();
    try {
      return (await c.query(text, params)).rows;
    } finally {
      await c.end().catch(() => {});
    }
  }
}

/** Resolves with the time a TCP connect to 127.0.0.1:`port` is first refused. */
async function refusalOf(port: number): Promise<number> {
  for (;;) {
    const refused = await new Promise<boolean>((resolve) => {
      const socket = tcpConnect({ host: "127.0.0.1", port });
      socket.once("connect", () => {
        socket.destroy();
        resolve(false);
      });
      socket.once("error", (err: NodeJS.ErrnoException) => {
        socket.destroy();
        resolve(err.code === "ECONNREFUSED");
      });
    });
    if (refused) return clock();
    await sleep(refusalPollMs);
  }
}

function exited(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once("exit", () => resolve()));
}
