#!/usr/bin/env bash
# ansible-test sanity on a staged copy of the tracked tree (ansible-test wants ansible_collections/NS/NAME).
set -euo pipefail
# shellcheck source=scripts/bootstrap.sh
source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"
PYTHON_VERSION="${1:-$(python_version)}"
# A stage of its own: two runs at once (another checkout, a parallel job) must not stage over each other.
STAGE="$(mktemp -d "${TMPDIR:-/tmp}/keycloak_ops-stage.XXXXXX")"
DEST="$STAGE/ansible_collections/keycloak_ops/clients"
trap 'rm -rf "$STAGE"' EXIT
stage_collection "$DEST"
# ansible-test fetches get-pip.py from a host outside the reachable registries; seed its cache with our stand-in.
pip_version="$(grep -oP "pip='\K[0-9.]+" "$(python -c 'import ansible_test, os; print(os.path.dirname(ansible_test.__file__))')/_internal/python_requirements.py" | head -1)"
cache="$HOME/.ansible/test/cache/get_pip_${pip_version//./_}.py"
mkdir -p "$(dirname "$cache")"
[ -f "$cache" ] || cp "$REPO/tests/sanity/get_pip_offline.py" "$cache"
cd "$DEST"
log="$STAGE/sanity.log"
status=0
ansible-test sanity --requirements --python "$PYTHON_VERSION" --color no >"$log" 2>&1 || status=$?
# pip output of the per-test venvs drowns the findings; show the findings only.
grep -E '^(Running sanity test|ERROR|FATAL|WARNING)' "$log" || true
exit "$status"
