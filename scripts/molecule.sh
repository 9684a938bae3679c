#!/usr/bin/env bash
# Molecule scenarios of extensions/molecule, on a fresh machine too (as root: network namespaces, sshd).
# Installs what is missing (apt: openssh-server, iproute2; the pinned molecule venv), runs each scenario with
# -vvv, checks that no secret of the scenario appears in its output, and removes everything it created.
#   scripts/molecule.sh [SCENARIO...]    default: default rotate self_register docker
set -euo pipefail
# shellcheck source=scripts/bootstrap.sh
source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"

VENV_MOLECULE="$KEYCLOAK_OPS_CACHE/venv-molecule"
LEAK_CHECK="$REPO/extensions/molecule/shared/leak_check.py"
[ "$(id -u)" -eq 0 ] || { log "molecule.sh needs root (network namespaces, sshd)"; exit 1; }

ensure_apt_packages openssl ca-certificates openssh-server iproute2
py="$(find_python 3.13 || find_python 3.12)" || { log "need Python 3.12+"; exit 1; }
ensure_venv "$VENV_MOLECULE" "$py" "$REPO/tests/requirements-molecule.txt"
export PATH="$VENV_MOLECULE/bin:$PATH"
(cd "$REPO" && "$VENV_MOLECULE/bin/python" -m tests.harness.keycloak_server fetch >/dev/null)

# docker scenario: rootful podman behind a Docker-API socket (DOCKER_HOST), the images built locally, and
# community.docker (from the ansible package, like the other extra collections); stopped with the run.
start_container_lab() {
  # shellcheck source=scripts/containers.sh
  source "$REPO/scripts/containers.sh"
  ensure_base_image
  KCOPS_KEYCLOAK_IMAGE="$(ensure_keycloak_image)" KCOPS_HOST_IMAGE="$(ensure_python_image)"
  # The oldest target Python (tests/config.yml) on a host of its own, driven by the oldest supported ansible-core:
  # the newest manages Python 3.9 and later only (extensions/molecule/docker/oldest_target.yml).
  KCOPS_OLDEST_TARGET_PYTHON="$(oldest_target_python)"
  KCOPS_OLDEST_TARGET_IMAGE="$(ensure_oldest_target_image "$KCOPS_OLDEST_TARGET_PYTHON")"
  bootstrap_venv_oldest
  KCOPS_OLDEST_ANSIBLE_PLAYBOOK="$VENV_OLDEST/bin/ansible-playbook"
  export KCOPS_KEYCLOAK_IMAGE KCOPS_HOST_IMAGE KCOPS_OLDEST_TARGET_PYTHON KCOPS_OLDEST_TARGET_IMAGE KCOPS_OLDEST_ANSIBLE_PLAYBOOK
  # Set explicitly, so this checkout (tests/collection_path.py) comes first too.
  ANSIBLE_COLLECTIONS_PATH="$(python "$REPO/tests/collection_path.py"):$(bash "$REPO/scripts/check-ee.sh" --collections-path)"
  export ANSIBLE_COLLECTIONS_PATH
  start_docker_api "$1"
}

work="$(mktemp -d /tmp/keycloak-ops-molecule.XXXXXX)"
export KCOPS_MOLECULE_DIR="$work/lab"          # lab directories of the scenarios (see shared/inventory/lab.yml)
export ANSIBLE_FORCE_COLOR=0 PY_COLORS=0 NO_COLOR=1
trap 'declare -F stop_docker_api >/dev/null && stop_docker_api; rm -rf "$work"' EXIT
cd "$REPO"

scenarios=("$@")
[ "${#scenarios[@]}" -gt 0 ] || scenarios=(default rotate self_register docker)
# Host changes before any scenario runs (bootstrap.sh): the container engine of the docker scenario.
case " ${scenarios[*]} " in *" docker "*) ensure_container_engine ;; esac
summary=() failed=0 started=$(date +%s)
for s in "${scenarios[@]}"; do
  if [ "$s" = docker ]; then
    start_container_lab "$work"
  fi
  t0=$(date +%s) result=PASS
  log "== molecule test -s $s (ANSIBLE_VERBOSITY=3, i.e. -vvv; output in $work/$s.*.log)"
  # The lab is kept after verify so that the leak check can read the secrets from Keycloak, then destroyed.
  ANSIBLE_VERBOSITY=3 molecule test -s "$s" --destroy never >"$work/$s.test.log" 2>&1 || result="FAIL (molecule test)"
  python "$LEAK_CHECK" collect "$KCOPS_MOLECULE_DIR/$s" "$work/$s.secrets" || result="FAIL (no secret to check)"
  ANSIBLE_VERBOSITY=3 molecule destroy -s "$s" >"$work/$s.destroy.log" 2>&1 || result="FAIL (destroy)"
  if [ -s "$work/$s.secrets" ] && ! python "$LEAK_CHECK" check "$work/$s.secrets" "$work/$s".*.log; then
    result="FAIL (secret in the -vvv output)"
  fi
  if [ "$result" != PASS ]; then
    failed=1
    tail -n 60 "$work/$s.test.log" "$work/$s.destroy.log" >&2
  fi
  summary+=("$s: $result in $(( $(date +%s) - t0 ))s")
done

log "== molecule scenarios ($(( $(date +%s) - started ))s)"
printf '  %s\n' "${summary[@]}"
exit "$failed"
