#!/usr/bin/env bash
# Unpacks the bookworm-backports packages of backports.txt into the build
# cache when they are not there yet, without installing them and without
# touching the machine's apt sources: apt reads a sources list, package index
# and download cache of its own, in a temporary directory. Run by
# system-packages.sh, so by the set-up of `npm run demo` and `npm test`; needs
# no root, since the cache is the caller's. Prints nothing when nothing is
# missing.
#
#   backports.sh            fetch and unpack what is missing (or fail, saying why)
#   backports.sh --missing  print the missing packages, one a line; fetch nothing
#   backports.sh --root     print the directory the packages are unpacked into
#
# The directory's name is derived from the package=version lines, as
# dev/src/system-packages.ts derives it (a test holds the two to each other).
set -euo pipefail

here=${BASH_SOURCE[0]%/*}
[[ $here == "${BASH_SOURCE[0]}" ]] && here=.
list=$here/backports.txt
suite=bookworm-backports
mirror=${BALLAST_DEBIAN_MIRROR:-http://deb.debian.org/debian}
keyring=/usr/share/keyrings/debian-archive-keyring.gpg

fail() {
  echo "ballast setup: $*" >&2
  exit 1
}

[[ -r $list ]] || fail "$list is missing; it lists the packages to fetch from $suite."

checks=() specs=() packages=()
while read -r check spec _; do
  [[ -z $check || $check == \#* ]] && continue
  [[ $spec == ?*=?* ]] || fail "$list: \"$check $spec\" needs <file in usr/bin> <package>=<version> <purpose>."
  checks+=("$check") specs+=("$spec") packages+=("${spec%%=*}")
done <"$list"

# Where the build cache is, as dev/src/paths.ts decides it.
cache=${BALLAST_CACHE_DIR:-}
if [[ -n $cache ]]; then
  [[ $cache == /* ]] || cache=$PWD/$cache
else
  # With no HOME, `~` is the user's home from the password database, as for Node's homedir().
  cache=${XDG_CACHE_HOME:-${HOME:-~}/.cache}/ballast
fi
# `command -p`: the standard PATH, since the caller's may hold only the listed
# commands (a test of system-packages.sh's --missing does that).
hash=$(printf '%s\n' "${specs[@]}" | command -p sha256sum)
root=$cache/debian/$suite/${hash:0:12}

if [[ ${1:-} == --root ]]; then
  echo "$root"
  exit 0
fi

# Sets `missing` to the packages whose file is absent, in list order.
find_missing() {
  missing=()
  local i
  for i in "${!checks[@]}"; do
    [[ -x $root/usr/bin/${checks[i]} ]] || missing+=("${packages[i]}")
  done
}

find_missing
if [[ ${1:-} == --missing ]]; then
  ((${#missing[@]} == 0)) || printf '%s\n' "${missing[@]}"
  exit 0
fi
((${#missing[@]} == 0)) && exit 0

for tool in apt-get apt-cache dpkg-deb sha256sum; do
  command -v "$tool" >/dev/null ||
    fail "fetching ${missing[*]} from Debian $suite needs $tool, which is not on PATH (this is meant for Debian bookworm)."
done
[[ -r $keyring ]] || fail "$keyring is missing: install debian-archive-keyring, then run the command again."

echo "ballast setup: fetching from Debian $suite into $root: ${specs[*]}…" >&2
tmp=$(mktemp -d)
staging=
trap 'rm -rf "$tmp" ${staging:+"$staging"}' EXIT
mkdir -p "$tmp/lists/partial" "$tmp/archives/partial" "$tmp/debs" "$tmp/none"
echo "deb [signed-by=$keyring] $mirror $suite main" >"$tmp/sources.list"
# Only this suite, and none of the machine's pins: its own index and cache, so
# nothing the machine's apt knows changes. The machine's apt.conf.d (a proxy,
# say) still applies.
apt_options=(
  -o "Dir::Etc::sourcelist=$tmp/sources.list" -o "Dir::Etc::sourceparts=$tmp/none"
  -o "Dir::Etc::preferences=$tmp/none/preferences" -o "Dir::Etc::preferencesparts=$tmp/none"
  -o "Dir::State::Lists=$tmp/lists" -o "Dir::Cache=$tmp" -o "Dir::Cache::archives=$tmp/archives"
)
# As root, apt downloads as the _apt user, who cannot write into the caller's
# temporary directory; the index's signature and hashes are checked either way.
((EUID == 0)) && apt_options+=(-o APT::Sandbox::User=root)

apt-get -qq "${apt_options[@]}" update ||
  fail "could not read Debian $suite from $mirror (see above). Check access to the mirror (BALLAST_DEBIAN_MIRROR sets another), then run the command again."
if ! (cd "$tmp/debs" && apt-get -qq "${apt_options[@]}" download "${specs[@]}"); then
  for package in "${packages[@]}"; do
    have=$(apt-cache "${apt_options[@]}" madison "$package" 2>/dev/null | awk -F'|' '{gsub(/ /, "", $2); print $2}' | paste -sd' ')
    echo "  $suite has $package ${have:-in no version}" >&2
  done
  fail "could not download ${specs[*]} from Debian $suite (see above). Backports keeps only its newest builds: put the version it has into $list."
fi

# Unpacked beside the final directory and renamed into place, so a directory
# that exists is complete, and a set-up run at the same time leaves the first
# one's.
mkdir -p "${root%/*}"
staging=$(mktemp -d "$root.partial.XXXXXX")
for deb in "$tmp"/debs/*.deb; do
  dpkg-deb -x "$deb" "$staging"
done
printf '%s\n' "${specs[@]}" >"$staging/packages.txt"
chmod 0755 "$staging"
if mv -T "$staging" "$root" 2>/dev/null; then
  staging=
fi

find_missing
((${#missing[@]} == 0)) ||
  fail "unpacked ${specs[*]}, but $root still lacks what $list expects from: ${missing[*]}. Check the files named there against the packages."
