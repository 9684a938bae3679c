"""Fixtures of the integration tests: an admin oracle (python-keycloak, independent of our code) and realms."""
import uuid

import pytest
from keycloak import KeycloakAdmin, KeycloakOpenIDConnection

from tests.integration.runner import ansible_env


def admin_client(server, realm="master"):
    connection = KeycloakOpenIDConnection(
        server_url=server.url + "/", username=server.admin_user, password=server.admin_password,
        realm_name=realm, user_realm_name=server.admin_realm, verify=server.ca_path or True)
    return KeycloakAdmin(connection=connection)


def new_realm(server, prefix="t"):
    """Create a fresh realm; return its name."""
    name = "%s-%s" % (prefix, uuid.uuid4().hex[:8])
    admin_client(server).create_realm({"realm": name, "enabled": True})
    return name


@pytest.fixture(scope="module")
def realm(keycloak):
    name = new_realm(keycloak)
    yield name
    admin_client(keycloak).delete_realm(name)


@pytest.fixture(scope="module")
def oracle(keycloak, realm):
    """python-keycloak admin bound to the test realm: how tests look at Keycloak without our code."""
    return admin_client(keycloak, realm)


@pytest.fixture
def env(keycloak):
    return ansible_env(keycloak)
