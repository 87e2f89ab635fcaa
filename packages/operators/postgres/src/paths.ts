/**
 * Where things are in the postgres container: its own module, so that
 * resources.ts and backup/pgbackrest.ts both read it without importing
 * each other.
 */
export const paths = {
  /** The claim. */
  volume: "/var/lib/postgresql/data",
  pgdata: "/var/lib/postgresql/data/pgdata",
  /** The ConfigMap: postgresql.conf, pg_hba.conf, pg_ident.conf. */
  config: "/etc/postgres-operator/config",
  /** The Secrets' passwords: superuser/password, replication/password. */
  secrets: "/etc/postgres-operator/secrets",
  /** The downward API: the operator's marker and upstream. */
  instance: "/etc/postgres-operator/instance",
  /** A memory volume: the passfile and the server's socket. */
  run: "/run/postgres-operator",
} as const;
