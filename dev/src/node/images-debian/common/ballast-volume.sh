# Sourced by the local images' entrypoints (POSIX sh).
#
# Containers here see the host's filesystem, so an image VOLUME (redis' /data,
# postgres' PGDATA) that the pod mounts nothing at would be the host's one
# directory, shared by every pod. These helpers tell a pod volume from the
# host's own filesystem and give an unmounted VOLUME a private tmpfs instead,
# which is what a container's writable layer is: gone when the container ends.

# on_volume DIR: true when DIR (or its nearest existing parent) lies on a
# mount the container got: a bind-mounted pod volume (its root inside the
# source filesystem is not "/") or a tmpfs such as the private /tmp. The host's
# own filesystems are mounted whole, so they do not count.
on_volume() {
  _dir=$1
  while [ ! -e "$_dir" ]; do _dir=$(dirname "$_dir"); done
  set -- $(findmnt -n -o TARGET,FSROOT,FSTYPE --target "$_dir")
  [ "$1" != / ] && { [ "$2" != / ] || [ "$3" = tmpfs ]; }
}

# ensure_private DIR: gives DIR a private tmpfs unless it is on a volume.
# Needs root (the container's own mount namespace); returns non-zero without.
ensure_private() {
  on_volume "$1" && return 0
  [ "$(id -u)" = 0 ] || return 1
  mkdir -p "$1"
  mount -t tmpfs -o mode=0755 tmpfs "$1"
}
