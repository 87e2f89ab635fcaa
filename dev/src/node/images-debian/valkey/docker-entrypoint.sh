#!/bin/sh
# Entrypoint of the local `valkey` image (Debian bookworm-backports' Valkey),
# keeping the official image's contract: arguments that are options or a
# *.conf file are valkey-server's; a valkey-server started as root takes
# ownership of its working directory (/data) and drops privileges, and one
# started as another user needs that directory writable; VALKEY_EXTRA_FLAGS
# is appended to the command. The user dropped to is Debian's `redis`
# (the valkey packages are unpacked, not installed, so no `valkey` user is
# created; the redis image's package provides this one).
set -e
. "$(dirname "$0")/ballast-volume.sh"

case "${1:-}" in
  -* | *.conf) set -- valkey-server "$@" ;;
esac

if [ "${1:-}" = valkey-server ]; then
  if [ -n "${BALLAST_REQUESTED_TAG:-}" ]; then
    echo "note: image tag \"$BALLAST_REQUESTED_TAG\" asked for another Valkey version; this local image runs Valkey $VALKEY_VERSION" >&2
  fi
  if [ "$(id -u)" = 0 ]; then
    if [ "$(pwd)" = /data ]; then
      ensure_private /data
      cd /data
    fi
    # Only ever a pod volume or the private tmpfs: never chown the host's files.
    if on_volume "$(pwd)"; then
      find . \! -user redis -exec chown redis '{}' +
    fi
    exec setpriv --reuid=redis --regid=redis --clear-groups -- env BALLAST_REQUESTED_TAG= "$0" "$@"
  fi
  if [ ! -w . ]; then
    echo "error: directory '$(pwd)' is not writable by current user ($(id -u))" >&2
    echo "  Check mount permissions or run as root to allow chown" >&2
    exit 1
  fi
fi

# Keep the server's files private unless the pod chose a umask of its own.
if [ "$(umask)" = 0022 ]; then umask 0077; fi

# Unquoted on purpose, as in the official image: the variable holds several flags.
# shellcheck disable=SC2086
exec "$@" ${VALKEY_EXTRA_FLAGS:-}
