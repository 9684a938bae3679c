#!/usr/bin/env bash
# ansible-test sanity on a staged copy of the tracked tree (ansible-test wants ansible_collections/NS/NAME).
#
#   scripts/sanity.sh [PYTHON]         every sanity test, by the ansible-test on PATH (the test venv's), on PYTHON
#                                      (default: the python on PATH)
#   scripts/sanity.sh --oldest-target  compile of plugins/ and import of the modules that run on target hosts
#                                      (HOST_SIDE_MODULES) on the oldest target Python (tests/config.yml), by the
#                                      ansible-test of the oldest supported ansible-core (venv-oldest: 2.18, the
#                                      newest whose ansible-test still knows Python 3.8 as a target)
set -euo pipefail
# shellcheck source=scripts/bootstrap.sh
source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"

# The modules that run on the managed hosts, so on their Python; the others run on the controller or in an
# execution environment (python-keycloak needs Python 3.10 there).
HOST_SIDE_MODULES=(plugins/modules/client_registration.py plugins/modules/secret_file.py)

ansible_test=(ansible-test)
if [ "${1:-}" = "--oldest-target" ]; then
  PYTHON_VERSION="$(oldest_target_python)"
  [ -n "$PYTHON_VERSION" ] || { log "tests/config.yml names no oldest target Python (python_requires: '>=X.Y')"; exit 1; }
  target_python="$(find_python "$PYTHON_VERSION")" || { log "need Python $PYTHON_VERSION (the oldest target Python)"; exit 1; }
  [ -x "$VENV_OLDEST/bin/ansible-test" ] || { log "no $VENV_OLDEST: bootstrap it first (scripts/test sanity does)"; exit 1; }
  ansible_test=("$VENV_OLDEST/bin/ansible-test")
  seed_python="$VENV_OLDEST/bin/python"
else
  PYTHON_VERSION="${1:-$(python_version)}"
  seed_python=python
fi

# A stage of its own: two runs at once (another checkout, a parallel job) must not stage over each other.
STAGE="$(mktemp -d "${TMPDIR:-/tmp}/keycloak_ops-stage.XXXXXX")"
DEST="$STAGE/ansible_collections/keycloak_ops/clients"
trap 'rm -rf "$STAGE"' EXIT
stage_collection "$DEST"
# ansible-test fetches get-pip.py from a host outside the reachable registries: its cache gets our stand-in
# (tests/sanity/pip_bootstrap.py says why that needs ansible-test's insides).
"$seed_python" "$REPO/tests/sanity/pip_bootstrap.py" "$PYTHON_VERSION" >/dev/null
cd "$DEST"

run() {  # run ARGS...: ansible-test sanity, its findings only (pip output of the per-test venvs drowns them)
  local log_file="$STAGE/sanity.log" status=0
  "${ansible_test[@]}" sanity --requirements --python "$PYTHON_VERSION" --color no "$@" >"$log_file" 2>&1 || status=$?
  grep -E '^(Running sanity test|ERROR|FATAL|WARNING)' "$log_file" || true
  return "$status"
}

if [ -n "${target_python:-}" ]; then
  # ansible-test finds an interpreter of a version by its name on PATH.
  mkdir -p "$STAGE/bin"
  ln -s "$target_python" "$STAGE/bin/python$PYTHON_VERSION"
  export PATH="$STAGE/bin:$PATH"
  log "sanity on Python $PYTHON_VERSION ($("$target_python" --version)) by ansible-test $("${ansible_test[@]}" --version | awk '{print $NF}')"
  run --test compile plugins/
  run --test import "${HOST_SIDE_MODULES[@]}"
else
  run
fi
