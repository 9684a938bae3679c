# shellcheck shell=bash
# Sourced by the scripts: make a fresh machine able to run them.
# Installs what is missing (apt packages, Python venvs, the Keycloak distribution); idempotent and quick when done.
# Changes to the host itself (apt packages, files under /etc) are made here only, by the functions of the
# "Host changes" part below, and each is announced in one log line before it is made.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export KEYCLOAK_OPS_CACHE="${KEYCLOAK_OPS_CACHE:-$HOME/.cache/keycloak_ops}"
VENV="$KEYCLOAK_OPS_CACHE/venv"
VENV_OLDEST="$KEYCLOAK_OPS_CACHE/venv-oldest"
# Prefix of the host's own paths (/etc/...) that the host changes write: empty but in the tests of those functions.
HOST_ROOT="${HOST_ROOT:-}"

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

find_python() {  # an interpreter of a version prefix that really runs (pyenv shims may not), pyenv's first
  local want="$1" candidate root="" candidates=()
  # pyenv's own answer, not a guess at its directory: it may live anywhere ($PYENV_ROOT, another user's home).
  if command -v pyenv >/dev/null 2>&1; then root="$(pyenv root 2>/dev/null)" || root=""; fi
  [ -n "$root" ] && candidates+=("$root"/versions/"$want"*/bin/python"$want")
  candidates+=("python$want")
  for candidate in "${candidates[@]}"; do
    candidate="$(command -v "$candidate" 2>/dev/null)" || continue
    if "$candidate" -c 'import venv' >/dev/null 2>&1; then echo "$candidate"; return 0; fi
  done
  return 1
}

stage_collection() {  # stage_collection DEST: the tracked (and not ignored) tree, as ansible_collections/NS/NAME wants it
  mkdir -p "$1"
  (cd "$REPO" && git ls-files -z --cached --others --exclude-standard | tar --null -T - -cf - | tar -xf - -C "$1")
}

# The oldest Python of the modules that run on the managed hosts: X.Y of tests/config.yml's "python_requires: '>=X.Y'".
oldest_target_python() {
  sed -nE "s/^ *python_requires: *['\"]?>= *([0-9]+\.[0-9]+)['\"]? *$/\1/p" "$REPO/tests/config.yml"
}

python_version() {  # major.minor of the python on PATH (the venv's once bootstrap ran)
  python -c 'import sys; print("%d.%d" % sys.version_info[:2])'
}

# --- Host changes: the only functions that change the machine outside the cache; each says so first.

ensure_apt_packages() {  # ensure_apt_packages PKG...: Debian packages, installed when missing
  local missing=() pkg
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
  done
  [ "${#missing[@]}" -eq 0 ] && return 0
  log "host: apt-get install ${missing[*]}"
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

host_postgresql_no_main_cluster() {  # Debian's postgresql would create and start a cluster of its own on 5432
  local conf="$HOST_ROOT/etc/postgresql-common/createcluster.d/keycloak-ops.conf"
  [ "$(cat "$conf" 2>/dev/null)" != "create_main_cluster = false" ] || return 0
  [ "$(id -u)" -eq 0 ] || [ -n "$HOST_ROOT" ] || { log "not root: $conf left alone"; return 0; }
  log "host: $conf (create_main_cluster = false: the tests start throwaway clusters of their own)"
  mkdir -p "$(dirname "$conf")"
  echo "create_main_cluster = false" > "$conf"
}

ensure_container_engine() {  # rootful podman on a machine without systemd (see scripts/containers.sh)
  ensure_apt_packages podman buildah runc debootstrap rsync ca-certificates
  # runc: crun refuses the host's hybrid cgroup v1/v2; cgroupfs and file events: no systemd here;
  # ulimits not above the hard limits (no CAP_SYS_RESOURCE in a sandbox).
  local conf="$HOST_ROOT/etc/containers/containers.conf" wanted
  wanted="$(cat <<CONF
# keycloak_ops.clients: rootful podman on a machine without systemd (scripts/containers.sh)
[containers]
default_ulimits = ["nofile=$(ulimit -Hn):$(ulimit -Hn)", "nproc=32768:32768"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
CONF
)"
  if [ "$(cat "$conf" 2>/dev/null)" != "$wanted" ]; then
    if [ -e "$conf" ] && ! grep -q '^# keycloak_ops.clients' "$conf"; then
      log "$conf exists with settings of its own: podman must run with: $wanted"; return 1
    fi
    log "host: $conf (podman: runc, cgroupfs, file events, ulimits within the hard limits)"
    mkdir -p "$(dirname "$conf")"
    echo "$wanted" > "$conf"
  fi
  if [ ! -d "$HOST_ROOT/dev/mqueue" ]; then
    log "host: mkdir $HOST_ROOT/dev/mqueue (podman mounts it into containers)"
    mkdir -p "$HOST_ROOT/dev/mqueue"
  fi
}

# --- The cache ($KEYCLOAK_OPS_CACHE): virtual environments and the Keycloak distribution; no host change.

bootstrap_venv() {  # the test venv (the newest supported ansible-core), first on PATH
  local python
  python="$(find_python 3.13 || find_python 3.12)" || { log "need Python 3.12+ for ansible-core 2.21"; exit 1; }
  ensure_venv "$VENV" "$python" "$REPO/tests/requirements.txt"
  case ":$PATH:" in *":$VENV/bin:"*) ;; *) export PATH="$VENV/bin:$PATH" ;; esac
}

bootstrap_venv_oldest() {  # the oldest supported ansible-core (2.18) in $VENV_OLDEST
  local python
  python="$(find_python 3.11)" || { log "need Python 3.11 for the oldest ansible-core (2.18)"; exit 1; }
  ensure_venv "$VENV_OLDEST" "$python" "$REPO/tests/requirements-oldest.txt"
}

bootstrap_keycloak() {  # the pinned Keycloak distribution, downloaded, SHA-512 checked and unpacked once
  (cd "$REPO" && "$VENV/bin/python" -m tests.harness.keycloak_server fetch >/dev/null)
}

# shellcheck disable=SC2120  # its one option, --with-oldest, is optional
bootstrap() {  # all a run with a real Keycloak needs (scripts/demo, bench/run)
  ensure_apt_packages openssl ca-certificates git
  bootstrap_venv
  if [ "${1:-}" = "--with-oldest" ]; then bootstrap_venv_oldest; fi
  bootstrap_keycloak
}

# --- Servers of the delivery tests: a Vault (OpenBao's bao from its PyPI wheel) and a Kubernetes API server
# (etcd from Debian, kube-apiserver built from source once per machine and version, ~6 minutes on 2 cores).
# Started in the background so that the build overlaps the steps before pytest, whose fixtures wait for it.
start_delivery_servers_fetch() {  # once per run; etcd-server (apt) installed before
  [ -z "${DELIVERY_SERVERS_FETCH_PID:-}" ] || return 0
  mkdir -p "$KEYCLOAK_OPS_CACHE"
  (cd "$REPO" && exec setsid bash -c 'python -m tests.harness.vault_server fetch && python -m tests.harness.kube_server build' \
     >"$KEYCLOAK_OPS_CACHE/delivery-servers-fetch.log" 2>&1) &
  DELIVERY_SERVERS_FETCH_PID=$!
}

stop_delivery_servers_fetch() {  # on exit: a build still running (a failed earlier step) is not left behind
  if [ -n "${DELIVERY_SERVERS_FETCH_PID:-}" ]; then kill -- -"$DELIVERY_SERVERS_FETCH_PID" 2>/dev/null || true; fi
}
