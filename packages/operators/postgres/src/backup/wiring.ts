/**
 * What `spec.backup` adds to a cluster's objects, decided once from the
 * spec so the ConfigMap, the pods and the controller agree:
 *
 * - `pgbackrest.conf` in the cluster's ConfigMap (`pgbackrestConf()`);
 * - on every pod: `ARCHIVE_COMMAND` (the start script turns it into
 *   `-c archive_mode=on -c archive_command=…`; `on` archives only while
 *   the server is not in recovery, so a standby promoted by a failover
 *   archives from then on, into the same stanza), the credentials Secret
 *   the operator renders (`<name>-pgbackrest`, key `s3.conf`) and the
 *   endpoint's CA, each mounted as pgBackRest reads them;
 * - nothing at all when `spec.backup` is absent, or when it cannot be
 *   used (`invalid`: the message names the field and the fix, and the
 *   pods run without archiving rather than with a broken archive_command
 *   that would keep every WAL segment in pg_wal until the volume fills).
 *
 * Both Secret volumes are `optional`: a pod must start, and stream, even
 * while a credential is missing; the backup step says what is missing and
 * archive_command fails (PostgreSQL keeps the WAL and retries) until it is
 * there.
 */
import type { PostgresCluster } from "../api.ts";
import { paths } from "../paths.ts";
import {
  archiveCommand,
  credentialsKey,
  objectStoreOf,
  PgbackrestConfigError,
  pgbackrestConf,
  pgbackrestPaths,
  retentionOf,
  stanzaOf,
} from "./pgbackrest.ts";

type Pg = Pick<PostgresCluster, "metadata" | "spec">;

export type BackupWiring =
  | { kind: "off" }
  | { kind: "invalid"; message: string }
  | {
      kind: "on";
      stanza: string;
      conf: string;
      archiveCommand: string;
      /** The Secret the operator renders from spec.backup.objectStore.credentialsSecret. */
      credentialsSecret: string;
      caSecret?: string;
    };

/** The Secret `<name>-pgbackrest`: `credentialsConf()` under `s3.conf`, nothing else. */
export function backupCredentialsSecretName(r: Pick<PostgresCluster, "metadata">): string {
  return `${r.metadata.name}-pgbackrest`;
}

/** The server's port, as pgBackRest's pg1-port; the same as resources.port (kept here to spare an import cycle). */
const serverPort = 5432;

export function backupWiring(r: Pg): BackupWiring {
  const backup = r.spec.backup;
  if (!backup) return { kind: "off" };
  try {
    const stanza = stanzaOf(r);
    const conf = pgbackrestConf({
      stanza,
      objectStore: objectStoreOf(r),
      retention: retentionOf(backup.retention),
      pg: { path: paths.pgdata, port: serverPort, socketPath: paths.run },
    });
    return {
      kind: "on",
      stanza,
      conf,
      archiveCommand: archiveCommand({ stanza }),
      credentialsSecret: backupCredentialsSecretName(r),
      ...(backup.objectStore.caSecret ? { caSecret: backup.objectStore.caSecret } : {}),
    };
  } catch (err) {
    if (err instanceof PgbackrestConfigError) return { kind: "invalid", message: err.message };
    throw err;
  }
}

/** The pod's additions for a wiring that is on: env, mounts and volumes. */
export function backupPodParts(w: BackupWiring) {
  if (w.kind !== "on") return { env: [], mounts: [], volumes: [] };
  const caDir = pgbackrestPaths.ca.slice(0, pgbackrestPaths.ca.lastIndexOf("/"));
  return {
    env: [{ name: "ARCHIVE_COMMAND", value: w.archiveCommand }],
    mounts: [
      { name: "backup-credentials", mountPath: pgbackrestPaths.credentials, readOnly: true },
      ...(w.caSecret ? [{ name: "backup-ca", mountPath: caDir, readOnly: true }] : []),
    ],
    volumes: [
      {
        name: "backup-credentials",
        secret: {
          secretName: w.credentialsSecret,
          optional: true,
          defaultMode: 0o440,
          items: [{ key: credentialsKey, path: credentialsKey }],
        },
      },
      ...(w.caSecret
        ? [
            {
              name: "backup-ca",
              secret: {
                secretName: w.caSecret,
                optional: true,
                defaultMode: 0o444,
                items: [{ key: "ca.crt", path: "ca.crt" }],
              },
            },
          ]
        : []),
    ],
  };
}
