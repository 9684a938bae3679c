"""Shared test setup: the collection on an importable path, and the real-Keycloak fixtures."""
import os
import sys

import pytest

from tests.collection_path import collections_root

pytest_plugins = ["tests.harness.pytest_plugin"]


def pytest_configure(config):
    # Unit tests import the collection as ansible_collections.keycloak_ops.clients, as Ansible does.
    root = collections_root()
    if root not in sys.path:
        sys.path.insert(0, root)
    os.environ["ANSIBLE_COLLECTIONS_PATH"] = root


@pytest.fixture(scope="session")
def collections_path():
    return collections_root()
