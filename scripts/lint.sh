#!/usr/bin/env bash
# ruff over every Python file; pylint and mypy over the plugins, imported as Ansible imports them
# (ansible_collections.keycloak_ops.clients). Settings in pyproject.toml. Needs the test venv on PATH.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo="$PWD"
collections_root="$(python tests/collection_path.py)"

echo "ruff $(ruff --version | cut -d' ' -f2)"
ruff check --no-cache --output-format concise .

echo "pylint $(python -m pylint --version | head -n 1 | cut -d' ' -f2), plugins"
(cd "$collections_root/ansible_collections/keycloak_ops/clients" &&
  PYTHONPATH="$collections_root" python -m pylint --rcfile "$repo/pyproject.toml" --score=n plugins)

echo "mypy $(mypy --version | cut -d' ' -f2), plugins"
(cd "$collections_root" &&
  mypy --config-file "$repo/pyproject.toml" --cache-dir=/dev/null ansible_collections/keycloak_ops/clients/plugins)
