#!/usr/bin/env bash
# Installs the project's npm dependencies when they are missing or stale, so
# that `npm run demo` and `npm test` work from a fresh clone. Among them is the
# `node` package: it brings the current Node LTS binary from the npm registry
# and, because npm puts node_modules/.bin first on PATH for every script, the
# project's scripts run on it whatever Node the machine has.
set -euo pipefail
cd "$(dirname "$0")/.."

fail() {
  echo "ballast setup: $*" >&2
  exit 1
}

command -v npm >/dev/null || fail "npm is not on PATH. Install Node.js with npm (any version ≥ 18; the project brings its own Node LTS)."

stamp=node_modules/.ballast-install-stamp
# Reinstall when the lock or any workspace's package.json changed since.
stale() {
  [[ ! -f $stamp ]] ||
    [[ -n "$(find package.json package-lock.json dev/package.json packages/*/package.json packages/operators/*/package.json test/*/*/package.json -newer "$stamp" 2>/dev/null)" ]]
}
if stale; then
  echo "ballast setup: installing npm dependencies…" >&2
  # `npm install`, not `npm ci`: the lock pins every version all the same, but
  # `npm ci` also insists on lock entries for other platforms' optional
  # packages (Biome's macOS and Windows binaries), which a registry mirror
  # that serves only what Linux needs does not have.
  npm install --no-audit --no-fund --loglevel=error ||
    fail "npm install failed (see above). Check access to the npm registry, then run the command again."
  touch "$stamp"
fi

[[ -x node_modules/.bin/node ]] || fail "node_modules/.bin/node is missing: the 'node' package did not install. Remove node_modules and run the command again."
