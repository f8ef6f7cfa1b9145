#!/usr/bin/env bash
# Builds tidegate's image from deploy/Containerfile without a Docker engine when buildah is there
# (daemonless, as root or rootless), else with podman or docker.
#   deploy/build-image.sh [tag]     (default tidegate:dev)
# BASE_IMAGE overrides the base (a registry mirror); PUSH=1 pushes the tag after the build.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
tag=${1:-tidegate:dev}
args=(-f "$repo/deploy/Containerfile" --ignorefile "$repo/deploy/Containerfile.dockerignore" -t "$tag")
[ -n "${BASE_IMAGE:-}" ] && args+=(--build-arg "BASE_IMAGE=$BASE_IMAGE")

if command -v buildah >/dev/null; then
  # chroot isolation needs no user namespaces: it works inside containers and CI runners too.
  buildah bud --isolation "${BUILDAH_ISOLATION:-chroot}" "${args[@]}" "$repo"
  push() { buildah push "$tag"; }
elif command -v podman >/dev/null; then
  podman build "${args[@]}" "$repo"
  push() { podman push "$tag"; }
elif command -v docker >/dev/null && docker info >/dev/null 2>&1; then
  # BuildKit reads deploy/Containerfile.dockerignore (beside the Containerfile) by itself.
  DOCKER_BUILDKIT=1 docker build -f "$repo/deploy/Containerfile" -t "$tag" \
    ${BASE_IMAGE:+--build-arg "BASE_IMAGE=$BASE_IMAGE"} "$repo"
  push() { docker push "$tag"; }
else
  echo "build-image.sh: no image builder: install buildah (Debian: apt-get install buildah), podman or docker" >&2
  exit 1
fi
[ "${PUSH:-}" = 1 ] && push
echo "built $tag"
