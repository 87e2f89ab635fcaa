#!/usr/bin/env bash
# Installs the system packages in system-packages.txt that are missing, so
# that `npm run demo` and `npm test` (both run it through dev/setup.sh) work on
# a fresh machine. Prints nothing when nothing is missing. As root it runs
# `apt-get update` once and installs only the missing packages; as anyone else
# it fails with one message naming them and the command that installs them.
#
#   system-packages.sh            install what is missing (or fail, as above)
#   system-packages.sh --missing  print the missing packages, one a line; install nothing
#
# Then it runs backports.sh beside it, which unpacks the packages the images
# need from Debian bookworm-backports (backports.txt) into the build cache,
# as any user; `--missing` lists those too, after the others.
#
# Up to the first missing package it uses only bash builtins, so it sees
# exactly what `command -v` sees on the caller's PATH: a test can make a
# command missing with PATH alone. `ballast dev doctor` reads the same list
# (dev/src/system-packages.ts) and must find the same packages missing.
set -euo pipefail

here=${BASH_SOURCE[0]%/*}
[[ $here == "${BASH_SOURCE[0]}" ]] && here=.
list=$here/system-packages.txt

fail() {
  echo "ballast setup: $*" >&2
  exit 1
}

[[ -r $list ]] || fail "$list is missing; it lists the system packages to install."

# Sets `missing` to the packages whose command or file is absent, in list order, once each.
find_missing() {
  missing=()
  local check package _
  while read -r check package _; do
    [[ -z $check || $check == \#* ]] && continue
    if [[ $check == /* ]]; then
      [[ -x $check ]] && continue
    else
      command -v "$check" >/dev/null && continue
    fi
    [[ " ${missing[*]} " == *" $package "* ]] || missing+=("$package")
  done <"$list"
}

find_missing
if [[ ${1:-} == --missing ]]; then
  ((${#missing[@]} == 0)) || printf '%s\n' "${missing[@]}"
  exec "$BASH" "$here/backports.sh" --missing
fi
((${#missing[@]} == 0)) && exec "$BASH" "$here/backports.sh"

install="apt-get install -y ${missing[*]}"
if ((EUID != 0)); then
  fail "the local cluster needs system packages that are not installed: ${missing[*]}. Install them as root, then run the command again:
  sudo apt-get update && sudo $install"
fi
command -v apt-get >/dev/null ||
  fail "the local cluster needs these Debian packages, and this machine has no apt-get: ${missing[*]}. Install what they provide (see $list), then run the command again."

echo "ballast setup: installing system packages: ${missing[*]}…" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq || fail "apt-get update failed (see above). Check access to the package mirror, then run the command again."
apt-get install -y -qq "${missing[@]}" >/dev/null ||
  fail "\`$install\` failed (see above)."

# A package can install and still not provide what was checked (another
# release's layout, a PATH without /usr/sbin): say so here, not in a pod.
find_missing
((${#missing[@]} == 0)) ||
  fail "installed, but still missing what $list expects from: ${missing[*]}. Check the paths there against this system."

exec "$BASH" "$here/backports.sh"
