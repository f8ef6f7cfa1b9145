#!/usr/bin/env bash
# Provisions a local Kubernetes control plane and the Pulumi Kubernetes provider: `kube-apiserver`,
# `kube-controller-manager`, `etcd` and `pulumi-resource-kubernetes`, all built from Go modules with
# the wrapper modules in toolchain/kubernetes (see its README for what is pinned and why). Prints
# the folder holding them on stdout (progress goes to stderr). Put that folder on PATH and the
# Pulumi engine uses the provider as an "ambient" plugin, without any download.
#
# The binaries are cached outside the repository, keyed by the pinned versions and a hash of the
# wrapper modules and build flags, so a warm run takes well under a second. The build happens in a
# scratch folder that is renamed into place only after the binaries passed a smoke check: an
# interrupted build never leaves a folder that a later run would trust.
#
# Usage: scripts/kubernetes.sh [--check]   (--check never builds; exit 3 when not built yet)
set -euo pipefail

log() { printf '[kubernetes] %s\n' "$*" >&2; }
die() { printf '[kubernetes] error: %s\n' "$*" >&2; exit 1; }

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
modules="$repo/toolchain/kubernetes"

pinned() { # pinned <module dir> <module path>: the version the wrapper's go.mod requires
  awk -v m="$2" '$1 == m { print $2; exit }' "$modules/$1/go.mod"
}
k8s_version=$(pinned apiserver k8s.io/kubernetes)
etcd_version=$(pinned etcd go.etcd.io/etcd/server/v3)
provider_module=github.com/pulumi/pulumi-kubernetes/provider/v4
provider_pseudo=$(pinned provider "$provider_module")
[ -n "$k8s_version" ] && [ -n "$etcd_version" ] && [ -n "$provider_pseudo" ] ||
  die "cannot read the pinned versions from $modules/*/go.mod"
provider_commit=${provider_pseudo##*-}
provider_time=${provider_pseudo#*-}
provider_time=${provider_time%%-*}
provider_time=$(date -u -d "${provider_time:0:8} ${provider_time:8:2}:${provider_time:10:2}:${provider_time:12:2}" +%s)

# The provider module has no tags; the served commit lies between the v4.24.0 and v4.25.0 tags, so
# it is stamped the way upstream stamps such builds: <next release>-alpha.<commit time>+<commit>.
provider_version="4.25.0-alpha.$provider_time+$provider_commit"

k8s_minor=${k8s_version#v1.}
k8s_minor=${k8s_minor%%.*}
apiserver_ldflags="-s -w -X k8s.io/component-base/version.gitVersion=$k8s_version"
apiserver_ldflags+=" -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$k8s_minor"
apiserver_ldflags+=" -X k8s.io/component-base/version.gitTreeState=clean"
etcd_ldflags="-s -w"
provider_ldflags="-s -w -X $provider_module/pkg/version.Version=$provider_version"
# What the folder holds; part of the cache key, so a folder built before a binary was added is not trusted.
binaries="kube-apiserver kube-controller-manager etcd pulumi-resource-kubernetes"
# Static binaries without local paths, as the upstream release builds are.
build_env=(env CGO_ENABLED=0 GOFLAGS=-buildvcs=false)
build_flags=(-trimpath)

key=$(
  cd "$modules"
  {
    cat apiserver/go.mod apiserver/go.sum etcd/go.mod etcd/go.sum provider/go.mod provider/go.sum
    printf '%s\n' "$binaries" "$provider_version" "$apiserver_ldflags" "$etcd_ldflags" "$provider_ldflags" \
      "${build_env[*]}" "${build_flags[*]}"
  } | sha256sum | cut -c1-12
)
cache="${TIDEGATE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/tidegate}/kubernetes"
dest="$cache/$k8s_version-etcd-$etcd_version-provider-$provider_commit-$key"

if [ -f "$dest/.complete" ]; then
  echo "$dest/bin"
  exit 0
fi
# --check: report only, never build.
if [ "${1:-}" = "--check" ]; then
  log "kube-apiserver $k8s_version, kube-controller-manager, etcd $etcd_version and pulumi-resource-kubernetes are not built yet (expected in $dest); run scripts/kubernetes.sh"
  exit 3
fi

command -v go >/dev/null 2>&1 ||
  die "Go is required to build kube-apiserver $k8s_version, kube-controller-manager, etcd $etcd_version and pulumi-resource-kubernetes. Install Go >= 1.26 (Debian: apt-get install golang-go, or the go toolchain) and run again."

mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9
# Another run may have finished the build while we waited for the lock.
if [ -f "$dest/.complete" ]; then
  echo "$dest/bin"
  exit 0
fi

scratch=$(mktemp -d "$cache/.build-XXXXXX")
trap 'rm -rf "$scratch"' EXIT
mkdir -p "$scratch/bin"

started=$(date +%s)
(
  while sleep 30; do log "still building... $(($(date +%s) - started))s"; done
) &
ticker=$!
trap 'kill $ticker 2>/dev/null || true; rm -rf "$scratch"' EXIT

in_dir() { # in_dir <dir> <command...>
  (cd "$1" && shift && "$@")
}

step() { # step <name> <command...>: runs one build step and logs its duration
  local name=$1 t0
  shift
  t0=$(date +%s)
  log "building $name"
  "$@" >&2 || die "building $name failed (see above); nothing was cached"
  log "built $name in $(($(date +%s) - t0))s"
}

log "building kube-apiserver and kube-controller-manager $k8s_version, etcd $etcd_version and pulumi-resource-kubernetes $provider_version from Go modules (a cold build takes about 40 minutes on 2 cores)"

step "kube-apiserver $k8s_version" \
  in_dir "$modules/apiserver" "${build_env[@]}" \
  go build "${build_flags[@]}" -ldflags "$apiserver_ldflags" -o "$scratch/bin/kube-apiserver" \
  k8s.io/kubernetes/cmd/kube-apiserver

# The garbage collector and the namespace controller: without them Pulumi's deletes (foreground
# propagation) and namespace deletions never finish.
step "kube-controller-manager $k8s_version" \
  in_dir "$modules/apiserver" "${build_env[@]}" \
  go build "${build_flags[@]}" -ldflags "$apiserver_ldflags" -o "$scratch/bin/kube-controller-manager" \
  k8s.io/kubernetes/cmd/kube-controller-manager

step "etcd $etcd_version" \
  in_dir "$modules/etcd" "${build_env[@]}" \
  go build "${build_flags[@]}" -ldflags "$etcd_ldflags" -o "$scratch/bin/etcd" go.etcd.io/etcd/server/v3

# The provider embeds schema-embed.json, which its generate.go derives from schema.json. The module
# cache is read-only, so its main package is copied beside a copy of our wrapper module in the
# scratch folder, generated there and built from there.
build_provider() {
  # Runs on the right of `||` in step, where `set -e` does not apply: every command is checked.
  local src="$scratch/provider" upstream pkg
  mkdir -p "$src" && cp "$modules/provider/go.mod" "$modules/provider/go.sum" "$src/" || return 1
  upstream=$(cd "$src" && go mod download -json "$provider_module@$provider_pseudo" |
    awk -F'"' '$2 == "Dir" { print $4; exit }') || return 1
  [ -n "$upstream" ] && [ -d "$upstream" ] || {
    log "cannot find $provider_module@$provider_pseudo in the module cache"
    return 1
  }
  pkg="$src/cmd/pulumi-resource-kubernetes"
  mkdir -p "$pkg" && cp "$upstream/cmd/pulumi-resource-kubernetes/"* "$pkg/" && chmod -R u+w "$src" || return 1
  (cd "$pkg" && VERSION="$provider_version" go run generate.go) || return 1
  [ -s "$pkg/schema-embed.json" ] || {
    log "generate.go did not write schema-embed.json"
    return 1
  }
  (cd "$src" && "${build_env[@]}" go build "${build_flags[@]}" -ldflags "$provider_ldflags" \
    -o "$scratch/bin/pulumi-resource-kubernetes" ./cmd/pulumi-resource-kubernetes) || return 1
  rm -rf "$src"
}
step "pulumi-resource-kubernetes $provider_version" build_provider

kill "$ticker" 2>/dev/null || true

# Smoke checks before anything is trusted.
built=$("$scratch/bin/kube-apiserver" --version 2>/dev/null || true)
[ "$built" = "Kubernetes $k8s_version" ] ||
  die "the built kube-apiserver reports '$built', expected 'Kubernetes $k8s_version'; nothing was cached"
built=$("$scratch/bin/kube-controller-manager" --version 2>/dev/null || true)
[ "$built" = "Kubernetes $k8s_version" ] ||
  die "the built kube-controller-manager reports '$built', expected 'Kubernetes $k8s_version'; nothing was cached"
built=$("$scratch/bin/etcd" --version 2>/dev/null | awk '/^etcd Version:/ { print $3 }' || true)
[ "v$built" = "$etcd_version" ] ||
  die "the built etcd reports version '$built', expected $etcd_version; nothing was cached"
for binary in $binaries; do
  [ -x "$scratch/bin/$binary" ] || die "$binary was not built; nothing was cached"
done

touch "$scratch/.complete"
rm -rf "$dest"
mv "$scratch" "$dest"
trap - EXIT
log "kube-apiserver and kube-controller-manager $k8s_version, etcd $etcd_version and pulumi-resource-kubernetes $provider_version ready in $dest/bin ($(($(date +%s) - started))s)"
echo "$dest/bin"
