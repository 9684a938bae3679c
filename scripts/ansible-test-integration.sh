#!/usr/bin/env bash
# ansible-test integration targets against a real Keycloak from the harness (or KEYCLOAK_URL/USER/PASSWORD).
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STAGE="${TMPDIR:-/tmp}/keycloak_ops-stage-integration"
DEST="$STAGE/ansible_collections/keycloak_ops/clients"
rm -rf "$STAGE"
mkdir -p "$DEST"
(cd "$REPO" && git ls-files -z --cached --others --exclude-standard | tar --null -T - -cf - | tar -xf - -C "$DEST")
cd "$DEST"
# The harness exports KEYCLOAK_URL/USER/PASSWORD to the command; ansible-test reads targets' vars from this file.
# shellcheck disable=SC2016 # expanded by the inner shell, with the harness's variables
exec python "$REPO/roles/keycloak_dev/files/keycloak_server.py" run -- bash -c '
  umask 077
  printf "keycloak_url: %s\nkeycloak_admin_user: %s\nkeycloak_admin_password: %s\n" \
    "$KEYCLOAK_URL" "$KEYCLOAK_USER" "$KEYCLOAK_PASSWORD" > tests/integration/integration_config.yml
  ansible-test integration --local --python 3.13 --color no "$@"' ansible-test "$@"
