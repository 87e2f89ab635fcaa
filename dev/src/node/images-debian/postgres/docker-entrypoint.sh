#!/bin/bash
# Entrypoint of the local `postgres` image (Debian's PostgreSQL), keeping the
# parts of the official image's contract that operators and charts rely on:
#
#  - arguments that are options are the server's (`-c x=y` → `postgres -c x=y`);
#  - POSTGRES_PASSWORD (required unless POSTGRES_HOST_AUTH_METHOD=trust),
#    POSTGRES_USER (default postgres), POSTGRES_DB (default the user),
#    POSTGRES_INITDB_ARGS, POSTGRES_INITDB_WALDIR and the *_FILE variants;
#  - an empty PGDATA is initialised once: initdb, the superuser's password,
#    host connections from anywhere with a password (scram-sha-256), then the
#    *.sh / *.sql / *.sql.gz files of /docker-entrypoint-initdb.d on a server
#    that listens on no TCP port;
#  - the server never runs as root: a root start takes ownership of PGDATA and
#    comes back as the `postgres` user.
#
# Differences forced by having no image filesystem: the `postgres` user is the
# host's (Debian's uid, not 999); the socket lives in the container's private
# /tmp (PGHOST points clients there), because /var/run/postgresql is the host's
# and shared by every pod; and a PGDATA no volume is mounted at gets a private
# tmpfs rather than the host's directory.
set -Eeuo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/ballast-volume.sh"

if [ "$(printf %.1s "${1:-}")" = - ]; then set -- postgres "$@"; fi

wants_help() {
  local arg
  for arg; do
    case "$arg" in -'?' | --help | --describe-config | -V | --version) return 0 ;; esac
  done
  return 1
}

# VAR or VAR_FILE (the file's content, for secrets mounted as files).
from_env_or_file() {
  local var=$1 default=${2:-} file_var="${1}_FILE"
  if [ -n "${!var:-}" ] && [ -n "${!file_var:-}" ]; then
    echo "error: both $var and $file_var are set; they are exclusive" >&2
    exit 1
  fi
  local value=$default
  if [ -n "${!var:-}" ]; then value=${!var}; fi
  if [ -n "${!file_var:-}" ]; then value=$(<"${!file_var}"); fi
  export "$var=$value"
  unset "$file_var"
}

notice_tag() {
  if [ -n "${BALLAST_REQUESTED_TAG:-}" ]; then
    echo "note: image tag \"$BALLAST_REQUESTED_TAG\" asked for another PostgreSQL major; this local image runs Debian's PostgreSQL $PG_VERSION" >&2
  fi
}

run_init_files() {
  local file
  for file in /docker-entrypoint-initdb.d/*; do
    [ -e "$file" ] || continue
    case "$file" in
      *.sh)
        if [ -x "$file" ]; then
          echo "init: running $file"
          "$file"
        else
          echo "init: sourcing $file"
          # shellcheck disable=SC1090
          . "$file"
        fi
        ;;
      *.sql) echo "init: running $file"; psql_init -f "$file" ;;
      *.sql.gz) echo "init: running $file"; gunzip -c "$file" | psql_init ;;
      *.sql.xz) echo "init: running $file"; xzcat "$file" | psql_init ;;
      *.sql.zst) echo "init: running $file"; zstd -dc "$file" | psql_init ;;
      *) echo "init: ignoring $file" ;;
    esac
  done
}

psql_init() {
  psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --no-password --no-psqlrc \
    --dbname "$POSTGRES_DB" "$@"
}

initialise() {
  if [ -z "$POSTGRES_PASSWORD" ] && [ "$POSTGRES_HOST_AUTH_METHOD" != trust ]; then
    cat >&2 <<'MSG'
Error: PGDATA is empty and no superuser password was given, so the database cannot be initialised.
       Set POSTGRES_PASSWORD (or POSTGRES_PASSWORD_FILE) to a non-empty
       password for the superuser, or POSTGRES_HOST_AUTH_METHOD=trust to let
       anyone connect without one (not for anything but throwaway databases).
MSG
    exit 1
  fi
  local args=()
  if [ -n "${POSTGRES_INITDB_WALDIR:-}" ]; then args+=(--waldir "$POSTGRES_INITDB_WALDIR"); fi
  # initdb refuses an empty password file, hence the newline.
  eval 'initdb --username="$POSTGRES_USER" --pwfile=<(printf "%s\n" "$POSTGRES_PASSWORD") '"$POSTGRES_INITDB_ARGS"' "${args[@]}"'

  local method=${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}
  if [ "$method" = trust ]; then
    echo "warning: POSTGRES_HOST_AUTH_METHOD=trust: anyone can connect as any user without a password" >&2
  fi
  printf '\n# Added by the local postgres image.\nhost all all all %s\n' "$method" >>"$PGDATA/pg_hba.conf"
  # In postgresql.conf, not on the command line, so a server started with a
  # command of its own still listens everywhere and keeps its socket private.
  printf "\n# Added by the local postgres image.\nlisten_addresses = '*'\nunix_socket_directories = '/tmp'\n" \
    >>"$PGDATA/postgresql.conf"

  export PGPASSWORD=$POSTGRES_PASSWORD
  pg_ctl -D "$PGDATA" -w -o "-c listen_addresses='' -c unix_socket_directories=/tmp -p ${PGPORT:-5432}" start
  if [ "$POSTGRES_DB" != postgres ]; then
    psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --no-password --no-psqlrc \
      --dbname postgres --set db="$POSTGRES_DB" <<<'CREATE DATABASE :"db";'
  fi
  run_init_files
  pg_ctl -D "$PGDATA" -m fast -w stop
  unset PGPASSWORD
  echo "initialisation done: starting PostgreSQL"
}

if [ "${1:-}" != postgres ] || wants_help "$@"; then exec "$@"; fi

export PGDATA=${PGDATA:-/var/lib/postgresql/data}
from_env_or_file POSTGRES_PASSWORD
from_env_or_file POSTGRES_USER postgres
from_env_or_file POSTGRES_DB "$POSTGRES_USER"
from_env_or_file POSTGRES_INITDB_ARGS
export POSTGRES_HOST_AUTH_METHOD=${POSTGRES_HOST_AUTH_METHOD:-}

notice_tag
if [ "$(id -u)" = 0 ]; then
  ensure_private "$PGDATA"
  mkdir -p "$PGDATA"
  chmod 00700 "$PGDATA"
  find "$PGDATA" \! -user postgres -exec chown postgres:postgres '{}' +
  if [ -n "${POSTGRES_INITDB_WALDIR:-}" ]; then
    mkdir -p "$POSTGRES_INITDB_WALDIR"
    find "$POSTGRES_INITDB_WALDIR" \! -user postgres -exec chown postgres:postgres '{}' +
  fi
  # The tag notice is given once, before the restart as postgres.
  exec setpriv --reuid=postgres --regid=postgres --init-groups -- \
    env BALLAST_REQUESTED_TAG= HOME=/var/lib/postgresql "${BASH_SOURCE[0]}" "$@"
fi

if ! on_volume "$PGDATA"; then
  echo "error: PGDATA $PGDATA is on the host's filesystem, shared by every pod; mount a volume there (or start as root, which gives it a private one)" >&2
  exit 1
fi
mkdir -p "$PGDATA"
chmod 00700 "$PGDATA" || :

if [ -s "$PGDATA/PG_VERSION" ]; then
  echo "PGDATA $PGDATA already holds a database: skipping initialisation"
else
  initialise
fi

exec "$@"
