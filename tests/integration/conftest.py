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
    client_uuid = oracle.get_client_id(client_id)
    user = oracle.get_client_service_account_user(client_uuid)
    realm_management = oracle.get_client_id("realm-management")
    oracle.assign_client_role(user["id"], realm_management,
                              [oracle.get_client_role(realm_management, name) for name in roles])
    return oracle.get_client_secrets(client_uuid)["value"]


LIMITED_PASSWORD = "Limited-password-1"


def limited_user(oracle, roles):
    """A new user of the oracle's realm holding only these realm-management roles; its connection options."""
    username = "limited-%s" % uuid.uuid4().hex[:8]
    management = oracle.get_client_id("realm-management")
    user_id = oracle.create_user({"username": username, "enabled": True, "firstName": "limited", "lastName": "user",
                                  "email": username + "@example.com", "emailVerified": True,
                                  "credentials": [{"type": "password", "value": LIMITED_PASSWORD, "temporary": False}]})
    if roles:
        oracle.assign_client_role(user_id, management, [oracle.get_client_role(management, r) for r in roles])
    return dict(auth_realm=oracle.connection.realm_name, auth_username=username, auth_password=LIMITED_PASSWORD)


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
