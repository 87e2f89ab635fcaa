#!/bin/sh
# The versitygw image's entrypoint, with the upstream image's contract
# (versitygw v1.8.0's docker-entrypoint.sh):
#
# - arguments given: they are versitygw's own, run as they are
#   (`versitygw --access … posix /data`);
# - none: the command is built from the environment: VGW_ARGS (global flags),
#   then VGW_BACKEND (posix, scoutfs, s3, azure, plugin or iam), then
#   VGW_BACKEND_ARG (one argument, e.g. the posix directory) and
#   VGW_BACKEND_ARGS (split on spaces).
#
# Everything else is versitygw's own environment: ROOT_ACCESS_KEY_ID /
# ROOT_SECRET_ACCESS_KEY (or ROOT_ACCESS_KEY / ROOT_SECRET_KEY), VGW_PORT
# (default :7070), VGW_CERT and VGW_KEY for TLS, VGW_REGION, ….
#
# Here the binary is on PATH (upstream: /usr/local/bin/versitygw, which is
# the host's on a local node); VGW_BINARY names another, as upstream.
set -e

bin=${VGW_BINARY:-$(command -v versitygw || true)}
if [ -z "$bin" ] || [ ! -x "$bin" ]; then
  echo "Entrypoint error: versitygw binary not found at ${VGW_BINARY:-PATH}" >&2
  exit 1
fi

if [ "$#" -gt 0 ]; then
  exec "$bin" "$@"
fi

case "${VGW_BACKEND:-}" in
  posix | scoutfs | s3 | azure | plugin | iam) ;;
  "")
    echo "No command arguments were provided and VGW_BACKEND is unset: set it to posix, scoutfs, s3, azure, plugin or iam, or give versitygw's arguments as the container's args." >&2
    exit 1
    ;;
  *)
    echo "VGW_BACKEND invalid backend (was '$VGW_BACKEND')." >&2
    exit 1
    ;;
esac

# Global flags come before the backend's subcommand. Word splitting of
# VGW_ARGS and VGW_BACKEND_ARGS is the contract.
# shellcheck disable=SC2086
set -- ${VGW_ARGS:-} "$VGW_BACKEND"
if [ -n "${VGW_BACKEND_ARG:-}" ]; then
  set -- "$@" "$VGW_BACKEND_ARG"
fi
# shellcheck disable=SC2086
set -- "$@" ${VGW_BACKEND_ARGS:-}

exec "$bin" "$@"
