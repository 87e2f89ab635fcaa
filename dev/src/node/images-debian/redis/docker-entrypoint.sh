#!/bin/sh
# Entrypoint of the local `redis` image (Debian's redis-server), keeping the
# official image's contract: arguments that are options or a *.conf file are
# redis-server's, and a server started as root drops to the `redis` user after
# taking ownership of its working directory (/data).
set -e
. "$(dirname "$0")/ballast-volume.sh"

case "${1:-}" in
  -* | *.conf) set -- redis-server "$@" ;;
esac

if [ "${1:-}" = redis-server ] && [ "$(id -u)" = 0 ]; then
  if [ "$(pwd)" = /data ]; then
    ensure_private /data
    cd /data
  fi
  # Only ever a pod volume or the private tmpfs: never chown the host's files.
  if on_volume "$(pwd)"; then
    find . \! -user redis -exec chown redis '{}' +
  fi
  exec setpriv --reuid=redis --regid=redis --init-groups -- "$0" "$@"
fi

# Keep the server's files private unless the pod chose a umask of its own.
if [ "$(umask)" = 0022 ]; then umask 0077; fi

exec "$@"
