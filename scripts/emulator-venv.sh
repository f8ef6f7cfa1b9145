#!/usr/bin/env bash
# Creates the project-local Python virtualenv that holds the AWS API emulator (moto's server) used by
# tests and the local default when neither AWS_ENDPOINT_URL nor a Docker engine is available.
#
# Idempotent: a stamp file inside the venv records the pinned requirement and the Python version; when
# it matches, the script exits at once. The stamp is written last, so an interrupted install is never
# trusted: the next run deletes the partial venv and starts over. Concurrent runs are serialised with
# flock on this script file (when flock exists).
#
# Environment: PYTHON (default python3) picks the interpreter.
set -euo pipefail

readonly REQUIREMENT='moto[server,s3,sqs,sts]==5.2.5'
readonly MIN_PYTHON='3.10'

script_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_root="$(cd "${script_dir}/.." && pwd)"
venv="${repo_root}/.venv"
constraints="${repo_root}/toolchain/emulator/constraints.txt"
stamp="${venv}/.tidegate-emulator-stamp"
python="${PYTHON:-python3}"

log() { echo "[emulator] $*"; }
fail() {
  echo "[emulator] error: $*" >&2
  exit 1
}

if ! command -v "${python}" >/dev/null 2>&1; then
  fail "${python} not found on PATH; install Python >= ${MIN_PYTHON} (or set PYTHON) to use the moto emulator"
fi
# One interpreter start (pyenv shims are slow): print the version, exit 3 when it is too old.
python_version="$("${python}" -c "import sys; v=sys.version_info; print('%d.%d.%d' % v[:3]); sys.exit(0 if v[:2] >= (${MIN_PYTHON/./, }) else 3)" 2>/dev/null)" || rc=$?
if [[ ${rc:-0} -eq 3 ]]; then
  fail "${python} is Python ${python_version}; moto 5.2.5 needs Python >= ${MIN_PYTHON}"
elif [[ ${rc:-0} -ne 0 || -z "${python_version}" ]]; then
  fail "${python} is on PATH but does not run (a pyenv shim without an installed version?)"
fi

expected_stamp="${REQUIREMENT} python=${python_version} constraints=$(sha256sum "${constraints}" | cut -c1-12)"

is_ready() {
  [[ -f "${stamp}" && -x "${venv}/bin/moto_server" ]] && [[ "$(cat "${stamp}")" == "${expected_stamp}" ]]
}

if is_ready; then
  log "venv ready: ${venv} (${REQUIREMENT})"
  exit 0
fi

# Serialise concurrent runs (parallel test workers); re-check once the lock is held.
if command -v flock >/dev/null 2>&1; then
  exec 9<"${BASH_SOURCE[0]}"
  flock 9
  if is_ready; then
    log "venv ready: ${venv} (${REQUIREMENT})"
    exit 0
  fi
fi

if [[ -e "${venv}" ]]; then
  log "removing stale or incomplete venv at ${venv}"
  rm -rf "${venv}"
fi

start=${SECONDS}
log "creating venv at ${venv} with ${python} ${python_version}"
if ! "${python}" -m venv "${venv}"; then
  rm -rf "${venv}"
  fail "python -m venv failed (on Debian: apt-get install python3-venv)"
fi

pip_log="$(mktemp "${TMPDIR:-/tmp}/tidegate-emulator-pip.XXXXXX")"
trap 'rm -f "${pip_log}"' EXIT
log "installing ${REQUIREMENT} (about a minute on a cold pip cache)"
if ! "${venv}/bin/python" -m pip install --disable-pip-version-check --no-input -c "${constraints}" "${REQUIREMENT}" \
  >"${pip_log}" 2>&1; then
  tail -n 30 "${pip_log}" >&2
  rm -rf "${venv}"
  fail "pip install ${REQUIREMENT} failed (last lines above)"
fi

if ! "${venv}/bin/python" -c 'import moto, moto.server, flask' >/dev/null 2>&1 || [[ ! -x "${venv}/bin/moto_server" ]]; then
  rm -rf "${venv}"
  fail "moto was installed but moto.server does not import or bin/moto_server is missing"
fi

# Written last: only a complete install is ever trusted by a later run.
printf '%s\n' "${expected_stamp}" >"${stamp}.tmp"
mv -f "${stamp}.tmp" "${stamp}"
log "venv ready: ${venv} (${REQUIREMENT}) in $((SECONDS - start))s"
