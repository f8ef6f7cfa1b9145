#!/usr/bin/env bash
# Provides a local Kubernetes control plane and the Pulumi Kubernetes provider: `kube-apiserver`,
# `kube-controller-manager`, `etcd` and `pulumi-resource-kubernetes`. Prints one folder holding them
# on stdout (progress goes to stderr). Put that folder on PATH and the Pulumi engine uses the
# provider as an "ambient" plugin, without any download.
#
# What the machine already has comes first; only what is missing is built from Go modules with the
# wrapper modules in toolchain/kubernetes (see its README for what is pinned and why):
#   kube-apiserver, etcd, kube-controller-manager: $KUBEBUILDER_ASSETS (the envtest convention),
#     then tidegate's built cache, then PATH; each must report a version the control plane can use.
#   pulumi-resource-kubernetes: a plugin installed with `pulumi plugin install resource kubernetes
#     <the @pulumi/kubernetes version>` (in $PULUMI_HOME/plugins or ~/.pulumi/plugins), then the
#     built cache, then PATH.
# When the pieces come from several folders, the printed folder holds symlinks to them.
#
# The builds are cached outside the repository, keyed by the pinned versions, the binaries built
# and a hash of the wrapper modules and build flags, so a warm run takes well under a second. A
# build happens in a scratch folder that is renamed into place only after the binaries passed a
# smoke check: an interrupted build never leaves a folder that a later run would trust.
#
# Usage: scripts/kubernetes.sh [--check | --lookup]
#   --check   never builds; exit 3 when something would have to be built
#   --lookup  never builds or writes; prints "<binary>\t<source>\t<path>\t<version>" per binary
#             (source: KUBEBUILDER_ASSETS, built, PATH, plugin or missing)
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
# Everything this script provides; the cluster part and the provider can also be built alone.
all_binaries="kube-apiserver kube-controller-manager etcd pulumi-resource-kubernetes"
cluster_binaries="kube-apiserver kube-controller-manager etcd"
provider_binaries="pulumi-resource-kubernetes"
# Static binaries without local paths, as the upstream release builds are.
build_env=(env CGO_ENABLED=0 GOFLAGS=-buildvcs=false)
build_flags=(-trimpath)
# The oldest releases the control plane's flags work with: kube-apiserver needs
# --service-account-issuer/--service-account-signing-key-file (required since 1.20), etcd needs
# --unsafe-no-fsync (3.5).
min_kubernetes=1.20.0
min_etcd=3.5.0

cache="${TIDEGATE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/tidegate}/kubernetes"

dest_for() { # dest_for <binaries>: the cache folder of one build; the list is part of its key
  local list=$1 key name
  key=$(
    cd "$modules"
    {
      cat apiserver/go.mod apiserver/go.sum etcd/go.mod etcd/go.sum provider/go.mod provider/go.sum
      printf '%s\n' "$list" "$provider_version" "$apiserver_ldflags" "$etcd_ldflags" "$provider_ldflags" \
        "${build_env[*]}" "${build_flags[*]}"
    } | sha256sum | cut -c1-12
  )
  case $list in
    "$all_binaries") name="$k8s_version-etcd-$etcd_version-provider-$provider_commit" ;;
    "$cluster_binaries") name="$k8s_version-etcd-$etcd_version" ;;
    *) name="provider-$provider_commit" ;;
  esac
  echo "$cache/$name-$key"
}

# The provider version the @pulumi/kubernetes SDK asks the engine for; the engine loads an installed
# plugin only at exactly that version.
sdk_version() {
  local manifest="$repo/node_modules/@pulumi/kubernetes/package.json"
  [ -f "$manifest" ] && awk -F'"' '$2 == "version" { print $4; exit }' "$manifest"
}

at_least() { # at_least <version> <minimum>
  [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n1)" = "$2" ]
}

version_of() { # version_of <binary name> <file>: the version it reports, or nothing
  local out
  case $1 in
    etcd)
      out=$(timeout 10 "$2" --version 2>/dev/null || true)
      printf '%s\n' "$out" | awk '/^etcd Version:/ { print $3; exit }'
      ;;
    *)
      out=$(timeout 10 "$2" --version 2>/dev/null || true)
      printf '%s\n' "$out" | sed -n 's/^Kubernetes v\([0-9][0-9]*\.[0-9][0-9]*\.[0-9][0-9]*\).*/\1/p' | head -n1
      ;;
  esac
}

usable() { # usable <binary name> <file>: prints its version when it runs and is new enough
  local version minimum=$min_kubernetes
  [ "$1" = etcd ] && minimum=$min_etcd
  [ -x "$2" ] && [ -f "$2" ] || return 1
  version=$(version_of "$1" "$2")
  if [ -z "$version" ]; then
    log "skipping $2: '$2 --version' printed no version"
    return 1
  fi
  if ! at_least "$version" "$minimum"; then
    log "skipping $2: version $version, needs >= $minimum"
    return 1
  fi
  echo "$version"
}

built_dirs() { # the bin folders of finished builds, the full one first
  local list dir
  for list in "$all_binaries" "$cluster_binaries" "$provider_binaries"; do
    dir=$(dest_for "$list")
    [ -f "$dir/.complete" ] && echo "$dir/bin"
  done
  return 0
}

# find_one <binary name>: "<source>\t<path>\t<version>" for the first usable candidate, or nothing.
find_one() {
  local name=$1 dir file version sdk plugins
  if [ "$name" = pulumi-resource-kubernetes ]; then
    sdk=$(sdk_version || true)
    plugins="${PULUMI_HOME:-$HOME/.pulumi}/plugins"
    file="$plugins/resource-kubernetes-v$sdk/$name"
    # A .partial marker beside the folder means `pulumi plugin install` has not finished.
    if [ -n "$sdk" ] && [ -x "$file" ] && [ ! -e "$plugins/resource-kubernetes-v$sdk.partial" ]; then
      printf 'plugin\t%s\t%s\n' "$file" "$sdk"
      return
    fi
    for dir in $built; do
      [ -x "$dir/$name" ] && printf 'built\t%s\t%s\n' "$dir/$name" "$provider_version" && return
    done
    # The provider serves gRPC when run, so its version is not asked; the engine checks it.
    file=$(command -v "$name" 2>/dev/null) && printf 'PATH\t%s\t\n' "$file"
    return 0
  fi
  if [ -n "${KUBEBUILDER_ASSETS:-}" ] && version=$(usable "$name" "$KUBEBUILDER_ASSETS/$name"); then
    printf 'KUBEBUILDER_ASSETS\t%s\t%s\n' "$KUBEBUILDER_ASSETS/$name" "$version"
    return
  fi
  for dir in $built; do
    version=$(usable "$name" "$dir/$name") && printf 'built\t%s\t%s\n' "$dir/$name" "$version" && return
  done
  file=$(command -v "$name" 2>/dev/null) && version=$(usable "$name" "$file") &&
    printf 'PATH\t%s\t%s\n' "$file" "$version"
  return 0
}

declare -A found
built=''
resolve() { # fills found[<binary>] with "<source>\t<path>\t<version>" (empty when missing)
  local name
  built=$(built_dirs)
  for name in $all_binaries; do found[$name]=$(find_one "$name"); done
}
path_of() { # path_of <binary>: where it was found, or nothing
  local entry=${found[$1]}
  entry=${entry#*$'\t'}
  echo "${entry%%$'\t'*}"
}
# What still has to be built: the cluster part when kube-apiserver or etcd is missing, the
# provider when it is missing. A found kube-apiserver without a kube-controller-manager is used as
# it is (the control plane then starts without one).
to_build() {
  local cluster='' provider=''
  [ -z "${found[kube-apiserver]}" ] || [ -z "${found[etcd]}" ] && cluster=1
  [ -z "${found[pulumi-resource-kubernetes]}" ] && provider=1
  if [ -n "$cluster" ] && [ -n "$provider" ]; then
    echo "$all_binaries"
  elif [ -n "$cluster" ]; then
    echo "$cluster_binaries"
  elif [ -n "$provider" ]; then
    echo "$provider_binaries"
  fi
  return 0
}

# Prints the one folder that holds what was found: a built folder when everything came from it,
# otherwise a folder of symlinks in the cache. An installed plugin is linked there too: tidegate's
# engine runs with its own PULUMI_HOME (under its data directory), where the plugin is not, so it
# is loaded from PATH (as an ambient plugin) like a built one.
print_folder() {
  local name file dirs='' key farm scratch_farm
  for name in $all_binaries; do
    [ -n "${found[$name]}" ] || continue
    file=$(path_of "$name")
    dirs+=" $(dirname "$file")"
    log "using $name $(printf '%s' "${found[$name]}" | cut -f3) from ${found[$name]%%$'\t'*} ($file)"
  done
  [ -n "${found[kube-controller-manager]}" ] ||
    log "no usable kube-controller-manager: the control plane starts without one, so deletes that wait for the garbage collector (foreground propagation, namespaces) do not finish"
  # shellcheck disable=SC2086
  if [ "$(printf '%s\n' $dirs | sort -u | wc -l)" = 1 ]; then
    echo "${dirs# }" | cut -d' ' -f1
    return
  fi
  key=$(for name in $all_binaries; do printf '%s %s\n' "$name" "${found[$name]}"; done | sha256sum | cut -c1-12)
  farm="$cache/found-$key"
  if [ ! -d "$farm/bin" ]; then
    mkdir -p "$cache"
    scratch_farm=$(mktemp -d "$cache/.found-XXXXXX")
    mkdir "$scratch_farm/bin"
    for name in $all_binaries; do
      [ -n "${found[$name]}" ] && ln -s "$(path_of "$name")" "$scratch_farm/bin/$name"
    done
    # Another run may have made the same folder meanwhile; both are the same.
    mv -T "$scratch_farm" "$farm" 2>/dev/null || rm -rf "$scratch_farm"
  fi
  echo "$farm/bin"
}

resolve
case "${1:-}" in
  --lookup)
    for name in $all_binaries; do
      if [ -n "${found[$name]}" ]; then
        printf '%s\t%s\n' "$name" "${found[$name]}"
      else
        printf '%s\tmissing\t\t\n' "$name"
      fi
    done
    exit 0
    ;;
  --check | "") ;;
  *) die "unknown option '$1' (usage: scripts/kubernetes.sh [--check | --lookup])" ;;
esac

binaries=$(to_build)
if [ -z "$binaries" ]; then
  print_folder
  exit 0
fi
dest=$(dest_for "$binaries")
# --check: report only, never build.
if [ "${1:-}" = "--check" ]; then
  log "$binaries not found and not built yet (a build would go to $dest); set KUBEBUILDER_ASSETS to a folder holding kube-apiserver and etcd (>= $min_kubernetes, >= $min_etcd), install the provider with 'pulumi plugin install resource kubernetes $(sdk_version || echo '<version>')', or run scripts/kubernetes.sh"
  exit 3
fi

command -v go >/dev/null 2>&1 ||
  die "Go is required to build $binaries (not found in KUBEBUILDER_ASSETS, the built cache, PATH or the Pulumi plugins). Install Go >= 1.26 (Debian: apt-get install golang-go, or the go toolchain) and run again."

mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9
# Another run may have finished the build while we waited for the lock.
if [ -f "$dest/.complete" ]; then
  resolve
  print_folder
  exit 0
fi

scratch=$(mktemp -d "$cache/.build-XXXXXX")
trap 'rm -rf "$scratch"' EXIT
mkdir -p "$scratch/bin"

started=$(date +%s)
# Its sleep is stopped with it: a stray sleep would hold the caller's pipes open for up to 30 s.
(
  trap 'kill "$nap" 2>/dev/null; exit 0' TERM
  while :; do
    sleep 30 &
    nap=$!
    wait "$nap"
    log "still building... $(($(date +%s) - started))s"
  done
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

building() { # building <binary>: whether this run builds it
  case " $binaries " in *" $1 "*) return 0 ;; *) return 1 ;; esac
}

# Cold, on 2 cores: all four about 40 minutes; the provider alone about 21; the cluster part alone
# about 18 (toolchain/kubernetes/README.md).
log "building $binaries ($k8s_version, etcd $etcd_version, provider $provider_version) from Go modules (a cold build of all four takes about 40 minutes on 2 cores)"

building kube-apiserver && step "kube-apiserver $k8s_version" \
  in_dir "$modules/apiserver" "${build_env[@]}" \
  go build "${build_flags[@]}" -ldflags "$apiserver_ldflags" -o "$scratch/bin/kube-apiserver" \
  k8s.io/kubernetes/cmd/kube-apiserver

# The garbage collector and the namespace controller: without them Pulumi's deletes (foreground
# propagation) and namespace deletions never finish.
building kube-controller-manager && step "kube-controller-manager $k8s_version" \
  in_dir "$modules/apiserver" "${build_env[@]}" \
  go build "${build_flags[@]}" -ldflags "$apiserver_ldflags" -o "$scratch/bin/kube-controller-manager" \
  k8s.io/kubernetes/cmd/kube-controller-manager

building etcd && step "etcd $etcd_version" \
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
building pulumi-resource-kubernetes && step "pulumi-resource-kubernetes $provider_version" build_provider

kill "$ticker" 2>/dev/null || true

# Smoke checks before anything is trusted.
for binary in kube-apiserver kube-controller-manager; do
  building "$binary" || continue
  built=$("$scratch/bin/$binary" --version 2>/dev/null || true)
  [ "$built" = "Kubernetes $k8s_version" ] ||
    die "the built $binary reports '$built', expected 'Kubernetes $k8s_version'; nothing was cached"
done
if building etcd; then
  built=$("$scratch/bin/etcd" --version 2>/dev/null | awk '/^etcd Version:/ { print $3 }' || true)
  [ "v$built" = "$etcd_version" ] ||
    die "the built etcd reports version '$built', expected $etcd_version; nothing was cached"
fi
for binary in $binaries; do
  [ -x "$scratch/bin/$binary" ] || die "$binary was not built; nothing was cached"
done

touch "$scratch/.complete"
rm -rf "$dest"
mv "$scratch" "$dest"
trap - EXIT
log "$binaries ready in $dest/bin ($(($(date +%s) - started))s)"
resolve
print_folder
