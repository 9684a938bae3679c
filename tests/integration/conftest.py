"""Fixtures of the integration tests: an admin oracle (python-keycloak, independent of our code) and realms."""
import os
import subprocess
import uuid

import pytest
from keycloak import KeycloakAdmin, KeycloakOpenIDConnection

from tests.collection_path import REPO
from tests.integration.runner import ansible_env


def admin_client(server, realm="master"):
    connection = KeycloakOpenIDConnection(
        server_url=server.url + "/", username=server.admin_user, password=server.admin_password,
        realm_name=realm, user_realm_name=server.admin_realm, verify=server.ca_path or True,
        cert=getattr(server, "requests_cert", None))
    return KeycloakAdmin(connection=connection)


def new_realm(server, prefix="t"):
    """Create a fresh realm; return its name."""
    name = "%s-%s" % (prefix, uuid.uuid4().hex[:8])
    admin_client(server).create_realm({"realm": name, "enabled": True})
    return name


def service_account(oracle, client_id, roles):
    """A confidential client whose service account holds these realm-management roles; returns its secret."""
    oracle.create_client({"clientId": client_id, "publicClient": False, "serviceAccountsEnabled": True,
                          "standardFlowEnabled": False, "directAccessGrantsEnabled": False})
    uuid = oracle.get_client_id(client_id)
    user = oracle.get_client_service_account_user(uuid)
    realm_management = oracle.get_client_id("realm-management")
    oracle.assign_client_role(user["id"], realm_management,
                              [oracle.get_client_role(realm_management, name) for name in roles])
    return oracle.get_client_secrets(uuid)["value"]


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


@pytest.fixture(scope="session")
def extra_collections():
    """A collections path with the other collections used here (awx.awx, community.general,
    community.hashi_vault, kubernetes.core), fetched once into the cache by scripts/check-ee.sh."""
    completed = subprocess.run(["bash", os.path.join(REPO, "scripts", "check-ee.sh"), "--collections-path"],
                               capture_output=True, text=True, timeout=600, check=False)
    assert completed.returncode == 0, completed.stderr
    return completed.stdout.strip()
