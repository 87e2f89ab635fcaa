#!/usr/bin/env bash
# build.sh NAME OUT_DIR — builds one local-cluster binary from Go modules.
#
# NAME is one of: etcd kube-apiserver kube-controller-manager kube-scheduler
# kube-proxy kubectl helm. The binary is written to OUT_DIR/NAME atomically (built to a
# temporary name, then renamed) so an interrupted build never leaves a
# half-written binary that a later run would mistake for a cached one.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=/dev/null
source "$here/versions.env"
name="$1"
out_dir="$2"
mkdir -p "$out_dir"

# Without these the binaries report v0.0.0, and clients that compare versions
# (kubectl's skew warning, helm's kubeVersion checks) misbehave.
k8s_minor="${KUBERNETES_VERSION#v1.}"
k8s_minor="${k8s_minor%%.*}"
k8s_ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  k8s_ldflags+=" -X ${pkg}.gitVersion=${KUBERNETES_VERSION} -X ${pkg}.gitMajor=1 -X ${pkg}.gitMinor=${k8s_minor} -X ${pkg}.gitTreeState=clean"
done

case "$name" in
  kube-apiserver | kube-controller-manager | kube-scheduler | kube-proxy | kubectl)
    module=kubernetes pkg="k8s.io/kubernetes/cmd/$name" ldflags="$k8s_ldflags" ;;
  etcd)
    module=etcd pkg="." ldflags="-s -w" ;;
  helm)
    module=helm pkg="helm.sh/helm/v4/cmd/helm"
    ldflags="-s -w -X helm.sh/helm/v4/internal/version.version=${HELM_VERSION}" ;;
  *)
    echo "build.sh: unknown binary '$name'" >&2
    exit 2 ;;
esac

tmp="$out_dir/.$name.tmp.$$"
trap 'rm -f "$tmp"' EXIT
cd "$here/$module"
CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$tmp" "$pkg"
mv -f "$tmp" "$out_dir/$name"
