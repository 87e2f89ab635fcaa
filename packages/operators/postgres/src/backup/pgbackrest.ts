/**
 * pgBackRest for a PostgresCluster, as pure functions: the configuration
 * files a pod needs, the argv of every command the controller runs, the
 * parse of `pgbackrest info --output=json`, the check of a point-in-time
 * target against what the repository holds, and the classification of a
 * failed command. Nothing here runs a process; the controller runs
 * pgBackRest inside the postgres container (archive_command on the
 * primary; `backup`, `info`, `expire` by exec in the primary's container;
 * `restore` from the start script of a new cluster's first instance).
 * docs/backup.md is the reference; pgbackrest.test.ts runs every argv
 * here against PostgreSQL 15, pgBackRest 2.45 and a real S3 server.
 *
 * ## Two files, and no credential on argv or in the environment
 *
 * `pgbackrestConf()` is everything but the S3 key and secret: it goes in
 * the cluster's ConfigMap (`pgbackrest.conf`, beside postgresql.conf).
 * `credentialsConf()` is the key and secret alone, a Secret the operator
 * renders from spec.backup.objectStore.credentialsSecret, mounted as a
 * directory that every command names with `--config-include-path`:
 * pgBackRest 2.45 reads every `*.conf` there (a Secret volume's `..data`
 * links included: the test mounts it that way). pgBackRest prints the
 * key and secret as `<redacted>` in its own logs, and every message this
 * module makes is redacted again (`redact()`).
 *
 * ## What pgBackRest 2.45 showed (pgbackrest.test.ts)
 *
 * - It matches the S3 endpoint against DNS names of the certificate
 *   only: an IP address endpoint fails with `[095] unable to find hostname
 *   '127.0.0.1' in certificate` even when the certificate has that IP as
 *   a subjectAltName. Endpoints are host names.
 * - Its automatic backup selection for `--type=time` refuses RFC 3339
 *   (`2026-12-02T21:11:06Z`: "[029] time format must be YYYY-MM-DD
 *   HH:MM:SS"): `restoreArgs()` rewrites the time (`pgbackrestTime()`).
 * - `backup` runs `expire` itself when it ends, with the configured
 *   retention.
 * - `info` exits 0 when the repository cannot be read: the failure is in
 *   the JSON (`repo[].status`, code 99), which `parseInfo()` keeps and
 *   `infoFailure()` classifies.
 * - Backup times are whole seconds (`timestamp.stop`), and the stop
 *   record may be up to a second after the printed second: the earliest
 *   time a backup restores to is its stop + 1 s.
 * - The system identifier is a 64-bit integer in the JSON, which
 *   `JSON.parse` would round: `parseInfo()` reads it as text.
 * - A restore writes `restore_command` and the `recovery_target_*`
 *   settings into postgresql.auto.conf, where they STAY after the
 *   promotion, and pg_basebackup copies that file into every standby.
 *   Every start that is not a restore must override them on the command
 *   line (`recoveryOverrides()`).
 */
import { paths } from "../paths.ts";

// ---------------------------------------------------------------------------
// Where things are in the pod.

/** pgBackRest's files in the postgres container. */
export const pgbackrestPaths = {
  /** `pgbackrestConf()`, a key of the cluster's ConfigMap (mounted at paths.config). */
  config: `${paths.config}/pgbackrest.conf`,
  /** The credentials Secret's mount: `credentialsConf()` under `credentialsKey`, and nothing else. */
  credentials: "/etc/postgres-operator/pgbackrest",
  /** spec.backup.objectStore.caSecret's `ca.crt`, when it is set. */
  ca: "/etc/postgres-operator/backup-ca/ca.crt",
  /** Logs and locks: on the memory volume (the start script makes both directories). */
  log: `${paths.run}/pgbackrest/log`,
  lock: `${paths.run}/pgbackrest/lock`,
} as const;

/** The key of the credentials Secret (pgBackRest reads files ending in `.conf`). */
export const credentialsKey = "s3.conf";

/** The program; /usr/bin/pgbackrest in Debian's package, on every container's PATH. */
export const pgbackrestProgram = "pgbackrest";

// ---------------------------------------------------------------------------
// The configuration files.

/** Where backups and WAL go, as pgBackRest's repo1 options need it. */
export interface ObjectStoreLocation {
  /** The endpoint's host name (not an IP address: see the module comment). */
  host: string;
  port: number;
  bucket: string;
  region: string;
  /** The prefix of this cluster's backups and WAL in the bucket: `/<namespace>/<cluster>` by default. */
  path: string;
  /** A CA file to check the endpoint's certificate against. @default the system's */
  caFile?: string;
  /**
   * Check the endpoint's certificate. Off only for a test store.
   * @default true
   */
  verifyTls?: boolean;
}

/** Which full backups are kept: the newest N, or those younger than N days (spec.backup.retention). */
export type Retention = { type: "count"; full: number } | { type: "time"; days: number };

/** A value that would break the file it goes in: an error naming the field, never the value of a secret. */
export class PgbackrestConfigError extends Error {
  override readonly name = "PgbackrestConfigError";
}

export interface PgbackrestConfOptions {
  /** The stanza: this cluster's name in the repository (`stanzaOf()`). */
  stanza: string;
  objectStore: ObjectStoreLocation;
  retention: Retention;
  /** The server pgBackRest backs up, as seen from inside its own pod. */
  pg: {
    /** PGDATA. */
    path: string;
    port: number;
    /** The directory of the server's Unix socket. */
    socketPath: string;
    /** @default "postgres" (pgBackRest's default; peer authentication in the pod) */
    user?: string;
  };
  /**
   * Processes for backup and restore (compression is most of the work).
   * @default 1
   */
  processMax?: 1 | 2;
  /**
   * zst is in Debian's pgBackRest 2.45 and compresses about as fast as
   * lz4 and smaller than gz.
   * @default "zst"
   */
  compressType?: "zst" | "lz4" | "gz" | "bz2" | "none";
  /**
   * Small files bundled into one object (`repo1-bundle`): a PostgreSQL
   * data directory is ~1000 files, most tiny, and each is a request
   * otherwise. Measured here against versitygw: a 22 MB full backup took
   * 9.6–10.9 s unbundled and 2.6–2.8 s bundled; its restore 7.4 s and
   * 0.9–2.1 s.
   * @default true
   */
  bundle?: boolean;
  /**
   * Off by default: the log path is on the pod's memory volume (16 MiB),
   * which a repeating failure would fill; console output reaches the
   * caller of an exec and the server log (archive_command).
   * @default "off"
   */
  fileLogLevel?: "off" | "error" | "warn" | "info";
  /** pgBackRest's I/O timeout, which bounds its S3 retries. @default pgBackRest's 60 s */
  ioTimeoutSeconds?: number;
  /** How long `backup` and `check` wait for WAL to reach the repository. @default pgBackRest's 60 s */
  archiveTimeoutSeconds?: number;
  /** @default pgbackrestPaths.log */
  logPath?: string;
  /** @default pgbackrestPaths.lock */
  lockPath?: string;
}

const stanzaPattern = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/** A value for a pgbackrest.conf line: one line, no leading or trailing space (pgBackRest trims). */
function confValue(field: string, value: string | number): string {
  const text = String(value);
  if (text === "" || /[\r\n]/.test(text) || text.trim() !== text) {
    throw new PgbackrestConfigError(
      `${field} must be one line without leading or trailing spaces to go in pgbackrest.conf`,
    );
  }
  return text;
}

function checkStanza(stanza: string): void {
  if (!stanzaPattern.test(stanza)) {
    throw new PgbackrestConfigError(
      `stanza ${JSON.stringify(stanza)} must be letters, digits, '_', '.' or '-', starting with a letter or digit`,
    );
  }
}

/**
 * pgbackrest.conf for the cluster's pods: the repository (S3, path-style,
 * `repo1-path` per cluster), retention, compression, and the local
 * server under the stanza's section. Without the S3 key and secret
 * (`credentialsConf()`).
 */
export function pgbackrestConf(options: PgbackrestConfOptions): string {
  const { stanza, objectStore: store, retention, pg } = options;
  checkStanza(stanza);
  if (!Number.isInteger(store.port) || store.port < 1 || store.port > 65535) {
    throw new PgbackrestConfigError(`the object store's port ${store.port} is not a TCP port`);
  }
  if (!store.path.startsWith("/")) {
    throw new PgbackrestConfigError(
      `the repository path ${JSON.stringify(store.path)} must start with /`,
    );
  }
  const full = retention.type === "count" ? retention.full : retention.days;
  if (!Number.isInteger(full) || full < 1 || full > 9999999) {
    throw new PgbackrestConfigError(`the full-backup retention ${full} must be a whole number ≥ 1`);
  }
  const global: [string, string | number][] = [
    ["repo1-type", "s3"],
    ["repo1-s3-endpoint", store.host],
    ["repo1-storage-port", store.port],
    ["repo1-s3-bucket", store.bucket],
    ["repo1-s3-region", store.region],
    // The certificate names the endpoint, not <bucket>.<endpoint>.
    ["repo1-s3-uri-style", "path"],
    ["repo1-path", store.path],
    ["repo1-storage-verify-tls", store.verifyTls === false ? "n" : "y"],
    ...(store.caFile ? [["repo1-storage-ca-file", store.caFile] as [string, string]] : []),
    ["repo1-retention-full-type", retention.type],
    ["repo1-retention-full", full],
    ["repo1-bundle", options.bundle === false ? "n" : "y"],
    ["compress-type", options.compressType ?? "zst"],
    ["process-max", options.processMax ?? 1],
    // One WAL segment per archive_command call, acknowledged only once it is in the bucket.
    ["archive-async", "n"],
    // An immediate checkpoint when a backup starts, not a spread one.
    ["start-fast", "y"],
    ["log-level-console", "info"],
    ["log-level-file", options.fileLogLevel ?? "off"],
    ["log-path", options.logPath ?? pgbackrestPaths.log],
    ["lock-path", options.lockPath ?? pgbackrestPaths.lock],
    ...(options.ioTimeoutSeconds !== undefined
      ? [["io-timeout", options.ioTimeoutSeconds] as [string, number]]
      : []),
    ...(options.archiveTimeoutSeconds !== undefined
      ? [["archive-timeout", options.archiveTimeoutSeconds] as [string, number]]
      : []),
  ];
  const local: [string, string | number][] = [
    ["pg1-path", pg.path],
    ["pg1-port", pg.port],
    ["pg1-socket-path", pg.socketPath],
    ...(pg.user ? [["pg1-user", pg.user] as [string, string]] : []),
  ];
  const lines = (entries: [string, string | number][]) =>
    entries.map(([k, v]) => `${k}=${confValue(k, v)}`);
  return [
    "# Written by the Ballast operator from spec.backup. The S3 key and secret are",
    `# not here: they are in ${credentialsKey} under --config-include-path.`,
    "[global]",
    ...lines(global),
    "",
    `[${stanza}]`,
    ...lines(local),
    "",
  ].join("\n");
}

/** The S3 credentials, as the Secret's `s3.conf`: the only file that holds them. */
export function credentialsConf(credentials: {
  accessKeyId: string;
  secretAccessKey: string;
}): string {
  return [
    "[global]",
    `repo1-s3-key=${confValue("the access key id (ACCESS_KEY_ID)", credentials.accessKeyId)}`,
    `repo1-s3-key-secret=${confValue("the secret access key (SECRET_ACCESS_KEY)", credentials.secretAccessKey)}`,
    "",
  ].join("\n");
}

/** spec.backup.retention as pgBackRest's retention of full backups: by age (`30d`, `4w`) or by count (`3 full`). */
export function retentionOf(text: string): Retention {
  const match = /^([1-9][0-9]{0,3})([dw]| full)$/.exec(text);
  if (!match) {
    throw new PgbackrestConfigError(
      `spec.backup.retention ${JSON.stringify(text)} must be days or weeks (30d, 4w) or a number of full backups (3 full)`,
    );
  }
  const n = Number(match[1]);
  if (match[2] === " full") return { type: "count", full: n };
  return { type: "time", days: match[2] === "w" ? n * 7 : n };
}

/** What `objectStoreOf()` reads: spec.backup's shape (schema.ts), plus the cluster's name. */
export interface BackupSpecView {
  metadata: { name?: string | undefined; namespace?: string | undefined };
  spec: {
    backup?: {
      objectStore: { endpoint: string; bucket: string; path?: string; caSecret?: string };
    };
  };
}

/** The stanza of a cluster: its name (unique in its repository path). */
export function stanzaOf(r: { metadata: { name?: string | undefined } }): string {
  if (!r.metadata.name) throw new PgbackrestConfigError("the cluster has no metadata.name");
  return r.metadata.name;
}

/** spec.backup.objectStore.path, or `/<namespace>/<name>`. */
export function repoPathOf(r: BackupSpecView): string {
  return r.spec.backup?.objectStore.path ?? `/${r.metadata.namespace ?? "default"}/${stanzaOf(r)}`;
}

/**
 * spec.backup.objectStore as pgBackRest's repository. The schema has no
 * region (pgBackRest requires one; S3-compatible servers mostly ignore
 * it), so it is an option here. Throws a PgbackrestConfigError naming
 * the field when the endpoint cannot be used.
 */
export function objectStoreOf(
  r: BackupSpecView,
  options: { region?: string } = {},
): ObjectStoreLocation {
  const store = r.spec.backup?.objectStore;
  if (!store) throw new PgbackrestConfigError("the cluster has no spec.backup");
  let url: URL;
  try {
    url = new URL(store.endpoint);
  } catch {
    throw new PgbackrestConfigError(
      `spec.backup.objectStore.endpoint ${JSON.stringify(store.endpoint)} is not a URL`,
    );
  }
  if (url.protocol !== "https:") {
    throw new PgbackrestConfigError(
      `spec.backup.objectStore.endpoint ${store.endpoint} must be https:// (pgBackRest speaks only TLS)`,
    );
  }
  if ((url.pathname !== "/" && url.pathname !== "") || url.search || url.username) {
    throw new PgbackrestConfigError(
      `spec.backup.objectStore.endpoint ${store.endpoint} must be https://host[:port] alone: pgBackRest has no endpoint path; put a prefix in spec.backup.objectStore.path`,
    );
  }
  const host = url.hostname;
  if (/^[0-9.]+$/.test(host) || host.startsWith("[")) {
    throw new PgbackrestConfigError(
      `spec.backup.objectStore.endpoint ${store.endpoint} names an IP address: pgBackRest 2.45 checks the certificate against DNS names only; use a host name`,
    );
  }
  const location: ObjectStoreLocation = {
    host,
    port: url.port ? Number(url.port) : 443,
    bucket: store.bucket,
    region: options.region ?? "us-east-1",
    path: repoPathOf(r),
    verifyTls: true,
    ...(store.caSecret ? { caFile: pgbackrestPaths.ca } : {}),
  };
  return location;
}

// ---------------------------------------------------------------------------
// Commands.

/** Which configuration a command reads, and which stanza it acts on. */
export interface Invocation {
  stanza: string;
  /** @default pgbackrestPaths.config */
  config?: string;
  /** @default pgbackrestPaths.credentials */
  includePath?: string;
  /**
   * Options put before the command (e.g. `--log-level-console=warn`,
   * `--io-timeout=5`). Never a credential.
   */
  extra?: readonly string[];
}

/**
 * `pgbackrest --config … --config-include-path … --stanza … <options>`:
 * the invocation's extra options, then the command's own, which replace
 * an extra option of the same name (pgBackRest refuses an option twice).
 */
function base(inv: Invocation, own: readonly string[] = []): string[] {
  checkStanza(inv.stanza);
  const nameOf = (option: string) => option.split("=")[0] as string;
  for (const option of [...(inv.extra ?? []), ...own]) {
    if (/^--repo\d*-s3-(key|token)/.test(option)) {
      throw new PgbackrestConfigError(
        `${nameOf(option)} must not be on a command line: it belongs in ${credentialsKey}`,
      );
    }
  }
  const ownNames = new Set(own.map(nameOf));
  return [
    pgbackrestProgram,
    `--config=${inv.config ?? pgbackrestPaths.config}`,
    `--config-include-path=${inv.includePath ?? pgbackrestPaths.credentials}`,
    `--stanza=${inv.stanza}`,
    ...(inv.extra ?? []).filter((option) => !ownNames.has(nameOf(option))),
    ...own,
  ];
}

/** `stanza-create`: once, on the primary, before the first WAL is archived (idempotent). */
export function stanzaCreateArgs(inv: Invocation): string[] {
  return [...base(inv), "stanza-create"];
}

/** `check`: the repository is writable and a WAL switch reaches it within the archive timeout. */
export function checkArgs(inv: Invocation): string[] {
  return [...base(inv), "check"];
}

export type BackupType = "full" | "diff" | "incr";

/** `backup --type=…`, on the primary. It expires old backups itself when it ends. */
export function backupArgs(inv: Invocation, type: BackupType): string[] {
  return [...base(inv, [`--type=${type}`]), "backup"];
}

/** `info --output=json` (`parseInfo()` reads it). The console log is off: stdout is the JSON. */
export function infoArgs(inv: Invocation): string[] {
  return [...base(inv, ["--log-level-console=off", "--output=json"]), "info"];
}

/**
 * `expire`: removes the full backups beyond the retention (and their
 * diff and incr backups, and the WAL only they needed). `retentionFull`
 * overrides the configured count for this run.
 */
export function expireArgs(inv: Invocation, options: { retentionFull?: number } = {}): string[] {
  const own =
    options.retentionFull !== undefined ? [`--repo1-retention-full=${options.retentionFull}`] : [];
  return [...base(inv, own), "expire"];
}

/** spec.bootstrap.recovery.target: exactly one of time (RFC 3339), lsn (X/Y) or xid. */
export type PitrTarget = { time: string } | { lsn: string } | { xid: number };

/** Another cluster's repository, to restore from: its stanza and path in the same bucket. */
export interface RestoreSource {
  stanza: string;
  repoPath: string;
}

/**
 * The archive_command of the primary: one segment per call, `%p` relative
 * to PGDATA. A string for postgresql.conf or `-c archive_command=…`.
 */
export function archiveCommand(inv: Invocation): string {
  return [...base(inv), "archive-push", "%p"].map(shellWord).join(" ");
}

/**
 * The restore_command of a server recovering from the repository: the
 * source's stanza and path when it restores another cluster's backup.
 * `pgPath` is the data directory the server will run from (the restore
 * may write elsewhere first, then be renamed).
 */
export function restoreCommand(
  inv: Invocation,
  options: { pgPath: string; source?: RestoreSource },
): string {
  const source = options.source;
  return [
    ...base(source ? { ...inv, stanza: source.stanza } : inv, [
      `--pg1-path=${options.pgPath}`,
      ...(source ? [`--repo1-path=${source.repoPath}`] : []),
    ]),
    "archive-get",
    "%f",
  ]
    .map(shellWord)
    .concat('"%p"')
    .join(" ");
}

export interface RestoreOptions {
  /** Where the restore writes: an empty (or absent) directory, renamed to PGDATA after. */
  into: string;
  /** PGDATA once the restore is renamed into place (its restore_command names it). */
  pgPath: string;
  /** Where the backup is: another cluster's repository. @default this invocation's */
  source?: RestoreSource;
  /** Replay up to here, then promote. @default all the archived WAL */
  target?: PitrTarget;
  /** The backup to restore (`chooseBackup()`). @default pgBackRest's choice: for a time, the newest that ended before it */
  set?: string;
}

/**
 * `restore`: the backup into `into`, postgresql.auto.conf with our
 * restore_command and the target, and recovery.signal. With a target the
 * server promotes when it reaches it; without one it replays every
 * archived segment and promotes at the end.
 */
export function restoreArgs(inv: Invocation, options: RestoreOptions): string[] {
  const source = options.source;
  const command = restoreCommand(inv, {
    pgPath: options.pgPath,
    ...(source ? { source } : {}),
  });
  return [
    ...base(source ? { ...inv, stanza: source.stanza } : inv, [
      `--pg1-path=${options.into}`,
      ...(source ? [`--repo1-path=${source.repoPath}`] : []),
      ...(options.set ? [`--set=${options.set}`] : []),
      ...targetArgs(options.target),
      `--recovery-option=restore_command=${command}`,
    ]),
    "restore",
  ];
}

function targetArgs(target: PitrTarget | undefined): string[] {
  if (!target) return ["--type=default"];
  const action = "--target-action=promote";
  if ("time" in target) return ["--type=time", `--target=${pgbackrestTime(target.time)}`, action];
  if ("lsn" in target) return ["--type=lsn", `--target=${target.lsn}`, action];
  return ["--type=xid", `--target=${target.xid}`, action];
}

/**
 * `-c` options for every start that is not the restore itself: they
 * outrank what a restore left in postgresql.auto.conf (which
 * pg_basebackup copies into each standby, where a recovery target would
 * stop replay and promote). `restore` is the restore_command a standby
 * may fetch WAL with; none by default.
 */
export function recoveryOverrides(restore = ""): string[] {
  return [
    "recovery_target",
    "recovery_target_time",
    "recovery_target_lsn",
    "recovery_target_xid",
    "recovery_target_name",
  ]
    .flatMap((name) => ["-c", `${name}=`])
    .concat(["-c", `restore_command=${restore}`]);
}

/** One word for sh: as it is when it is safe, else single-quoted. */
function shellWord(word: string): string {
  return /^[A-Za-z0-9_%+=:,./@-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

/** An argv as one sh command line (each word `shellWord`): what a start script can `eval`. */
export function shellCommand(argv: readonly string[]): string {
  return argv.map(shellWord).join(" ");
}

const rfc3339 =
  /^(\d{4}-\d{2}-\d{2})[Tt ](\d{2}:\d{2}:\d{2})(\.\d{1,9})?(Z|z|[+-]\d{2}:\d{2}|[+-]\d{4}|[+-]\d{2})$/;

/**
 * An RFC 3339 time as pgBackRest 2.45's `--target` takes it
 * (`YYYY-MM-DD HH:MM:SS[.frac]±TZ`): every digit kept, `Z` as `+00`.
 * PostgreSQL reads the same text as recovery_target_time.
 */
export function pgbackrestTime(text: string): string {
  const match = rfc3339.exec(text);
  if (!match || Number.isNaN(Date.parse(text.replace(" ", "T")))) {
    throw new PgbackrestConfigError(
      `${JSON.stringify(text)} is not an RFC 3339 time, e.g. 2026-12-02T14:00:00Z`,
    );
  }
  const zone = match[4] === "Z" || match[4] === "z" ? "+00" : (match[4] as string);
  return `${match[1]} ${match[2]}${match[3] ?? ""}${zone}`;
}

// ---------------------------------------------------------------------------
// `info --output=json`.

/** One backup in the repository. */
export interface BackupRecord {
  /** `20261202-210911F`, `20261202-210911F_20261202-211500D`. */
  label: string;
  type: BackupType;
  /** The backup a diff or incr is based on. */
  prior?: string;
  /** WAL position when the backup started (its redo point) and where it is consistent. */
  startLsn: string;
  stopLsn: string;
  /** RFC 3339, whole seconds (pgBackRest keeps no more). */
  startedAt: string;
  stoppedAt: string;
  /** The database's size, and what this backup copied of it (all of it for a full). */
  databaseBytes: number;
  deltaBytes: number;
  /** What the backup set takes in the repository (compressed), and what this backup added. */
  repoBytes: number;
  repoDeltaBytes: number;
  /** The WAL segments from the start to the stop of the backup: what it needs to be consistent. */
  walStart: string;
  walStop: string;
  /** pgBackRest found page checksum errors while copying. */
  error: boolean;
}

export type StanzaState =
  | "ok"
  | "missing-stanza-path"
  | "no-backups"
  | "missing-stanza-data"
  | "mismatch"
  | "backup-not-found"
  | "error";

const stanzaStates: Record<number, StanzaState> = {
  0: "ok",
  1: "missing-stanza-path",
  2: "no-backups",
  3: "missing-stanza-data",
  4: "mismatch",
  5: "mismatch",
  6: "backup-not-found",
};

/** What `info` says of one stanza. */
export interface StanzaInfo {
  stanza: string;
  status: { code: number; state: StanzaState; message: string };
  /** A backup or expire holds the stanza's lock now. */
  backupRunning: boolean;
  /** Each repository's own status: code 99 and the error when it could not be read. */
  repos: { key: number; code: number; message: string }[];
  /** The server's system identifier, as text (64 bits). */
  systemId?: string;
  pgVersion?: string;
  /** Oldest first. */
  backups: BackupRecord[];
  /** The oldest and newest archived WAL segment of the current database; undefined when none. */
  archive?: { min: string; max: string };
}

/** `info`'s output was not what pgBackRest 2.45 prints. */
export class PgbackrestInfoError extends Error {
  override readonly name = "PgbackrestInfoError";
}

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json =>
  typeof v === "object" && v !== null && !Array.isArray(v);

function field<T>(obj: Json, path: string, check: (v: unknown) => v is T): T {
  let v: unknown = obj;
  for (const key of path.split(".")) v = isObject(v) ? v[key] : undefined;
  if (!check(v)) throw new PgbackrestInfoError(`info JSON: ${path} is ${JSON.stringify(v)}`);
  return v;
}
const isString = (v: unknown): v is string => typeof v === "string";
const isNumber = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);
const isArray = (v: unknown): v is unknown[] => Array.isArray(v);

const iso = (seconds: number) => new Date(seconds * 1000).toISOString().replace(".000Z", "Z");

function backupOf(b: Json): BackupRecord {
  const type = field(b, "type", isString);
  if (type !== "full" && type !== "diff" && type !== "incr") {
    throw new PgbackrestInfoError(`info JSON: backup type ${JSON.stringify(type)}`);
  }
  const prior = b.prior;
  return {
    label: field(b, "label", isString),
    type,
    ...(isString(prior) ? { prior } : {}),
    startLsn: field(b, "lsn.start", isString),
    stopLsn: field(b, "lsn.stop", isString),
    startedAt: iso(field(b, "timestamp.start", isNumber)),
    stoppedAt: iso(field(b, "timestamp.stop", isNumber)),
    databaseBytes: field(b, "info.size", isNumber),
    deltaBytes: field(b, "info.delta", isNumber),
    repoBytes: field(b, "info.repository.size", isNumber),
    repoDeltaBytes: field(b, "info.repository.delta", isNumber),
    walStart: field(b, "archive.start", isString),
    walStop: field(b, "archive.stop", isString),
    error: b.error === true,
  };
}

/**
 * `pgbackrest info --output=json` of `stanza` (the only one, when
 * undefined). Throws a PgbackrestInfoError when the text is not that
 * JSON; a repository that could not be read is not an error here: it is
 * in `repos` and `status` (see `infoFailure()`).
 */
export function parseInfo(json: string, stanza?: string): StanzaInfo {
  let all: unknown;
  try {
    // 64-bit integers as text before JSON.parse rounds them.
    all = JSON.parse(json.replace(/("system-id"\s*:\s*)(\d+)/g, '$1"$2"'));
  } catch (error) {
    throw new PgbackrestInfoError(`info output is not JSON: ${(error as Error).message}`);
  }
  if (!isArray(all)) throw new PgbackrestInfoError("info JSON is not an array of stanzas");
  const s = all.find((x) => isObject(x) && (stanza === undefined || x.name === stanza));
  if (!isObject(s)) {
    throw new PgbackrestInfoError(
      `info JSON has no stanza ${JSON.stringify(stanza)} (it has ${all.map((x) => (isObject(x) ? x.name : "?")).join(", ")})`,
    );
  }
  const code = field(s, "status.code", isNumber);
  const dbs = (isArray(s.db) ? s.db : []).filter(isObject);
  const current = dbs.reduce<Json | undefined>(
    (best, db) => (!best || Number(db.id) > Number(best.id) ? db : best),
    undefined,
  );
  const archive = (isArray(s.archive) ? s.archive : [])
    .filter(isObject)
    .find((a) => !current || (isObject(a.database) && a.database.id === current.id));
  const backups = field(s, "backup", isArray).filter(isObject).map(backupOf);
  return {
    stanza: field(s, "name", isString),
    status: {
      code,
      state: stanzaStates[code] ?? "error",
      message: field(s, "status.message", isString),
    },
    backupRunning: isObject(s.status) && isObject(s.status.lock) ? lockHeld(s.status.lock) : false,
    repos: (isArray(s.repo) ? s.repo : []).filter(isObject).map((r) => ({
      key: field(r, "key", isNumber),
      code: field(r, "status.code", isNumber),
      message: field(r, "status.message", isString),
    })),
    ...(current && isString(current["system-id"]) ? { systemId: current["system-id"] } : {}),
    ...(current && isString(current.version) ? { pgVersion: current.version } : {}),
    backups,
    ...(archive && isString(archive.min) && isString(archive.max)
      ? { archive: { min: archive.min, max: archive.max } }
      : {}),
  };
}

function lockHeld(lock: Json): boolean {
  return isObject(lock.backup) && lock.backup.held === true;
}

// ---------------------------------------------------------------------------
// Point-in-time targets.

/** A WAL segment name: timeline, then the position's high 32 bits, then the segment number. */
const segmentPattern = /^([0-9A-F]{8})([0-9A-F]{8})([0-9A-F]{8})$/;

/** The default (and Debian's) WAL segment size. */
export const defaultWalSegmentBytes = 16 * 1024 * 1024;

/** The first position after segment `name` (its end), or undefined when it is not a segment name. */
export function segmentEnd(
  name: string,
  segmentBytes = defaultWalSegmentBytes,
): bigint | undefined {
  const match = segmentPattern.exec(name);
  if (!match) return undefined;
  const perXlogId = 0x1_0000_0000n / BigInt(segmentBytes);
  const segNo = BigInt(`0x${match[2]}`) * perXlogId + BigInt(`0x${match[3]}`);
  return (segNo + 1n) * BigInt(segmentBytes);
}

function lsnOf(text: string): bigint | undefined {
  const match = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/.exec(text);
  return match ? (BigInt(`0x${match[1]}`) << 32n) | BigInt(`0x${match[2]}`) : undefined;
}

function formatLsnText(lsn: bigint): string {
  return `${(lsn >> 32n).toString(16).toUpperCase()}/${(lsn & 0xffff_ffffn).toString(16).toUpperCase()}`;
}

/** What the source's primary says it archived: pg_stat_archiver's last_archived_time / _wal. */
export interface ArchivedUntil {
  /** RFC 3339: WAL is in the repository up to (at least) this time. */
  time?: string;
  /** A position up to which WAL is archived (e.g. the end of the last archived segment). */
  lsn?: string;
}

export interface PitrCheckOptions {
  /** The backup the restore will use (a Backup's label); else any backup that ended before the target. */
  backupLabel?: string;
  /** The newest archived WAL, if known. @default for a time: `now`; for an LSN: the end of `info.archive.max` */
  archivedUntil?: ArchivedUntil;
  /** @default the clock's now */
  now?: Date;
  /** @default 16 MiB */
  walSegmentBytes?: number;
}

/** The earliest moment a backup restores to: its stop, plus the second pgBackRest rounded off. */
export function restorableFrom(b: BackupRecord): Date {
  return new Date(Date.parse(b.stoppedAt) + 1000);
}

/** Backups whose WAL is still in the archive (expire may have removed what the oldest needed). */
function withWal(info: StanzaInfo): BackupRecord[] {
  const min = info.archive?.min;
  return info.backups.filter((b) => min === undefined || b.walStart.slice(8) >= min.slice(8));
}

/**
 * The newest backup a restore to `target` can start from: the newest
 * whose end is at or before the target, whose WAL is still archived.
 * Undefined when none is (and always for an xid: pgBackRest's info has no
 * transaction ids, so the caller names the backup or pgBackRest takes the newest).
 */
export function chooseBackup(info: StanzaInfo, target: PitrTarget): BackupRecord | undefined {
  const candidates = withWal(info);
  if ("time" in target) {
    const t = Date.parse(target.time);
    return candidates.filter((b) => restorableFrom(b).getTime() <= t).at(-1);
  }
  if ("lsn" in target) {
    const t = lsnOf(target.lsn);
    if (t === undefined) return undefined;
    return candidates.filter((b) => (lsnOf(b.stopLsn) ?? 0n) <= t).at(-1);
  }
  return undefined;
}

const targetField = "spec.bootstrap.recovery.target";

/**
 * Why a restore to `target` would fail, as a sentence naming the field
 * and the fix; undefined when the repository can restore to it. The
 * window is from the end of the first usable backup (or of
 * `backupLabel`) to the last archived WAL: before it PostgreSQL refuses
 * ("requested recovery stop point is before consistent recovery point"),
 * after it it ends recovery with FATAL "recovery ended before configured
 * recovery target was reached". An xid is only checked against the
 * backups' presence (info has no transaction ids).
 */
export function pitrTargetProblem(
  info: StanzaInfo,
  target: PitrTarget,
  options: PitrCheckOptions = {},
): string | undefined {
  if (info.backups.length === 0) {
    return `${targetField} cannot be reached: stanza ${info.stanza} holds no backup to restore: take a backup of the source cluster first`;
  }
  let candidates = withWal(info);
  if (options.backupLabel !== undefined) {
    const chosen = info.backups.find((b) => b.label === options.backupLabel);
    if (!chosen) {
      return `spec.bootstrap.recovery.backup names backup ${options.backupLabel}, which stanza ${info.stanza} does not hold (it holds ${info.backups.map((b) => b.label).join(", ")}): name one of those`;
    }
    if (!candidates.includes(chosen)) {
      return `backup ${chosen.label} (spec.bootstrap.recovery.backup) needs WAL from ${chosen.walStart}, which the archive no longer holds (it starts at ${info.archive?.min}): name a newer backup`;
    }
    candidates = [chosen];
  }
  const first = candidates[0];
  if (!first) {
    return `no backup of stanza ${info.stanza} has its WAL in the archive (it starts at ${info.archive?.min}): take a new full backup`;
  }
  const which =
    options.backupLabel !== undefined
      ? `backup ${first.label}`
      : `the first backup (${first.label})`;
  if ("time" in target) return timeProblem(info, target.time, first, which, options);
  if ("lsn" in target) return lsnProblem(info, target.lsn, first, which, options);
  return undefined;
}

function timeProblem(
  info: StanzaInfo,
  text: string,
  first: BackupRecord,
  which: string,
  options: PitrCheckOptions,
): string | undefined {
  const t = Date.parse(text);
  if (!rfc3339.test(text) || Number.isNaN(t)) {
    return `${targetField}.time ${JSON.stringify(text)} is not an RFC 3339 time, e.g. 2026-12-02T14:00:00Z`;
  }
  const earliest = restorableFrom(first);
  if (t < earliest.getTime()) {
    return `${targetField}.time ${text} is before the end of ${which}, ${first.stoppedAt}; the earliest restorable time is ${earliest.toISOString()}: set a later time${options.backupLabel !== undefined ? " or name an earlier backup" : ""}`;
  }
  const until = options.archivedUntil?.time;
  const latest = until !== undefined ? Date.parse(until) : (options.now ?? new Date()).getTime();
  if (t > latest) {
    const what =
      until !== undefined
        ? `the last archived WAL (${info.archive?.max ?? "none"}, archived at ${new Date(latest).toISOString()})`
        : `now (${new Date(latest).toISOString()}), so after the last archived WAL (${info.archive?.max ?? "none"})`;
    return `${targetField}.time ${text} is after ${what}; the latest restorable time is ${new Date(latest).toISOString()}: set an earlier time, or remove ${targetField} to replay all archived WAL`;
  }
  return undefined;
}

function lsnProblem(
  info: StanzaInfo,
  text: string,
  first: BackupRecord,
  which: string,
  options: PitrCheckOptions,
): string | undefined {
  const t = lsnOf(text);
  if (t === undefined)
    return `${targetField}.lsn ${JSON.stringify(text)} is not an LSN (X/Y, e.g. 0/3000060)`;
  const earliest = lsnOf(first.stopLsn) ?? 0n;
  if (t < earliest) {
    return `${targetField}.lsn ${text} is before the end of ${which}, ${first.stopLsn}; the earliest restorable LSN is ${first.stopLsn}: set a later LSN${options.backupLabel !== undefined ? " or name an earlier backup" : ""}`;
  }
  const max = info.archive?.max;
  const fromArchive = max !== undefined ? segmentEnd(max, options.walSegmentBytes) : undefined;
  const given =
    options.archivedUntil?.lsn !== undefined ? lsnOf(options.archivedUntil.lsn) : undefined;
  const latest = given ?? fromArchive ?? lsnOf(info.backups.at(-1)?.stopLsn ?? "") ?? earliest;
  if (t > latest) {
    return `${targetField}.lsn ${text} is after the last archived WAL (${max ?? "none"}, which ends at ${formatLsnText(latest)}); the latest restorable LSN is ${formatLsnText(latest)}: set an earlier LSN, or remove ${targetField} to replay all archived WAL`;
  }
  return undefined;
}

// ---------------------------------------------------------------------------
// Failures.

/** Why a pgBackRest command failed, for status and for what the operator does next. */
export type PgbackrestFailureReason =
  /** The object store refused the key or secret (403: SignatureDoesNotMatch, InvalidAccessKeyId, AccessDenied). */
  | "credentials"
  /** No answer from the object store (refused, unresolvable, timed out, 5xx). */
  | "unreachable"
  /** Its certificate was not trusted, or does not name the endpoint. */
  | "tls"
  /** The bucket does not exist. */
  | "bucket-missing"
  /** The repository has no stanza yet (run stanza-create) or lost its info files. */
  | "stanza-missing"
  /** WAL did not reach the repository (archive_command failing, archive_mode off). */
  | "archive"
  /** Another backup or expire holds the stanza's lock. */
  | "busy"
  | "other";

export interface PgbackrestFailure {
  reason: PgbackrestFailureReason;
  /** The process's exit code (pgBackRest exits with its error code). */
  exitCode: number | null;
  /** pgBackRest's error, e.g. 39 ProtocolError, when it printed one. */
  errorCode?: number;
  errorName?: string;
  /** One paragraph: what failed and the fix; secrets redacted, the S3 error condensed. */
  message: string;
}

/** pgBackRest 2.45's error codes (src/build/error/error.yaml), the ones a command here meets. */
export const pgbackrestErrors: Readonly<Record<number, string>> = {
  25: "AssertError",
  27: "ConfigError",
  28: "FileInvalidError",
  29: "FormatError",
  31: "OptionInvalidError",
  32: "OptionInvalidValueError",
  37: "OptionRequiredError",
  38: "PgRunningError",
  39: "ProtocolError",
  40: "PathNotEmptyError",
  41: "FileOpenError",
  42: "FileReadError",
  44: "ArchiveMismatchError",
  45: "ArchiveDuplicateError",
  46: "VersionNotSupportedError",
  47: "PathCreateError",
  49: "HostConnectError",
  50: "LockAcquireError",
  51: "BackupMismatchError",
  55: "FileMissingError",
  56: "DbConnectError",
  57: "DbQueryError",
  58: "DbMismatchError",
  62: "StopError",
  63: "TermError",
  64: "FileWriteError",
  68: "ArchiveCommandInvalidError",
  72: "HostInvalidError",
  73: "PathMissingError",
  75: "BackupSetInvalidError",
  82: "ArchiveTimeoutError",
  87: "ArchiveDisabledError",
  95: "CryptoError",
  99: "JsonFormatError",
  101: "ServiceError",
  103: "RepoInvalidError",
  104: "CommandError",
  125: "UnknownError",
};

const hints: Record<PgbackrestFailureReason, string> = {
  credentials:
    "check the access key and secret in the Secret named by spec.backup.objectStore.credentialsSecret (ACCESS_KEY_ID, SECRET_ACCESS_KEY) and that the key may use the bucket",
  unreachable:
    "check spec.backup.objectStore.endpoint and that the object store answers from the cluster's pods",
  tls: "check that spec.backup.objectStore.caSecret holds the CA of the endpoint's certificate and that the certificate names the endpoint's host",
  "bucket-missing": "create the bucket named by spec.backup.objectStore.bucket",
  "stanza-missing": "run stanza-create on the primary (the operator does, before the first backup)",
  archive:
    "check that WAL reaches the repository: pg_stat_archiver on the primary (failed_count, last_failed_wal) and the archive_command errors in the server log",
  busy: "another backup or expire of this stanza is running: try again when it ends",
  other: "see the message",
};

/** Every secret replaced by `<redacted>`, and the credential lines pgBackRest might echo. */
export function redact(text: string, secrets: readonly string[] = []): string {
  let out = text;
  for (const secret of secrets) if (secret.length >= 4) out = out.replaceAll(secret, "<redacted>");
  return out
    .replace(/(repo\d*-s3-key(?:-secret)?\s*=\s*)\S+/gi, "$1<redacted>")
    .replace(
      /<AWSAccessKeyId>[^<]*<\/AWSAccessKeyId>/g,
      "<AWSAccessKeyId><redacted></AWSAccessKeyId>",
    );
}

function reasonOf(code: number | undefined, text: string): PgbackrestFailureReason {
  if (/SignatureDoesNotMatch|InvalidAccessKeyId|AccessDenied|InvalidToken|ExpiredToken/.test(text))
    return "credentials";
  if (/\b403 \(Forbidden\)/.test(text)) return "credentials";
  if (/NoSuchBucket/.test(text)) return "bucket-missing";
  if (code === 95 || /CryptoError|certificate|\bTLS\b|\bSSL\b/.test(text)) return "tls";
  if (
    code === 49 ||
    code === 101 ||
    /HostConnectError|ServiceError|unable to get address|Connection refused|timeout after \d+ms waiting/.test(
      text,
    )
  )
    return "unreachable";
  if (
    code === 82 ||
    code === 87 ||
    code === 68 ||
    /ArchiveTimeoutError|ArchiveDisabledError|was not archived before/.test(text)
  )
    return "archive";
  if (code === 50 || /LockAcquireError/.test(text)) return "busy";
  if (
    /has a stanza-create been performed|stanza '[^']*' does not exist|missing stanza path/.test(
      text,
    ) ||
    ((code === 55 || /FileMissingError/.test(text)) && /(backup|archive)\.info/.test(text))
  )
    return "stanza-missing";
  return "other";
}

/** The S3 error in a ProtocolError's dump: HTTP status, Code and Message, without the headers and hex. */
function s3Detail(text: string, shown: string): string | undefined {
  const found = /HTTP request failed with (\d+ \([^)]*\))/.exec(text)?.[1];
  const status = found && !shown.includes(found) ? found : undefined;
  const code = /<Code>([^<]*)<\/Code>/.exec(text)?.[1];
  const message = /<Message>([^<]*)<\/Message>/.exec(text)?.[1];
  if (!status && !code) return undefined;
  return [status && `HTTP ${status}`, code && `S3 ${code}${message ? `: ${message}` : ""}`]
    .filter(Boolean)
    .join(", ");
}

/**
 * The first `ERROR: [NNN]: …` line and its code (or info's `[NameError]
 * …`), and when that line only introduces the causes ("unable to load
 * info file …:"), the first cause.
 */
function errorLine(text: string): { code?: number; line?: string } {
  const match = /ERROR: \[(\d{3})\]: ([^\n]*)/.exec(text);
  const bracketed = match ? undefined : /\[([A-Za-z]+Error)\] ([^\n]*)/.exec(text);
  const name = bracketed?.[1];
  const code = match
    ? Number(match[1])
    : Number(Object.entries(pgbackrestErrors).find(([, n]) => n === name)?.[0] ?? Number.NaN);
  let line = match?.[2] ?? bracketed?.[2];
  if (line?.endsWith(":")) {
    const cause = /^\s+([A-Za-z]+Error: [^\n]*)$/m.exec(
      text.slice((match ?? bracketed)?.index ?? 0),
    );
    if (cause && !cause[1]?.endsWith(":")) line = `${line} ${cause[1]}`;
  }
  return { ...(Number.isNaN(code) ? {} : { code }), ...(line !== undefined ? { line } : {}) };
}

/**
 * A failed pgBackRest command as a reason and one readable, redacted
 * paragraph. `secrets` are the S3 key and secret (and anything else that
 * must not be shown): they are replaced wherever they appear. An exit
 * code of 0 is `info` reporting a repository it could not read.
 */
export function classifyPgbackrestFailure(
  result: { exitCode: number | null; stderr: string; stdout?: string },
  options: { command?: string; secrets?: readonly string[] } = {},
): PgbackrestFailure {
  const text = `${result.stderr}\n${result.stdout ?? ""}`;
  const { code: printed, line } = errorLine(text);
  const code =
    printed ??
    (result.exitCode !== null && pgbackrestErrors[result.exitCode] ? result.exitCode : undefined);
  const reason = reasonOf(code, text);
  const name = code !== undefined ? pgbackrestErrors[code] : undefined;
  const firstLine = (line ?? result.stderr.trim().split("\n")[0] ?? "").replace(/[:.]$/, "");
  const detail = s3Detail(text, firstLine);
  const what = options.command ? `pgbackrest ${options.command}` : "pgbackrest";
  const outcome =
    result.exitCode === 0
      ? "could not read the repository"
      : `failed (exit ${result.exitCode ?? "signal"})`;
  const head =
    code !== undefined ? ` [${String(code).padStart(3, "0")}${name ? ` ${name}` : ""}]` : "";
  const summary = [`${what} ${outcome}${head}: ${firstLine}`.trim(), detail]
    .filter(Boolean)
    .join("; ")
    .slice(0, 600)
    .replace(/[.:;\s]+$/, "");
  const message = redact(`${summary}. Fix: ${hints[reason]}.`, options.secrets);
  return {
    reason,
    exitCode: result.exitCode,
    ...(code !== undefined ? { errorCode: code } : {}),
    ...(name ? { errorName: name } : {}),
    message,
  };
}

/**
 * A repository that `info` could not read (it exits 0 and says so in
 * the JSON), classified as a failed command would be; undefined when
 * every repository answered.
 */
export function infoFailure(
  info: StanzaInfo,
  options: { secrets?: readonly string[] } = {},
): PgbackrestFailure | undefined {
  const repo = info.repos.find((r) => r.code !== 0);
  if (!repo) return undefined;
  const failure = classifyPgbackrestFailure(
    { exitCode: 0, stderr: repo.message },
    { command: "info", ...options },
  );
  return { ...failure, exitCode: 0 };
}

/** A failure as an Error, for callers that throw. */
export class PgbackrestError extends Error {
  override readonly name = "PgbackrestError";
  readonly reason: PgbackrestFailureReason;
  readonly exitCode: number | null;
  readonly errorCode: number | undefined;

  constructor(failure: PgbackrestFailure) {
    super(failure.message);
    this.reason = failure.reason;
    this.exitCode = failure.exitCode;
    this.errorCode = failure.errorCode;
  }
}
