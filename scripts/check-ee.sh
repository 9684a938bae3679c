#!/usr/bin/env bash
# Execution environment check, without a container engine.
#
#   scripts/check-ee.sh                     the check below (tools from tests/requirements-ee.txt in venv-ee)
#   scripts/check-ee.sh --build             also build the image with podman (scripts/containers.sh sets it up), from a
#                                           copy of execution-environment.yml on a local Debian base and the local
#                                           tarball (no registry, no Galaxy here); prints the image name last
#   scripts/check-ee.sh --collections-path  print a collections path holding the other collections the repository's
#                                           playbooks and roles use, fetched once (see below)
#
# The check does what `ansible-builder build` does up to the point where a container engine is needed:
#   1. builds the collection tarball from the tracked tree (what Galaxy would serve);
#   2. `ansible-builder create` with the example execution-environment.yml (schema v3): the build context;
#   3. the context's galaxy stage, with the local tarball standing in for Galaxy;
#   4. the context's builder stage: its own introspect.py, run as its Containerfile runs it, then
#      `ansible-builder introspect` on the same collections;
# and fails unless the resolved Python requirements name python-keycloak (as requirements.txt pins it) and
# pip can resolve them, and the system requirements name what bindep.txt declares, in valid bindep syntax.
#
# --collections-path: the other collections used here: awx.awx (playbooks/awx_credential_type.yml), community.docker
# (the docker molecule scenario),
# community.general (docs/examples/community_general.yml), community.hashi_vault and kubernetes.core (delivery
# targets of the deliver role), for ansible-lint's syntax check and for the tests that run those playbooks.
# Galaxy is not reachable here and awx.awx left the ansible package on PyPI with ansible 14, so they are
# extracted, alone, from the last ansible wheel that has awx.awx ($ANSIBLE_PACKAGE):
#   ANSIBLE_COLLECTIONS_PATH="$(scripts/check-ee.sh --collections-path)${ANSIBLE_COLLECTIONS_PATH:+:$ANSIBLE_COLLECTIONS_PATH}" ansible-lint
set -euo pipefail
# shellcheck source=scripts/bootstrap.sh
source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"

VENV_EE="$KEYCLOAK_OPS_CACHE/venv-ee"
EE_IMAGE="localhost/keycloak-ops-ee:test"
ANSIBLE_PACKAGE="ansible==13.8.0"  # ships awx.awx 24.6.1 and community.general 12.6.2
EXTRA_COLLECTIONS=(awx/awx community/docker community/general community/hashi_vault kubernetes/core)

extra_collections_path() {
  local dir="$KEYCLOAK_OPS_CACHE/collections-ansible-${ANSIBLE_PACKAGE#ansible==}" python tmp collection incomplete=""
  for collection in "${EXTRA_COLLECTIONS[@]}"; do
    [ -f "$dir/ansible_collections/$collection/MANIFEST.json" ] || incomplete=yes
  done
  if [ -n "$incomplete" ]; then
    python="$VENV/bin/python"
    [ -x "$python" ] || python="$(find_python 3.13 || find_python 3.12)"
    tmp="$(mktemp -d)"
    log "${EXTRA_COLLECTIONS[*]}: from the $ANSIBLE_PACKAGE wheel (PyPI) into $dir"
    "$python" -m pip download -q --no-deps --only-binary=:all: -d "$tmp" "$ANSIBLE_PACKAGE" >&2
    rm -rf "$dir.partial"
    "$python" - "$tmp" "$dir.partial" "${EXTRA_COLLECTIONS[@]}" <<'PY'
import glob, sys, zipfile
source, dest, collections = sys.argv[1], sys.argv[2], sys.argv[3:]
prefixes = tuple("ansible_collections/%s/" % name for name in collections)
with zipfile.ZipFile(glob.glob(source + "/ansible-*.whl")[0]) as wheel:
    wheel.extractall(dest, [m for m in wheel.namelist() if m.startswith(prefixes)])
PY
    rm -rf "$tmp" "$dir"
    mv "$dir.partial" "$dir"
  fi
  echo "$dir"
}

if [ "${1:-}" = "--collections-path" ]; then
  extra_collections_path
  exit 0
fi

fail() { log "check-ee: FAILED: $*"; exit 1; }
build=""
[ "${1:-}" != "--build" ] || build=yes

python_for_ee="$(find_python 3.13 || find_python 3.12)" || { log "need Python 3.12+"; exit 1; }
ensure_venv "$VENV_EE" "$python_for_ee" "$REPO/tests/requirements-ee.txt"
export PATH="$VENV_EE/bin:$PATH"

work="$(mktemp -d "${TMPDIR:-/tmp}/keycloak_ops-ee.XXXXXX")"
trap 'rm -rf "$work"' EXIT

log "1. collection tarball from the tracked tree"
src="$work/src/ansible_collections/keycloak_ops/clients"
stage_collection "$src"
ansible-galaxy collection build --output-path "$work/dist" "$src" >/dev/null
tarball="$(ls "$work"/dist/keycloak_ops-clients-*.tar.gz)"
tar -tzf "$tarball" >"$work/members.txt"
for member in meta/execution-environment.yml requirements.txt bindep.txt; do
  grep -qx "$member" "$work/members.txt" || fail "$member is not in the built collection $(basename "$tarball")"
done
echo "$(basename "$tarball"): meta/execution-environment.yml, requirements.txt, bindep.txt"

log "2. ansible-builder create -f execution-environment.yml ($(ansible-builder --version))"
context="$work/context"
(cd "$REPO" && ansible-builder create -f execution-environment.yml --context "$context" \
   --output-filename Containerfile -v1)
containerfile="$context/Containerfile"
grep -q 'ansible-galaxy collection install .*-r requirements.yml' "$containerfile" \
  || fail "the Containerfile installs no collection from requirements.yml"
introspect_run="$(grep -E '^RUN .*/output/scripts/introspect.py introspect' "$containerfile")" \
  || fail "the Containerfile runs no introspection"
python - "$context/_build/requirements.yml" <<'PY' || fail "the build context's requirements.yml does not name keycloak_ops.clients"
import sys, yaml
collections = yaml.safe_load(open(sys.argv[1]))["collections"]
names = [c["name"] if isinstance(c, dict) else c for c in collections]
assert "keycloak_ops.clients" in names, names
print("build context: Containerfile, _build/requirements.yml ->", ", ".join(names))
PY

log "3. galaxy stage, the local tarball standing in for Galaxy"
collections="$work/usr/share/ansible/collections"
ANSIBLE_COLLECTIONS_PATH="$collections" ansible-galaxy collection install --offline --force -p "$collections" "$tarball" >/dev/null
ls -d "$collections"/ansible_collections/keycloak_ops/clients >/dev/null

log "4. builder stage: ${introspect_run#RUN }"
python "$context/_build/scripts/introspect.py" introspect \
  --write-pip="$work/requirements.txt" --write-bindep="$work/bindep.txt" "$collections" >"$work/introspect.log"
[ -s "$work/requirements.txt" ] || fail "introspection resolved no Python requirement (see meta/execution-environment.yml)"
[ -s "$work/bindep.txt" ] || fail "introspection resolved no system requirement (see meta/execution-environment.yml)"
echo "--- requirements.txt the image would install"; cat "$work/requirements.txt"
echo "--- bindep.txt the image would install"; cat "$work/bindep.txt"
expected="$(grep -E '^python-keycloak' "$REPO/requirements.txt")"
grep -Eq "^${expected//./\\.}( |#|$)" "$work/requirements.txt" \
  || fail "the resolved Python requirements do not name '$expected'"
while read -r package; do
  grep -Eq "^$package( |$)" "$work/bindep.txt" || fail "the resolved system requirements do not name $package"
done < <(grep -Ev '^\s*(#|$)' "$REPO/bindep.txt" | awk '{print $1}')
status=0
bindep -b -f "$work/bindep.txt" >/dev/null || status=$?
[ "$status" -ne 2 ] || fail "bindep cannot parse the resolved system requirements"
python -m pip install -q --dry-run --ignore-installed -r "$work/requirements.txt" \
  || fail "pip cannot resolve the Python requirements from PyPI"
echo "pip resolves them from PyPI; bindep parses them"

ansible-builder introspect "$collections" >"$work/introspect.yml"
python - "$work/introspect.yml" <<'PY' || { cat "$work/introspect.yml"; fail "ansible-builder introspect does not name python-keycloak"; }
import sys, yaml
python = yaml.safe_load(open(sys.argv[1]).read().split("\n---\n", 1)[-1])["python"]
assert any(line.startswith("python-keycloak") for line in python), python
PY
echo "--- ansible-builder introspect"; cat "$work/introspect.yml"

log "check-ee: OK (execution environment context resolves python-keycloak)"
[ -n "$build" ] || exit 0

# 5. The image itself. The published execution-environment.yml names an upstream base image and Galaxy; neither is
# reachable here, so a copy of it is built instead, changed only where it must be: the base image (Debian, built
# locally by scripts/containers.sh, with pip and apt-get), and the collection from the tarball of step 1.
# shellcheck source=scripts/containers.sh
source "$REPO/scripts/containers.sh"
ensure_container_engine
ensure_base_image
log "5. ansible-builder build of execution-environment.yml on $BASE_IMAGE, the collection from its tarball"
mkdir -p "$work/ee/collections"
cp "$tarball" "$work/ee/collections/"
python - "$REPO/execution-environment.yml" "$work/ee/execution-environment.yml" "$BASE_IMAGE" \
  "collections/$(basename "$tarball")" "$EE_IMAGE" <<'PY'
import sys, yaml
source, dest, base, tarball, tag = sys.argv[1:]
ee = yaml.safe_load(open(source))
ee["images"]["base_image"]["name"] = base
# Debian's python3 (pip from apt; Debian marks its Python as externally managed, which EE builds override).
ee["dependencies"]["python_interpreter"] = {"python_path": "/usr/bin/python3"}
ee["dependencies"]["galaxy"]["collections"] = [{"name": "/build/" + tarball, "type": "file"}]
ee["additional_build_files"] = [{"src": tarball, "dest": "collections"}]
ee["additional_build_steps"] = {
    "prepend_base": ["RUN apt-get update && apt-get install -y --no-install-recommends python3-pip python3-venv"
                     " && rm -rf /var/lib/apt/lists/*"],
    "prepend_galaxy": ["COPY _build/collections/ /build/collections/"],
}
ee["options"] = dict(ee.get("options") or {}, package_manager_path="/usr/bin/apt-get", skip_pip_install=True,
                     tags=[tag])
yaml.safe_dump(ee, open(dest, "w"), sort_keys=False)
PY
(cd "$work/ee" && ansible-builder build -f execution-environment.yml --context "$work/ee/context" \
   --container-runtime podman --extra-build-cli-args='--network=host' -v1 >"$work/ee/build.log" 2>&1) \
  || { tail -n 40 "$work/ee/build.log" >&2; fail "ansible-builder build"; }
podman run --rm --network=host "$EE_IMAGE" ansible-doc -t module keycloak_ops.clients.client_registration >/dev/null \
  || fail "the image does not hold keycloak_ops.clients"
podman run --rm --network=host "$EE_IMAGE" python3 -c 'import keycloak' || fail "the image lacks python-keycloak"
log "check-ee: image $EE_IMAGE ($(podman image inspect -f '{{.Size}}' "$EE_IMAGE" | awk '{printf "%d MB", $1/1e6}'))"
echo "$EE_IMAGE"
