#!/usr/bin/env bash
# ansible-test integration targets against a real Keycloak from the harness (or KEYCLOAK_URL/USER/PASSWORD).
set -euo pipefail
# shellcheck source=scripts/bootstrap.sh
source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"
# A stage of its own: two runs at once (another checkout, a parallel job) must not stage over each other.
STAGE="$(mktemp -d "${TMPDIR:-/tmp}/keycloak_ops-stage-integration.XXXXXX")"
DEST="$STAGE/ansible_collections/keycloak_ops/clients"
stage_collection "$DEST"
cd "$DEST"
PYTHON_VERSION="$(python_version)"
export PYTHON_VERSION
# The harness exports KEYCLOAK_URL/USER/PASSWORD to the command; ansible-test reads targets' vars from this file.
status=0
# The harness runs from the staged copy (the working directory), the same code as the checkout's.
# shellcheck disable=SC2016 # expanded by the inner shell, with the harness's variables
python -m tests.harness.keycloak_server run -- bash -c '
  umask 077
  printf "keycloak_url: %s\nkeycloak_admin_user: %s\nkeycloak_admin_password: %s\n" \
    "$KEYCLOAK_URL" "$KEYCLOAK_USER" "$KEYCLOAK_PASSWORD" > tests/integration/integration_config.yml
  ansible-test integration --local --python "$PYTHON_VERSION" --color no "$@"' ansible-test "$@" || status=$?
rm -rf "$STAGE"
exit "$status"
