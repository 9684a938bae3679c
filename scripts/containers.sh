# shellcheck shell=bash
# Container engine for the EE job test and the docker molecule scenario (sourced after scripts/bootstrap.sh).
# Rootful Debian podman, set up from nothing and idempotent; no registry is needed: every image is built here.
#
#   ensure_container_engine        apt packages (podman, buildah, runc, debootstrap) and containers.conf: a host
#                                  change, so it lives in scripts/bootstrap.sh
#   ensure_base_image              localhost/keycloak-ops-debian:bookworm (debootstrap minbase + the host's CAs)
#   ensure_python_image            a target host with Debian's python3; ensure_oldest_target_image X.Y one with only
#                                  Python X.Y (the build host's, copied in)
#   ensure_image NAME CONTEXT [ARG...]  podman build of CONTEXT/Containerfile, skipped when its inputs are unchanged
#   start_docker_api DIR           a Docker-API socket (podman system service) at DIR/keycloak-ops-podman.sock;
#                                  exports DOCKER_HOST; stop_docker_api stops it (and only it)
#   remove_containers              removes every container named keycloak-ops-* (ours only)
#
# Every container, image and socket made here is named keycloak-ops-*. Containers run with --network=host
# (nothing is changed in the host's networking) and servers in them bind to 127.0.0.1.

CONTAINERS_CACHE="$KEYCLOAK_OPS_CACHE/containers"
BASE_IMAGE="localhost/keycloak-ops-debian:bookworm"

apt_mirror() {  # the Debian mirror this machine's apt uses (deb822 or one-line sources)
  local url
  url="$(grep -hsE '^(URIs:|deb )' /etc/apt/sources.list.d/*.sources /etc/apt/sources.list \
         | grep -oE 'https?://[^ ]+/debian/?( |$)' | head -1 | tr -d ' ')"
  echo "${url:-http://deb.debian.org/debian}"
}

ensure_base_image() {
  local tarball="$CONTAINERS_CACHE/keycloak-ops-debian-bookworm.tar" rootfs
  podman image exists "$BASE_IMAGE" && return 0
  mkdir -p "$CONTAINERS_CACHE"
  if [ -s "$tarball" ]; then
    podman load -q -i "$tarball" >/dev/null && podman image exists "$BASE_IMAGE" && return 0
  fi
  log "base image: debootstrap --variant=minbase bookworm from $(apt_mirror)"
  rootfs="$(mktemp -d /tmp/keycloak-ops-rootfs.XXXXXX)"
  debootstrap --variant=minbase --include=ca-certificates bookworm "$rootfs" "$(apt_mirror)" >/dev/null
  # The host's extra CAs (a TLS-inspecting proxy, a corporate CA): pip and apt inside builds trust them too.
  cp /usr/local/share/ca-certificates/*.crt "$rootfs/usr/local/share/ca-certificates/" 2>/dev/null || true
  chroot "$rootfs" update-ca-certificates >/dev/null
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  tar -C "$rootfs" -c . | podman import -q - "$BASE_IMAGE" >/dev/null
  rm -rf "$rootfs"
  podman save -q -o "$tarball.partial" "$BASE_IMAGE" && mv "$tarball.partial" "$tarball"
}

ensure_image() {  # ensure_image NAME CONTEXT [BUILD ARG...]: rebuilt when the context's files or the args change
  local name="$1" context="$2" stamp
  shift 2
  stamp="$( (cd "$context" && find . -type f -print0 | sort -z | xargs -0 sha256sum; echo "$*") | sha256sum | cut -c1-16)"
  if podman image exists "$name" && [ "$(podman image inspect -f '{{index .Labels "keycloak-ops.stamp"}}' "$name")" = "$stamp" ]; then
    return 0
  fi
  log "image: $name"
  podman build -q --network=host --label "keycloak-ops.stamp=$stamp" "$@" -t "$name" "$context" >/dev/null
}

start_docker_api() {  # start_docker_api DIR
  local socket="$1/keycloak-ops-podman.sock"
  podman system service --time=0 "unix://$socket" >"$1/keycloak-ops-podman.log" 2>&1 &
  DOCKER_API_PID=$!
  export DOCKER_HOST="unix://$socket"
  for _ in $(seq 100); do [ -S "$socket" ] && return 0; sleep 0.1; done
  log "podman system service did not create $socket"; return 1
}

stop_docker_api() {
  [ -n "${DOCKER_API_PID:-}" ] || return 0
  kill "$DOCKER_API_PID" 2>/dev/null && wait "$DOCKER_API_PID" 2>/dev/null
  DOCKER_API_PID=""
}

remove_containers() {
  local ours
  ours="$(podman ps -a --format '{{.Names}}' | grep '^keycloak-ops-' || true)"
  [ -z "$ours" ] || echo "$ours" | xargs podman rm -f -t 2 >/dev/null
}

ensure_keycloak_image() {  # ensure_keycloak_image: localhost/keycloak-ops-keycloak:<version>, printed
  local dist java version
  dist="$(cd "$REPO" && "$VENV/bin/python" -m tests.harness.keycloak_server fetch)"
  java="$(cd "$REPO" && "$VENV/bin/python" -c 'from tests.harness.keycloak_dist import find_java_home; print(find_java_home())')"
  version="$(basename "$dist")"; version="${version#keycloak-}"
  ensure_image "localhost/keycloak-ops-keycloak:$version" "$REPO/extensions/molecule/docker/keycloak" \
    --build-arg "BASE_IMAGE=$BASE_IMAGE" --volume "$java:/mnt/jdk:ro" --volume "$dist:/mnt/keycloak:ro" \
    --volume "$(readlink -f "$java/lib/security/cacerts"):/mnt/cacerts:ro"
  echo "localhost/keycloak-ops-keycloak:$version"
}

ensure_oldest_target_image() {  # ensure_oldest_target_image X.Y: localhost/keycloak-ops-pythonX.Y:bookworm, printed
  # A target host with only that Python: a self-contained build of it (pyenv's) copied in, as no Debian has it.
  local version="$1" python prefix
  python="$(find_python "$version")" || { log "need Python $version for the oldest target host"; return 1; }
  prefix="$("$python" -c 'import sys; print(sys.prefix)')"
  case "$prefix" in
    /usr|/usr/local) log "Python $version at $python is the system's: need a self-contained build (pyenv install $version)"; return 1 ;;
  esac
  ensure_image "localhost/keycloak-ops-python$version:bookworm" "$REPO/extensions/molecule/docker/oldest_host" \
    --build-arg "BASE_IMAGE=$BASE_IMAGE" --build-arg "PYTHON_VERSION=$version" --volume "$prefix:/mnt/python:ro"
  echo "localhost/keycloak-ops-python$version:bookworm"
}

ensure_python_image() {  # ensure_python_image: localhost/keycloak-ops-python3:bookworm (a target host: Python only), printed
  ensure_image localhost/keycloak-ops-python3:bookworm "$REPO/extensions/molecule/docker/host" --build-arg "BASE_IMAGE=$BASE_IMAGE"
  echo localhost/keycloak-ops-python3:bookworm
}
