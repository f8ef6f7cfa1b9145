#!/usr/bin/env bash
# Provisions the Pulumi toolchain tidegate drives: the `pulumi` CLI, the Node.js language host and
# the launchers for dynamic providers and policy packs. Prints the folder holding them on stdout
# (progress goes to stderr).
#
# A `pulumi` on PATH at least as new as the pinned release is used as it is. Otherwise the CLI and
# our language host are built from Go modules (toolchain/pulumi) and cached outside the repository,
# keyed by the pinned release and a hash of the wrapper module, so a warm run takes a second.
# The build happens in a scratch folder that is renamed into place only after it passed its checks:
# an interrupted build never leaves a toolchain that a later run would trust.
set -euo pipefail

log() { printf '[toolchain] %s\n' "$*" >&2; }
die() { printf '[toolchain] error: %s\n' "$*" >&2; exit 1; }

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
module="$repo/toolchain/pulumi"
version=$(awk '$1 == "github.com/pulumi/pulumi/pkg/v3" { print $2; exit }' "$module/go.mod")
[ -n "$version" ] || die "cannot read the pinned pulumi release from $module/go.mod"

# Reuse a pulumi on PATH when it is new enough and has a Node.js language host beside it.
if [ -z "${TIDEGATE_BUILD_PULUMI:-}" ] && ambient=$(command -v pulumi 2>/dev/null); then
  ambient_dir=$(dirname "$(readlink -f "$ambient")")
  ambient_version=$("$ambient" version 2>/dev/null || true)
  newest=$(printf '%s\n%s\n' "$version" "$ambient_version" | sort -V | tail -n1)
  if [ -n "$ambient_version" ] && [ "$newest" = "$ambient_version" ] &&
    [ -x "$ambient_dir/pulumi-language-nodejs" ]; then
    log "using pulumi $ambient_version from PATH ($ambient_dir)"
    echo "$ambient_dir"
    exit 0
  fi
fi

key=$(cd "$module" && cat go.mod go.sum $(find cmd launchers -type f ! -name '*_test.go' | sort) | sha256sum | cut -c1-12)
cache="${TIDEGATE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/tidegate}/pulumi"
dest="$cache/$version-$key"

if [ -f "$dest/.complete" ]; then
  echo "$dest/bin"
  exit 0
fi
# --check: report only, never build (used by `tidegate doctor`).
if [ "${1:-}" = "--check" ]; then
  log "pulumi $version is not built yet (expected in $dest); run scripts/toolchain.sh"
  exit 3
fi

command -v go >/dev/null 2>&1 ||
  die "Go is required to build the Pulumi CLI $version (no pulumi >= $version on PATH). Install Go >= 1.26 (Debian: apt-get install golang-go, or the go toolchain) and run again."

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
log "building pulumi $version and pulumi-language-nodejs from Go modules (a cold build takes several minutes)"
(
  while sleep 30; do log "still building... $(($(date +%s) - started))s"; done
) &
ticker=$!
trap 'kill $ticker 2>/dev/null || true; rm -rf "$scratch"' EXIT

ldflags="-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$version"
(
  cd "$module"
  go build -buildvcs=false -tags osusergo -ldflags "$ldflags" -o "$scratch/bin/pulumi" \
    github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
  go build -buildvcs=false -tags osusergo -ldflags "$ldflags" -o "$scratch/bin/pulumi-language-nodejs" \
    ./cmd/pulumi-language-nodejs
) >&2 || die "go build failed (see above); nothing was cached"
kill "$ticker" 2>/dev/null || true

install -m 0755 "$module/launchers/"* "$scratch/bin/"

built=$("$scratch/bin/pulumi" version 2>/dev/null || true)
[ "$built" = "$version" ] || die "the built pulumi reports version '$built', expected $version; nothing was cached"

touch "$scratch/.complete"
rm -rf "$dest"
mv "$scratch" "$dest"
trap - EXIT
log "pulumi $version ready in $dest/bin ($(($(date +%s) - started))s)"
echo "$dest/bin"
