#!/usr/bin/env bash
# Render the collection's module, plugin and role documentation to HTML with antsibull-docs and Sphinx
# (a collection docsite, as `antsibull-docs sphinx-init --use-current` lays it out), offline but for PyPI.
#
#   scripts/docs.sh [DEST]     default DEST: $KEYCLOAK_OPS_CACHE/docs-site (outside the repo)
#
# Before rendering, `antsibull-docs lint-collection-docs --plugin-docs` and `antsibull-changelog lint` must
# pass. Tools come from tests/requirements-ee.txt (venv-ee). The tracked tree is staged as
# ansible_collections/keycloak_ops/clients, so what is rendered is what would be committed. The result is
# DEST/build/html/index.html.
set -euo pipefail
# shellcheck source=scripts/bootstrap.sh
source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"

VENV_EE="$KEYCLOAK_OPS_CACHE/venv-ee"
DEST="$(realpath -m "${1:-$KEYCLOAK_OPS_CACHE/docs-site}")"
case "$DEST/" in "$REPO"/*) log "docs: $DEST is inside the repository; give a directory outside it"; exit 2 ;; esac

python_for_ee="$(find_python 3.13 || find_python 3.12)" || { log "need Python 3.12+"; exit 1; }
ensure_venv "$VENV_EE" "$python_for_ee" "$REPO/tests/requirements-ee.txt"
export PATH="$VENV_EE/bin:$PATH"

work="$(mktemp -d "${TMPDIR:-/tmp}/keycloak_ops-docs.XXXXXX")"
trap 'rm -rf "$work"' EXIT
collection="$work/ansible_collections/keycloak_ops/clients"
stage_collection "$collection"
# Only the staged collection (and ansible.builtin, from ansible-core) is documented and linked to.
export ANSIBLE_COLLECTIONS_PATH="$work" ANSIBLE_HOME="$work/.ansible"

log "antsibull-docs lint-collection-docs --plugin-docs ($(antsibull-docs --version | head -1))"
(cd "$collection" && antsibull-docs lint-collection-docs --plugin-docs --validate-collection-refs all \
   --check-extra-docs-refs .)

log "antsibull-changelog lint ($(antsibull-changelog --version | head -1))"
(cd "$collection" && antsibull-changelog lint)

log "antsibull-docs sphinx-init --use-current keycloak_ops.clients -> $DEST"
rm -rf "$DEST"
mkdir -p "$DEST"
antsibull-docs sphinx-init --use-current --fail-on-error --dest-dir "$DEST" \
  --project keycloak_ops.clients --title "keycloak_ops.clients" --html-short-title "keycloak_ops.clients" \
  --copyright "keycloak_ops contributors" keycloak_ops.clients >/dev/null
# Offline: Sphinx fetches no inventory of other sites. The two labels of the Ansible docsite that generated
# pages refer to become plain links to it instead.
printf '\n# scripts/docs.sh: offline build, no inventories fetched.\nintersphinx_mapping = {}\n' >>"$DEST/conf.py"

log "antsibull-docs collection (RST), then sphinx-build -W"
cd "$DEST"
mkdir -p rst
chmod og-w rst
antsibull-docs --config-file antsibull-docs.cfg collection --cleanup everything --fail-on-error --use-current \
  --dest-dir rst keycloak_ops.clients
cat >rst/ansible_docsite.rst <<'RST'
:orphan:

Ansible documentation
=====================

.. _ansible_configuration_settings:

Ansible configuration settings
------------------------------

See `Ansible Configuration Settings <https://docs.ansible.com/ansible/latest/reference_appendices/config.html>`_.

.. _common_return_values:

Common return values
--------------------

See `Return Values <https://docs.ansible.com/ansible/latest/reference_appendices/common_return_values.html>`_.
RST
sphinx-build -M html rst build -c . -W --keep-going -q

pages="$(find build/html/collections/keycloak_ops/clients -name '*.html' | wc -l)"
[ "$pages" -gt 0 ] || { log "docs: no page rendered"; exit 1; }
log "docs: $pages pages, $DEST/build/html/index.html"
