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
if [[ ! -f $stamp || package-lock.json -nt $stamp || package.json -nt $stamp ]]; then
  echo "ballast setup: installing npm dependencies…" >&2
  if [[ -f package-lock.json ]]; then
    npm ci --no-audit --no-fund --loglevel=error || fail "npm ci failed (see above). Check access to the npm registry, then run the command again."
  else
    npm install --no-audit --no-fund --loglevel=error || fail "npm install failed (see above)."
  fi
  touch "$stamp"
fi

[[ -x node_modules/.bin/node ]] || fail "node_modules/.bin/node is missing: the 'node' package did not install. Remove node_modules and run the command again."
