#!/usr/bin/env bash
# Everything tidegate needs on a fresh machine, from the registries this project can reach:
# npm dependencies (including Node 22 itself), the Pulumi toolchain built from Go modules and
# cached outside the repository, and the AWS emulator's virtual environment. Safe to run again:
# each step is a fast no-op when its result is already in place.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

log() { printf '[setup] %s\n' "$*" >&2; }

for tool in npm git python3 openssl; do
  command -v "$tool" >/dev/null 2>&1 || { log "error: $tool is required (see README: Requirements)"; exit 1; }
done

# npm ci only when the lockfile changed since the last install: a warm run costs nothing.
stamp=node_modules/.tidegate-lock-hash
want=$(sha256sum package-lock.json | cut -c1-64)
if [ "$(cat "$stamp" 2>/dev/null || true)" != "$want" ]; then
  log "installing npm dependencies"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$want" >"$stamp"
fi
node_modules/.bin/node -e 'const [a,b]=process.versions.node.split(".").map(Number); if (a<22||(a===22&&b<13)) { console.error(`Node ${process.version} from node_modules is too old`); process.exit(1) }'
# bin/tidegate.js runs the compiled dist/ while it is newer than src/ (starting ~3x faster than tsx).
log "building dist/"
PATH="$PWD/node_modules/.bin:$PATH" npm run build --silent

# Installs Debian package $1 when apt-get can (as root); else warns with $2.
apt_install() {
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    log "installing $1"
    apt-get install -y -qq "$1" >/dev/null 2>&1 || { apt-get update -qq >/dev/null && apt-get install -y -qq "$1" >/dev/null; }
  else
    log "warning: $1 is missing: $2"
  fi
}

# Installs Debian package $2 when command $1 is missing; else warns with $3.
apt_tool() {
  command -v "$1" >/dev/null 2>&1 && return 0
  apt_install "$2" "$3"
}

# PostgreSQL's server binaries, found as src/devenv/postgres/server.ts finds them: PG_BIN,
# `pg_config --bindir`, /usr/lib/postgresql/<n>/bin (Debian keeps them off PATH).
have_postgres() {
  local dir
  for dir in "${PG_BIN:-}" "$(pg_config --bindir 2>/dev/null || true)" /usr/lib/postgresql/*/bin; do
    [ -n "$dir" ] && [ -x "$dir/postgres" ] && [ -x "$dir/initdb" ] && return 0
  done
  return 1
}

# bubblewrap runs each environment's Pulumi work in an OS sandbox (tidegate.yaml `sandbox`); without
# it, environments sharing a file:// backend can read each other's state.
apt_tool bwrap bubblewrap "install it so environments run sandboxed"
# libfaketime lets the clock-jump fault test move a running tidegate's wall clock.
apt_tool faketime faketime "the clock-jump fault test is skipped"
# Headless Chromium drives the dashboard's browser tests (through playwright-core, whose own browser
# download cannot work offline).
apt_tool chromium chromium "the dashboard's browser tests fail; set TIDEGATE_CHROMIUM to a Chromium binary"
# The store on PostgreSQL is tested against a throwaway server started from the machine's binaries.
have_postgres || apt_install postgresql "the PostgreSQL store's tests fail; install PostgreSQL or set PG_BIN to its bin folder"

bash scripts/toolchain.sh >/dev/null
# kube-apiserver, etcd and the Pulumi Kubernetes provider for the cluster tests (cold: ~40 min on 2 cores;
# nothing is built when KUBEBUILDER_ASSETS and an installed provider plugin supply them).
bash scripts/kubernetes.sh >/dev/null
bash scripts/emulator-venv.sh
log "ready"
