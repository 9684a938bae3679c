"""The modules against the previous Keycloak minor line (KEYCLOAK_PREVIOUS_VERSION), started by the harness.

The rest of the suite runs on the pinned newest 26.x; these tests keep the main paths honest on the line before
it, where Keycloak differs in ways the modules must absorb (an initial access token is created with 200, not 201).
"""
import json

import pytest

from tests.harness.keycloak_server import KEYCLOAK_PREVIOUS_VERSION
from tests.integration import oidc
from tests.integration.conftest import admin_client, new_realm
from tests.integration.runner import ansible_env, run_module

SERVICE = {"publicClient": False, "serviceAccountsEnabled": True, "standardFlowEnabled": False}


@pytest.fixture(scope="module")
def previous(keycloak_previous):
    realm = new_realm(keycloak_previous, prefix="compat")
    yield keycloak_previous, realm
    admin_client(keycloak_previous).delete_realm(realm)


def ok(run):
    assert run.rc == 0, run.output[-3000:]
    return run.result


def test_server_is_the_previous_line(previous):
    server, _realm = previous
    assert server.version == KEYCLOAK_PREVIOUS_VERSION


def test_clients_converge_and_a_rerun_sends_no_write(previous, make_counting_proxy):
    server, realm = previous
    env = ansible_env(server)
    confidential = dict(realm=realm, clients=[
        dict(client_id="compat-worker", preset="service", default_client_scopes=["profile", "email"]),
        dict(client_id="compat-web", preset="web", root_url="http://localhost:5000",
             redirect_uris=["http://localhost:5000/*"]),
    ])
    spa = dict(realm=realm, client_id="compat-spa", preset="spa", redirect_uris=["http://localhost:3000/*"])
    assert ok(run_module("confidential_client", confidential, env))["changed"] is True
    assert ok(run_module("public_client", spa, env))["changed"] is True

    proxy = make_counting_proxy(server)
    proxied = dict(env, KEYCLOAK_URL=proxy.url)
    assert ok(run_module("confidential_client", confidential, proxied))["changed"] is False
    assert ok(run_module("public_client", spa, proxied))["changed"] is False
    assert proxy.writes("admin") == 0, proxy.calls

    secret = ok(run_module("client_secret_info", dict(realm=realm, client_id="compat-worker"), env))["secret"]
    status, body = oidc.client_credentials(server, realm, "compat-worker", secret)
    assert status == 200, body


def test_initial_access_token_created_with_200_then_used_up(previous, tmp_path):
    server, realm = previous
    # The difference this test is about: this line answers the create with 200 (26.7 answers 201).
    raw = admin_client(server, realm).connection.raw_post(
        "admin/realms/%s/clients-initial-access" % realm, data=json.dumps({"count": 1, "expiration": 60}))
    assert raw.status_code == 200, raw.status_code
    iat = ok(run_module("initial_access_token", dict(realm=realm, state="present", count=1, expiration="10m"),
                        ansible_env(server)))
    assert iat["changed"] is True and iat["token"] and iat["remaining"] == 1
    host_env = ansible_env(None, KEYCLOAK_URL=server.url)
    first = run_module("client_registration", dict(realm=realm, credentials_file=str(tmp_path / "a.json"),
                                                   initial_access_token=iat["token"], client_id="compat-self",
                                                   metadata=SERVICE), host_env)
    registered = ok(first)
    status, body = oidc.client_credentials(server, realm, registered["client_id"], registered_secret(tmp_path / "a.json"))
    assert status == 200, body
    second = run_module("client_registration", dict(realm=realm, credentials_file=str(tmp_path / "b.json"),
                                                    initial_access_token=iat["token"], client_id="compat-other"),
                        host_env)
    assert second.rc != 0 and "is used up" in second.result["msg"], second.output[-3000:]


def registered_secret(path):
    """The secret client_registration stored on the host (its credentials file)."""
    with open(str(path)) as handle:
        return json.load(handle)["secret"]


def test_graceful_rotation_keeps_the_old_secret_until_retired(previous):
    server, realm = previous
    env = ansible_env(server)
    oracle = admin_client(server, realm)
    oracle.create_client(dict(SERVICE, clientId="compat-rotated"))
    old = oracle.get_client_secrets(oracle.get_client_id("compat-rotated"))["value"]
    rotated = ok(run_module("client_secret", dict(realm=realm, client_id="compat-rotated", grace_period="1h"), env))
    assert rotated["graceful"] is True
    for secret in (old, rotated["secret"]):
        status, body = oidc.client_credentials(server, realm, "compat-rotated", secret)
        assert status == 200, body
    ok(run_module("client_secret", dict(realm=realm, client_id="compat-rotated", state="retired"), env))
    status, body = oidc.client_credentials(server, realm, "compat-rotated", old)
    assert status != 200 and body.get("error") == "unauthorized_client", body
