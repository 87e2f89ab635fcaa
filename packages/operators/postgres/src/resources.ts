/**
 * The Kubernetes objects a PostgresCluster should have, as pure functions
 * of the cluster and what the operator decided, on `@ballast/stateful`'s
 * resource helpers (labels, claims, headless Services, budgets, security
 * contexts). cluster/objects.ts applies them.
 *
 * One pod per instance, `<name>-<id>`, one PostgreSQL server each, its data
 * on its own claim `data-<name>-<id>` (PGDATA is a subdirectory of the
 * volume, so a clone or an initdb can be made beside it and renamed into
 * place: a start killed half-way never leaves a PGDATA that looks whole).
 * Identity is a stable DNS name, `<pod>.<name>-instances.<ns>.svc.cluster.local`
 * through the headless Service: `primary_conninfo` names the upstream by it,
 * never by a pod IP.
 *
 * ## Every per-server setting is on the command line, but the upstream
 *
 * pg_basebackup and pg_rewind copy the source's postgresql.conf and
 * postgresql.auto.conf into the target. So the server runs from the
 * ConfigMap's postgresql.conf (`-c config_file=…`, with pg_hba.conf beside
 * it), which nothing copies, and the start script puts what differs per
 * server on the command line: port, listen and socket addresses,
 * cluster_name (the name the primary's synchronous_standby_names lists,
 * double-quoted since it has a hyphen). The safety settings pg_rewind and
 * the failover need (wal_level, hot_standby, wal_log_hints,
 * full_page_writes) are there too, out of ALTER SYSTEM's reach.
 *
 * A standby's primary_conninfo (the upstream's DNS name and a passfile)
 * and primary_slot_name are the exception: the script writes them into
 * postgresql.auto.conf at every start (replacing whatever a copy brought
 * from the source), so the operator can repoint a RUNNING standby with
 * ALTER SYSTEM and a reload (PostgreSQL 13+ restarts only its WAL
 * receiver). A failover or a switchover then restarts no standby but the
 * one that was the primary: a restart to repoint took a second instance
 * down at once, and with `synchronous: {any: 1}` of three instances that
 * stopped every commit until it was back. A primary's are on the command
 * line, empty. The other setting the operator changes at run time,
 * synchronous_standby_names, is ALTER SYSTEM's too (the port sets it right
 * after a promotion).
 *
 * ## No password in a pod spec, a ConfigMap, argv or the environment
 *
 * The superuser's and the replication user's passwords live in the Secrets
 * `<name>-superuser` and `<name>-replication` (key `password`), mounted as
 * files. The script writes the replication password into a libpq passfile
 * (mode 0600, on a memory volume, not the data disk); primary_conninfo and
 * pg_basebackup name the passfile, never the password. It never runs
 * `pg_basebackup -R` (which writes the password into postgresql.auto.conf,
 * and so into every copy of it); it writes `standby.signal` itself. initdb
 * reads the superuser's password from its file (`--pwfile`); the
 * replication role is made in single-user mode from a statement on stdin.
 *
 * ## Fencing: a server starts as primary only when the operator says so
 *
 * The operator's marker is an annotation on the pod,
 * `postgres.ballast.dev/primary`, whose value is the pod's own name;
 * the downward API projects it into a file the start script reads at every
 * start. The script removes `standby.signal` only when that file names its
 * pod, and writes `standby.signal` otherwise: without the marker a server
 * starts in recovery, whatever its data says — an old primary restarted
 * after a failover (or after a crash the operator has not decided on yet)
 * is a standby, and takes no write until the operator itself promotes it.
 * The value names the pod, so an annotation copied onto another pod grants
 * nothing.
 *
 * The marker is ADDED in place (on the pod the operator promotes, once the
 * election records it as `promoting`, so a restart after `pg_promote` stays
 * primary) but never REMOVED in place: the kubelet refreshes a downward-API
 * file only on its sync period, so a container restarted just after a
 * removal could still read it. To fence, the operator deletes the pod (which
 * stops the postmaster: "stopped, or its pod gone") and makes a new one
 * without the marker; a new pod's files are written from its own
 * annotations before its first start. A pod that cannot be deleted is not
 * fenced until the plans see it answer in recovery, or gone, or its node
 * stop reporting while its server stays silent (cluster/observe.ts, step
 * 3): that is the plans' `fenced` input (plan/types.ts).
 *
 * The upstream a standby streams from is the operator's other annotation,
 * `postgres.ballast.dev/upstream` (an instance's DNS name), projected the
 * same way; until it is set, the primary the operator had recorded when it
 * made the pod (`PRIMARY_HINT`). An instance whose upstream is itself
 * starts in recovery with no primary_conninfo.
 *
 * ## First start
 *
 * An empty volume is initialised only on the bootstrap instance
 * (`BOOTSTRAP=yes`, set on the first instance's pod while the cluster has no
 * recorded system identifier) and only when it carries the marker: initdb.
 * Any other empty instance clones its upstream with pg_basebackup and starts
 * as a standby. It never runs initdb: a second initdb would be another
 * cluster (another system identifier) that the plans refuse to promote.
 */
import type { ApplyObject, KubeObject } from "@ballast/runtime";
import {
  controllerReference,
  templateHash as hashOf,
  headlessService as headless,
  memberClaim,
  memberDisruptionBudget,
  memberSpread,
  namespaceOf,
  ownedMeta,
  restrictedContainerSecurityContext,
  restrictedPodSecurityContext,
  type SetIdentity,
  selectorLabels as setSelector,
  wellKnownLabels,
} from "@ballast/stateful";
import type { PostgresCluster } from "./api.ts";
import { recoveryOverrides, shellCommand } from "./backup/pgbackrest.ts";
import { backupPodParts, backupWiring } from "./backup/wiring.ts";
import { paths } from "./paths.ts";
import type { InstanceId } from "./plan/types.ts";

export { namespaceOf };

type Pg = PostgresCluster;

export const managedBy = "ballast-postgres-operator";
export const identity: SetIdentity = { system: "postgres", managedBy };

export const labels = {
  ...wellKnownLabels,
  instanceId: "postgres.ballast.dev/instance-id",
  /**
   * `primary` on THE primary's pod only, `standby` on the others: the -rw
   * and -ro Services select on it. Set by the operator.
   */
  role: "postgres.ballast.dev/role",
  /** On a restore's check pod only: the cluster it checks for (cluster/restore.ts). */
  restoreCheck: "postgres.ballast.dev/restore-check",
} as const;

export const annotations = {
  /** Hash of everything a change of needs a restart (image, config, script, resources). */
  templateHash: "postgres.ballast.dev/template-hash",
  /** The operator's marker: this pod's name on the primary's pod only (see the module comment). */
  primary: "postgres.ballast.dev/primary",
  /** The DNS name of the instance this one streams from (see the module comment). */
  upstream: "postgres.ballast.dev/upstream",
  /**
   * The DNS name of the primary a diverged instance is rewound from: its
   * start script runs `pg_rewind` against it before the server starts.
   * Set only on a pod made for a rewind (the rejoin plan's decision).
   */
  rewind: "postgres.ballast.dev/rewind-from",
  /** Asks for a switchover: the instance id to hand over to, or `any` for the best standby (the CLI sets it). */
  switchoverTo: "postgres.ballast.dev/switchover-to",
  /** A restart of every instance, one at a time (`ballast restart`): any new value. */
  restartRequested: "postgres.ballast.dev/restart-requested",
} as const;

/**
 * The instance pod's readiness gate: True when the instance serves — the
 * primary taking writes, a standby streaming from it — so `Ready` (and
 * the Services' endpoints) means serving, not "port open".
 */
export const servingGate = "postgres.ballast.dev/serving";

export const port = 5432;

/** The image's `postgres` user: 999 in the official image. */
export const officialUid = 999;

/** The roles the operator makes. */
export const users = { superuser: "postgres", replication: "streaming_replica" } as const;

export const passwordKey = "password";

export { paths } from "./paths.ts";

export const names = {
  pod: (r: Pg, id: InstanceId) => `${r.metadata.name}-${id}`,
  claim: (r: Pg, id: InstanceId) => `data-${r.metadata.name}-${id}`,
  headless: (r: Pg) => `${r.metadata.name}-instances`,
  /** Always the primary. */
  readWrite: (r: Pg) => `${r.metadata.name}-rw`,
  /** The standbys. */
  readOnly: (r: Pg) => `${r.metadata.name}-ro`,
  /** Any instance. */
  read: (r: Pg) => `${r.metadata.name}-r`,
  config: (r: Pg) => `${r.metadata.name}-config`,
  superuserSecret: (r: Pg) => `${r.metadata.name}-superuser`,
  replicationSecret: (r: Pg) => `${r.metadata.name}-replication`,
  budget: (r: Pg) => `${r.metadata.name}-postgres`,
  /** The short-lived pod a restore's target is checked in (cluster/restore.ts). */
  restoreCheck: (r: Pg) => `${r.metadata.name}-restore-check`,
  /** The physical slot on the primary for this standby (slot names take no hyphen). */
  slot: (id: InstanceId) => `instance_${id}`,
};

export function selectorLabels(r: Pg): Record<string, string> {
  return setSelector(identity.system, r);
}

/** The DNS name an instance is reached by, and the application_name it streams as is its pod name. */
export function instanceHost(r: Pg, id: InstanceId): string {
  return `${names.pod(r, id)}.${names.headless(r)}.${namespaceOf(r)}.svc.cluster.local`;
}

/**
 * Instance `id`'s primary_conninfo when it streams from instance
 * `upstream`: the start script's `conninfo` with the upstream's host, so
 * a standby repointed live and one started afresh connect alike.
 */
export function streamingConninfo(r: Pg, id: InstanceId, upstream: InstanceId): string {
  return `host=${instanceHost(r, upstream)} port=${port} user=${users.replication} passfile=${paths.run}/passfile application_name=${names.pod(r, id)}`;
}

export function image(r: Pg): string {
  return r.spec.image ?? `postgres:${r.spec.version}`;
}

/** Settings the operator sets in postgresql.conf; spec.postgresql.parameters may override them. */
export const defaultParameters: Readonly<Record<string, string>> = {
  max_wal_senders: "10",
  max_replication_slots: "10",
  // pg_rewind and a standby back from a restart need the WAL since they left.
  wal_keep_size: "512MB",
  password_encryption: "scram-sha-256",
};

/** A postgresql.conf value, quoted as PostgreSQL reads it. */
function confValue(v: string | number): string {
  return typeof v === "number"
    ? String(v)
    : `'${v.replaceAll("\\", "\\\\").replaceAll("'", "''")}'`;
}

/**
 * With spec.backup: a WAL segment is archived only once full, so a quiet
 * cluster's last commits could stay out of the bucket for hours. A switch
 * at least every 5 minutes bounds what a restore can miss (and what a
 * point-in-time target can reach); the user may set another value.
 */
export const archivingDefaults: Readonly<Record<string, string>> = { archive_timeout: "5min" };

/** The shared postgresql.conf: the operator's defaults, then the user's parameters (the schema refuses owned keys). */
export function postgresqlConf(r: Pg): string {
  const all = {
    ...defaultParameters,
    ...(r.spec.backup ? archivingDefaults : {}),
    ...(r.spec.postgresql?.parameters ?? {}),
  };
  const lines = Object.keys(all)
    .sort()
    .map((k) => `${k} = ${confValue(all[k] as string | number)}`);
  return `# Written by the Ballast operator from spec.postgresql.parameters.\n${lines.join("\n")}\n`;
}

/** Local connections by the OS user (peer: only postgres exists); everything else by scram password. */
export function pgHbaConf(): string {
  return [
    "# Written by the Ballast operator.",
    "local all all peer",
    `host replication ${users.replication} all scram-sha-256`,
    "host all all all scram-sha-256",
    "",
  ].join("\n");
}

export function configMap(r: Pg): ApplyObject {
  const backup = backupWiring(r);
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: ownedMeta(identity, r, names.config(r)),
    data: {
      "postgresql.conf": postgresqlConf(r),
      "pg_hba.conf": pgHbaConf(),
      "pg_ident.conf": "",
      ...(backup.kind === "on" ? { "pgbackrest.conf": backup.conf } : {}),
    },
  };
}

/** A Secret holding one generated password (made once and kept: the caller generates it). */
function passwordSecret(r: Pg, name: string, username: string, password: string): ApplyObject {
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: ownedMeta(identity, r, name),
    type: "kubernetes.io/basic-auth",
    stringData: { username, [passwordKey]: password },
  };
}

export function superuserSecret(r: Pg, password: string): ApplyObject {
  return passwordSecret(r, names.superuserSecret(r), users.superuser, password);
}

export function replicationSecret(r: Pg, password: string): ApplyObject {
  return passwordSecret(r, names.replicationSecret(r), users.replication, password);
}

/** The start script: see the module comment for the rules it follows. */
export function startScript(): string {
  const { pgdata, config, secrets, instance, run } = paths;
  return [
    "set -eu",
    "umask 077",
    `PGDATA=${pgdata}`,
    `read_file() { if [ -f "$1" ]; then cat "$1"; fi; }`,
    // The passfile: `:` and `\` are escaped in its fields. The superuser's
    // line is for pg_rewind, which reads the source's files through SQL.
    `esc() { sed 's/[\\\\:]/\\\\&/g' "$1"; }`,
    `{ printf '*:*:*:%s:%s\\n' ${users.replication} "$(esc ${secrets}/replication/password)"; printf '*:*:*:%s:%s\\n' ${users.superuser} "$(esc ${secrets}/superuser/password)"; } > ${run}/passfile`,
    `chmod 600 ${run}/passfile`,
    `marker=$(read_file ${instance}/primary)`,
    `upstream=$(read_file ${instance}/upstream)`,
    `rewind=$(read_file ${instance}/rewind)`,
    `[ -n "$upstream" ] || upstream=\${PRIMARY_HINT:-}`,
    `[ "$upstream" != "$INSTANCE_HOST" ] || upstream=`,
    `conninfo="port=${port} user=${users.replication} passfile=${run}/passfile application_name=$POD_NAME"`,
    // Half-made copies from a start that was killed.
    `rm -rf "$PGDATA.init" "$PGDATA.clone" "$PGDATA.restore"`,
    `if [ ! -s "$PGDATA/PG_VERSION" ]; then`,
    `  if [ -d "$PGDATA" ] && ! rmdir "$PGDATA" 2>/dev/null; then echo "$PGDATA holds files but no PG_VERSION: leaving it for a human" >&2; exit 1; fi`,
    `  if [ "\${BOOTSTRAP:-no}" = yes ] && [ "$marker" = "$POD_NAME" ] && [ -n "\${RESTORE:-}" ]; then`,
    // spec.bootstrap.recovery: pgBackRest restores beside PGDATA and the
    // directory is renamed only once whole; the server then replays to
    // the target and promotes (recovery.signal, left by the restore).
    `    echo "bootstrap: pgbackrest restore"`,
    `    mkdir -p ${run}/pgbackrest/log ${run}/pgbackrest/lock`,
    `    eval "$RESTORE"`,
    `    mv "$PGDATA.restore" "$PGDATA"`,
    `  elif [ "\${BOOTSTRAP:-no}" = yes ] && [ "$marker" = "$POD_NAME" ]; then`,
    `    echo "bootstrap: initdb"`,
    `    initdb -D "$PGDATA.init" --username=${users.superuser} --pwfile=${secrets}/superuser/password --auth-local=peer --auth-host=scram-sha-256 --encoding=UTF8 --data-checksums`,
    // The statement reaches single-user mode on stdin: the password is in no argv.
    `    printf "CREATE ROLE ${users.replication} WITH REPLICATION LOGIN PASSWORD '%s';\\n" "$(sed "s/'/''/g" ${secrets}/replication/password)" |`,
    `      postgres --single -D "$PGDATA.init" -c config_file=${config}/postgresql.conf ${users.superuser} > /dev/null`,
    `    mv "$PGDATA.init" "$PGDATA"`,
    `  else`,
    `    if [ -z "$upstream" ]; then echo "no data and no upstream to clone from: waiting for the operator" >&2; exit 1; fi`,
    `    echo "cloning $upstream"`,
    `    pg_basebackup -D "$PGDATA.clone" -d "host=$upstream $conninfo" --no-password -X stream -c fast -S "$SLOT"`,
    `    mv "$PGDATA.clone" "$PGDATA"`,
    `  fi`,
    `fi`,
    // A diverged former primary: pg_rewind from the primary first (it runs
    // crash recovery itself when the server was not stopped cleanly).
    // Once per pod (its uid is written beside PGDATA after): a container
    // restarted later in the same pod starts without asking the primary.
    `if [ -n "$rewind" ] && [ "$marker" != "$POD_NAME" ] && [ "$(read_file "$PGDATA.rewound")" != "$POD_UID" ]; then`,
    `  echo "rewinding from $rewind"`,
    `  pg_rewind -D "$PGDATA" --source-server="host=$rewind port=${port} user=${users.superuser} dbname=postgres passfile=${run}/passfile" --config-file=${config}/postgresql.conf --progress`,
    `  printf '%s' "$POD_UID" > "$PGDATA.rewound"`,
    `fi`,
    `set -- -D "$PGDATA" -c config_file=${config}/postgresql.conf -c hba_file=${config}/pg_hba.conf -c ident_file=${config}/pg_ident.conf -c port=${port} -c "listen_addresses=*" -c unix_socket_directories=${run} -c "cluster_name=$POD_NAME" -c wal_level=replica -c hot_standby=on -c wal_log_hints=on -c full_page_writes=on`,
    // A restore leaves restore_command and recovery_target_* in
    // postgresql.auto.conf, which every clone copies: only the restore's
    // own recovery (the primary's marker, recovery.signal still there)
    // may read them; every other start overrides them.
    // With hot_standby off, as here: PostgreSQL then does not require
    // max_connections, max_worker_processes, max_wal_senders,
    // max_prepared_transactions and max_locks_per_transaction to be at
    // least the source's (recovery aborts otherwise: a source whose
    // max_connections was raised could never be restored with the
    // defaults). Nothing reads a restoring server; once promoted it
    // starts its own history with its own settings, which its standbys share.
    `if [ "$marker" = "$POD_NAME" ] && [ -f "$PGDATA/recovery.signal" ]; then`,
    `  echo "recovering from the restored backup to its target (hot_standby off: no reads until it promotes)"`,
    `  set -- "$@" -c hot_standby=off`,
    `else`,
    `  set -- "$@" ${shellCommand(recoveryOverrides())}`,
    `fi`,
    // spec.backup: archive_mode=on archives only while not in recovery,
    // so every instance carries it and a promoted standby archives at once.
    `if [ -n "\${ARCHIVE_COMMAND:-}" ]; then`,
    `  mkdir -p ${run}/pgbackrest/log ${run}/pgbackrest/lock`,
    `  set -- "$@" -c archive_mode=on -c "archive_command=$ARCHIVE_COMMAND"`,
    `fi`,
    `if [ -n "$marker" ] && [ "$marker" = "$POD_NAME" ]; then`,
    `  rm -f "$PGDATA/standby.signal"`,
    `  echo "starting as primary (the operator's marker names this pod)"`,
    `  set -- "$@" -c primary_conninfo= -c primary_slot_name=`,
    `else`,
    `  touch "$PGDATA/standby.signal"`,
    `  if [ -n "$upstream" ]; then`,
    `    echo "starting in recovery, streaming from $upstream"`,
    `    source_conninfo="host=$upstream $conninfo"`,
    `    source_slot=$SLOT`,
    `  else`,
    `    echo "starting in recovery, no upstream"`,
    `    source_conninfo=`,
    `    source_slot=`,
    `  fi`,
    // A standby's upstream is in postgresql.auto.conf, not on the command
    // line (which outranks it), so that the operator can repoint the
    // running server (ALTER SYSTEM + reload: setStreamingSource). Written
    // at every start: pg_basebackup and pg_rewind copy the source's file.
    `  auto="$PGDATA/postgresql.auto.conf"`,
    `  { grep -v -E '^[[:space:]]*primary_(conninfo|slot_name)[[:space:]]*=' "$auto" 2>/dev/null || true; printf "primary_conninfo = '%s'\\nprimary_slot_name = '%s'\\n" "$source_conninfo" "$source_slot"; } > "$auto.new"`,
    `  mv "$auto.new" "$auto"`,
    `fi`,
    `exec postgres "$@"`,
  ].join("\n");
}

export interface PodOptions {
  /**
   * The primary the operator recorded when it made the pod: who a new
   * instance clones and streams from until the upstream annotation says
   * otherwise. Not in the template hash (a running server never reads it again).
   */
  hint: InstanceId;
  /** The pod of the cluster's first instance while no system identifier is recorded: it may initdb. */
  bootstrap?: boolean;
  /** The operator's marker: the pod is made for the primary. */
  primary?: boolean;
  /** The pod is made for a rewind from this instance (the primary). */
  rewindFrom?: InstanceId;
  /**
   * With `bootstrap`: the `pgbackrest restore` command line its start
   * script runs instead of initdb (spec.bootstrap.recovery, cluster/restore.ts).
   * Not in the template hash, like BOOTSTRAP.
   */
  restore?: string;
  /**
   * The uid of the image's postgres user (initdb refuses a uid with no
   * passwd entry). The local postgres image runs the host's Debian user.
   * @default 999, the official image's
   */
  uid?: number;
}

/** What an instance pod is built from, hashed: a change of any of it restarts the instance. */
export function templateHash(r: Pg): string {
  return hashOf({
    image: image(r),
    config: postgresqlConf(r),
    hba: pgHbaConf(),
    script: startScript(),
    resources: r.spec.resources ?? null,
    // archive_mode needs a restart; the wiring's config and Secrets names are in the pod.
    backup: r.spec.backup ?? null,
    restart: r.metadata.annotations?.[annotations.restartRequested] ?? null,
  });
}

export function pod(r: Pg, id: InstanceId, options: PodOptions): KubeObject & { spec: unknown } {
  const podName = names.pod(r, id);
  const backup = backupPodParts(backupWiring(r));
  const uid = options.uid ?? officialUid;
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      ...ownedMeta(identity, r, podName, { [labels.instanceId]: String(id) }),
      annotations: {
        [annotations.templateHash]: templateHash(r),
        ...(options.primary ? { [annotations.primary]: podName } : {}),
        ...(options.rewindFrom !== undefined
          ? { [annotations.rewind]: instanceHost(r, options.rewindFrom) }
          : {}),
      },
    },
    spec: {
      hostname: podName,
      subdomain: names.headless(r),
      readinessGates: [{ conditionType: servingGate }],
      terminationGracePeriodSeconds: 60,
      restartPolicy: "Always",
      securityContext: restrictedPodSecurityContext(uid),
      ...memberSpread(selectorLabels(r)),
      containers: [
        {
          name: "postgres",
          image: image(r),
          command: ["/bin/sh", "-c", startScript()],
          env: [
            { name: "POD_NAME", value: podName },
            { name: "POD_UID", valueFrom: { fieldRef: { fieldPath: "metadata.uid" } } },
            { name: "INSTANCE_HOST", value: instanceHost(r, id) },
            { name: "PRIMARY_HINT", value: instanceHost(r, options.hint) },
            { name: "SLOT", value: names.slot(id) },
            { name: "BOOTSTRAP", value: options.bootstrap ? "yes" : "no" },
            ...(options.bootstrap && options.restore
              ? [{ name: "RESTORE", value: options.restore }]
              : []),
            { name: "PGDATA", value: paths.pgdata },
            // psql, pg_ctl and pg_isready in the container find the server's socket.
            { name: "PGHOST", value: paths.run },
            { name: "PGPORT", value: String(port) },
            ...backup.env,
          ],
          ports: [{ name: "postgres", containerPort: port }],
          // The kubelet's own view of the server, which a failover waits for
          // (docs/failover.md): pg_isready on the socket answers only while the
          // postmaster accepts connections — an open port passes for a frozen
          // server. Whether it SERVES is the readiness gate's business. A
          // connect that takes over a second on a busy machine is not a server
          // down (the e2e saw two standbys un-ready at once under CI load with
          // 1 s × 2).
          readinessProbe: {
            exec: { command: ["pg_isready", "-q", "-h", paths.run, "-p", String(port), "-t", "3"] },
            periodSeconds: 2,
            timeoutSeconds: 4,
            failureThreshold: 3,
          },
          // SIGTERM is a smart shutdown (it waits for every client): stop fast, cleanly, instead.
          lifecycle: {
            preStop: {
              exec: {
                command: ["pg_ctl", "stop", "-D", paths.pgdata, "-m", "fast", "-w", "-t", "50"],
              },
            },
          },
          ...(r.spec.resources ? { resources: r.spec.resources } : {}),
          securityContext: restrictedContainerSecurityContext(),
          volumeMounts: [
            { name: "data", mountPath: paths.volume },
            { name: "config", mountPath: paths.config, readOnly: true },
            { name: "secrets", mountPath: paths.secrets, readOnly: true },
            { name: "instance", mountPath: paths.instance, readOnly: true },
            { name: "run", mountPath: paths.run },
            ...backup.mounts,
          ],
        },
      ],
      volumes: [
        { name: "data", persistentVolumeClaim: { claimName: names.claim(r, id) } },
        { name: "config", configMap: { name: names.config(r) } },
        {
          name: "secrets",
          projected: {
            defaultMode: 0o440,
            sources: [
              {
                secret: {
                  name: names.superuserSecret(r),
                  items: [{ key: passwordKey, path: "superuser/password" }],
                },
              },
              {
                secret: {
                  name: names.replicationSecret(r),
                  items: [{ key: passwordKey, path: "replication/password" }],
                },
              },
            ],
          },
        },
        {
          name: "instance",
          downwardAPI: {
            items: [
              {
                path: "primary",
                fieldRef: { fieldPath: `metadata.annotations['${annotations.primary}']` },
              },
              {
                path: "upstream",
                fieldRef: { fieldPath: `metadata.annotations['${annotations.upstream}']` },
              },
              {
                path: "rewind",
                fieldRef: { fieldPath: `metadata.annotations['${annotations.rewind}']` },
              },
            ],
          },
        },
        { name: "run", emptyDir: { medium: "Memory", sizeLimit: "16Mi" } },
        ...backup.volumes,
      ],
    },
  };
}

/**
 * The pod a restore's target is checked in before any instance exists
 * (cluster/restore.ts): the cluster's image, its pgbackrest.conf and
 * credentials as an instance mounts them, and nothing else — no claim, no
 * password, and none of the labels the Services and the budget select on,
 * so nothing routes to it. It sleeps; the operator runs `pgbackrest info`
 * in it by exec, then deletes it.
 */
export function restoreCheckPod(r: Pg, uid = officialUid): KubeObject & { spec: unknown } {
  const backup = backupPodParts(backupWiring(r));
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name: names.restoreCheck(r),
      namespace: namespaceOf(r),
      labels: { [labels.managedBy]: managedBy, [labels.restoreCheck]: r.metadata.name ?? "" },
      ownerReferences: [controllerReference(r)],
    },
    spec: {
      restartPolicy: "Never",
      terminationGracePeriodSeconds: 1,
      activeDeadlineSeconds: 900,
      securityContext: restrictedPodSecurityContext(uid),
      containers: [
        {
          name: "check",
          image: image(r),
          command: [
            "/bin/sh",
            "-c",
            `mkdir -p ${paths.run}/pgbackrest/log ${paths.run}/pgbackrest/lock && exec sleep 600`,
          ],
          securityContext: restrictedContainerSecurityContext(),
          volumeMounts: [
            { name: "config", mountPath: paths.config, readOnly: true },
            { name: "run", mountPath: paths.run },
            ...backup.mounts,
          ],
        },
      ],
      volumes: [
        { name: "config", configMap: { name: names.config(r) } },
        { name: "run", emptyDir: { medium: "Memory", sizeLimit: "16Mi" } },
        ...backup.volumes,
      ],
    },
  };
}

export function claim(r: Pg, id: InstanceId): KubeObject & { spec: unknown } {
  return memberClaim(
    identity,
    r,
    names.claim(r, id),
    { [labels.instanceId]: String(id) },
    r.spec.storage,
  );
}

/** Instances find each other by name before any is ready (pg_basebackup, primary_conninfo). */
export function headlessService(r: Pg): ApplyObject {
  return headless(identity, r, names.headless(r), [{ name: "postgres", port }]);
}

function service(r: Pg, name: string, role?: "primary" | "standby"): ApplyObject {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: ownedMeta(identity, r, name),
    spec: {
      selector: { ...selectorLabels(r), ...(role ? { [labels.role]: role } : {}) },
      ports: [{ name: "postgres", port }],
    },
  };
}

/** `<name>-rw`: the pod labelled primary, once it serves (the readiness gate). */
export function readWriteService(r: Pg): ApplyObject {
  return service(r, names.readWrite(r), "primary");
}

/** `<name>-ro`: the standbys that serve. */
export function readOnlyService(r: Pg): ApplyObject {
  return service(r, names.readOnly(r), "standby");
}

/** `<name>-r`: any instance that serves. */
export function readService(r: Pg): ApplyObject {
  return service(r, names.read(r));
}

/** One instance down at a time for disruptions by others; the operator's own restarts follow its plans. */
export function disruptionBudget(r: Pg, instanceCount: number): ApplyObject {
  return memberDisruptionBudget(identity, r, names.budget(r), instanceCount);
}
