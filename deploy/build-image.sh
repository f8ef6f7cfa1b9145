#!/usr/bin/env bash
# Builds tidegate's image from deploy/Containerfile without a Docker engine (buildah, daemonless;
# installed with apt-get when missing and we are root), then starts it once to prove it runs.
#   deploy/build-image.sh [tag]     (default localhost/tidegate:dev)
# Where the parts come from, each chosen by what this machine reaches:
#   base     BASE_IMAGE when given; else docker.io/library/node:22-bookworm-slim when the registry
#            answers; else localhost/tidegate-base:bookworm, made once from Debian's package mirror
#            with mmdebstrap (DEBIAN_MIRROR, default deb.debian.org; REBUILD_BASE=1 makes it again).
#   APP      fetch: npm ci, the build and the Pulumi release from get.pulumi.com inside a build stage
#            (needs Node in the base); host: the npm package and its production dependencies staged
#            here (the npm registry or its cache), the Pulumi CLI and language host from
#            scripts/toolchain.sh's cache. Default: fetch when the base came from a registry and
#            get.pulumi.com answers, else host.
# PUSH=1 pushes the tag after the build. Without buildah, podman or docker build APP=fetch only.
set -euo pipefail

started=$(date +%s)
log() { printf '[image %4ss] %s\n' "$(($(date +%s) - started))" "$*" >&2; }
die() { printf '[image] error: %s\n' "$*" >&2; exit 1; }

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
containerfile="$repo/deploy/Containerfile"
tag=${1:-localhost/tidegate:dev}
registry_base=docker.io/library/node:22-bookworm-slim
debian_base=${DEBIAN_BASE_TAG:-localhost/tidegate-base:bookworm}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
security_mirror=${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
pulumi_version=$(awk '$1 == "github.com/pulumi/pulumi/pkg/v3" { print $2; exit }' "$repo/toolchain/pulumi/go.mod")

# Installs Debian package $1 for command $2 when apt-get can (as root).
ensure() {
  command -v "$2" >/dev/null 2>&1 && return 0
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    log "installing $1"
    apt-get install -y -qq --no-install-recommends "$1" >/dev/null 2>&1 ||
      { apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends "$1" >/dev/null; }
  fi
  command -v "$2" >/dev/null 2>&1
}

if ! ensure buildah buildah; then
  args=(-f "$containerfile" -t "$tag")
  [ -n "${BASE_IMAGE:-}" ] && args+=(--build-arg "BASE_IMAGE=$BASE_IMAGE")
  if command -v podman >/dev/null; then
    podman build --ignorefile "$repo/deploy/Containerfile.dockerignore" "${args[@]}" "$repo"
    [ "${PUSH:-}" = 1 ] && podman push "$tag"
  elif command -v docker >/dev/null && docker info >/dev/null 2>&1; then
    # BuildKit reads deploy/Containerfile.dockerignore (beside the Containerfile) by itself.
    DOCKER_BUILDKIT=1 docker build "${args[@]}" "$repo"
    [ "${PUSH:-}" = 1 ] && docker push "$tag"
  else
    die "no image builder: install buildah (Debian: apt-get install buildah), podman or docker"
  fi
  log "built $tag"
  exit 0
fi

# chroot isolation needs no user namespaces: it works inside containers and CI runners too.
isolation=${BUILDAH_ISOLATION:-chroot}
# Containers this run creates and has not committed or removed yet (buildah bud leaves the one of an
# aliasing stage behind): removed on exit, together with the staging folder.
created=()
stage=""
cleanup() {
  [ ${#created[@]} -gt 0 ] && buildah rm "${created[@]}" >/dev/null 2>&1
  [ -n "$stage" ] && rm -rf "$stage"
  return 0
}
trap cleanup EXIT

# Debian bookworm, minimal, from the package mirror into a scratch container's root, committed.
build_debian_base() {
  ensure mmdebstrap mmdebstrap || die "mmdebstrap is needed to build the base from Debian's mirror (apt-get install mmdebstrap), or set BASE_IMAGE"
  log "building $debian_base from $mirror with mmdebstrap"
  local ctr root
  ctr=$(buildah from scratch)
  created+=("$ctr")
  root=$(buildah mount "$ctr")
  mmdebstrap --quiet --variant=minbase \
    --include=ca-certificates,git,openssh-client,bubblewrap \
    --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/info/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    --customize-hook='chroot "$1" groupadd --gid 10001 tidegate' \
    --customize-hook='chroot "$1" useradd --uid 10001 --gid 10001 --home-dir /var/lib/tidegate --create-home tidegate' \
    bookworm "$root" \
    "deb $mirror bookworm main" "deb $mirror bookworm-updates main" \
    "deb $security_mirror bookworm-security main" >&2
  buildah umount "$ctr" >/dev/null
  buildah config --os linux --arch amd64 \
    --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    --cmd /bin/bash --label "org.opencontainers.image.description=Debian bookworm for tidegate" "$ctr"
  buildah commit --quiet --rm "$ctr" "$debian_base" >/dev/null
  created=()
}

have_image() { buildah inspect --type image "$1" >/dev/null 2>&1; }

base_from_registry=true
if [ -n "${BASE_IMAGE:-}" ]; then
  base=$BASE_IMAGE
  have_image "$base" || buildah pull --quiet "$base" >/dev/null || die "cannot pull BASE_IMAGE $base"
elif have_image "$registry_base" || buildah pull --quiet "$registry_base" >/dev/null 2>&1; then
  base=$registry_base
else
  log "$registry_base is out of reach: using a Debian base built from $mirror"
  base=$debian_base base_from_registry=false
  if [ "${REBUILD_BASE:-}" = 1 ] || ! have_image "$base"; then build_debian_base; fi
fi

app=${APP:-}
if [ -z "$app" ]; then
  app=host
  if $base_from_registry && curl -fsS -o /dev/null --max-time 10 -I \
    "https://get.pulumi.com/releases/sdk/pulumi-$pulumi_version-linux-x64.tar.gz" 2>/dev/null; then
    app=fetch
  fi
fi

args=(--isolation "$isolation" -f "$containerfile" -t "$tag" --build-arg "BASE_IMAGE=$base" --build-arg "APP=$app")
# A local base is never pulled (there is no registry called localhost).
have_image "$base" && args+=(--pull=false)
before=$(buildah containers --quiet --all | sort)
dangling_before=$(buildah images --quiet --no-trunc --filter dangling=true | sort)
case "$app" in
  fetch)
    log "building $tag on $base (APP=fetch: npm registry and get.pulumi.com inside the build)"
    buildah bud --ignorefile "$repo/deploy/Containerfile.dockerignore" "${args[@]}" "$repo"
    ;;
  host)
    [ -x "$repo/node_modules/.bin/tsc" ] || die "$repo/node_modules is missing: run 'npm ci' first (the build compiles src/ with it)"
    stage=$(mktemp -d "${TMPDIR:-/var/tmp}/tidegate-image.XXXXXX")
    log "staging tidegate (npm pack: the build and the package's files) in $stage"
    (cd "$repo" && npm pack --silent --pack-destination "$stage" >/dev/null)
    mkdir "$stage/tidegate" "$stage/pulumi"
    tar -xzf "$stage"/tidegate-*.tgz -C "$stage/tidegate" --strip-components=1
    rm "$stage"/tidegate-*.tgz
    cp "$repo/package-lock.json" "$stage/tidegate/"
    log "installing production dependencies (npm ci --omit=dev, from the cache where it can)"
    (cd "$stage/tidegate" && npm ci --omit=dev --prefer-offline --no-audit --no-fund --loglevel=error >&2)
    # The npm running this build, for tidegate's installs of each stack's dependencies in the image.
    npm install --global --prefix "$stage/npm" --prefer-offline --no-audit --no-fund --loglevel=error \
      "npm@$(npm --version)" >&2
    # The pinned release from the toolchain cache (built from Go modules once, when missing), never
    # whatever pulumi is on PATH.
    pulumi_bin=$(TIDEGATE_BUILD_PULUMI=1 "$repo/scripts/toolchain.sh")
    for tool in pulumi pulumi-language-nodejs pulumi-analyzer-policy pulumi-resource-pulumi-nodejs; do
      [ -e "$pulumi_bin/$tool" ] && cp -L "$pulumi_bin/$tool" "$stage/pulumi/"
    done
    # An ignore file of its own: buildah would otherwise read Containerfile.dockerignore beside the
    # Containerfile, which leaves node_modules out.
    echo .containerignore >"$stage/.containerignore"
    log "building $tag on $base (APP=host: parts staged on this machine)"
    buildah bud --ignorefile "$stage/.containerignore" "${args[@]}" "$stage"
    ;;
  *) die "APP must be fetch or host, not '$app'" ;;
esac
for ctr in $(comm -13 <(echo "$before") <(buildah containers --quiet --all | sort)); do created+=("$ctr"); done
cleanup
created=()
# The build stages' images: only the final image (and the base) stay.
for image in $(comm -13 <(echo "$dangling_before") <(buildah images --quiet --no-trunc --filter dangling=true | sort)); do
  buildah rmi "$image" >/dev/null
done
built=$(date +%s)

# The image starts: its node runs tidegate as user 10001, and doctor finds Git and the Pulumi
# toolchain in it. buildah run needs no container engine.
log "smoke run of $tag"
ctr=$(buildah from --pull=false "$tag")
created+=("$ctr")
smoke() { buildah run --isolation "$isolation" "$ctr" -- "$@"; }
[ "$(smoke id -u)" = 10001 ] || die "the image does not run as user 10001"
smoke node /opt/tidegate/bin/tidegate.js --help >/dev/null || die "tidegate --help failed in the image"
smoke npm --version >/dev/null || die "npm does not run in the image"
# doctor also checks development tools (the emulator, Python, Go) an image does without: only the
# checks `tidegate run` depends on must pass.
doctor=$(smoke node /opt/tidegate/bin/tidegate.js doctor --json 2>/dev/null | tr -d '\n ') || true
for check in node pulumi languagehost dynamic-providerlauncher git; do
  [[ $doctor == *"\"name\":\"$check\",\"ok\":true"* ]] ||
    die "doctor in the image: '$check' is not ok: $doctor"
done
buildah rm "$ctr" >/dev/null
created=()

[ "${PUSH:-}" = 1 ] && buildah push "$tag"
size=$(buildah images --format '{{.Size}}' "$tag" | head -n1)
log "built $tag on $base (APP=$app): $size, $((built - started))s to build, $(($(date +%s) - built))s to smoke-test"
