"""The main paths on every Keycloak 26.x line (KEYCLOAK_LINES), one server per line, one line after another.

Each line runs keycloak_lines.yml twice: the first run provisions clients (exclusive scopes, service-account
roles, a protocol mapper), mints an initial access token and registers a client with it, and rotates a secret
with a grace period; the second declares the same clients through a counting proxy (no write may reach
Keycloak) and retires the previous secret. Where a line behaves differently, the test names the line.
Select one line with ``-k 26.4.7``.
"""
import base64
import json
import uuid

import pytest

from tests.harness.keycloak_dist import KEYCLOAK_LINES, KEYCLOAK_VERSION
from tests.integration import oidc
from tests.integration.conftest import admin_client
from tests.integration.runner import ansible_env, run_playbook

PLAYBOOK = __file__.rsplit("/", 1)[0] + "/keycloak_lines.yml"

pytestmark = pytest.mark.parametrize("keycloak_line", KEYCLOAK_LINES, indirect=True, scope="module")

# How the lines differ, each handled by the collection and checked below.
# 26.0 adds protocol mappers (Client ID/Host/IP Address) to a client with a service account; from 26.1 the
# server attaches its own 'service_account' client scope instead, which an exclusive scope list keeps.
SERVICE_ACCOUNT_SCOPE_SINCE = (26, 1)
SERVICE_ACCOUNT_MAPPERS = {"Client ID", "Client Host", "Client IP Address"}
# Creating an initial access token answers 200 up to 26.6 (26.6.4 tested) and 201 from 26.7.
IAT_CREATED_WITH_201_SINCE = (26, 7)


def line_of(server):
    version = server.version or KEYCLOAK_VERSION  # an external server may not say
    return tuple(int(part) for part in version.split(".")[:2])


@pytest.fixture(scope="module")
def line(keycloak_line):
    """(server, realm, oracle) for one line: a fresh realm holding what the declarations refer to."""
    realm = "lines-" + uuid.uuid4().hex[:8]
    admin_client(keycloak_line).create_realm({"realm": realm, "enabled": True})
    oracle = admin_client(keycloak_line, realm)
    oracle.create_realm_role({"name": "lines-reporting"})
    # As created in the console: realm default scopes attached, service account on.
    oracle.create_client({"clientId": "lines-console", "publicClient": False, "serviceAccountsEnabled": True,
                          "standardFlowEnabled": False})
    oracle.create_client({"clientId": "lines-rotated", "publicClient": False, "serviceAccountsEnabled": True,
                          "standardFlowEnabled": False})
    yield keycloak_line, realm, oracle
    admin_client(keycloak_line).delete_realm(realm)


def run_phase(phase, server, realm, out, clients_url=None):
    extra = dict(phase=phase, realm=realm, out=str(out), clients_url=clients_url or server.url, public_url=server.url)
    run = run_playbook(PLAYBOOK, ansible_env(server), extra_vars=extra)
    assert run.rc == 0, run.output[-3000:]
    return json.loads((out / ("report-%s.json" % phase)).read_text())


@pytest.fixture(scope="module")
def first_run(line, tmp_path_factory):
    server, realm, oracle = line
    old_secret = oracle.get_client_secrets(oracle.get_client_id("lines-rotated"))["value"]
    out = tmp_path_factory.mktemp("lines")
    return run_phase("first", server, realm, out), old_secret, out


def scopes_of(oracle, client_id):
    client = oracle.get_client(oracle.get_client_id(client_id))
    return set(client.get("defaultClientScopes") or []), set(client.get("optionalClientScopes") or [])


def test_the_server_runs_its_line(keycloak_line, request):
    wanted = request.node.callspec.params["keycloak_line"]
    if keycloak_line.started_by_us:
        assert keycloak_line.version == wanted


def test_clients_converge_with_what_the_line_adds(line, first_run):
    server, realm, oracle = line
    report, _old, _out = first_run
    assert report["clients"] == {"lines-worker": True, "lines-console": True, "lines-web": True}, report
    assert report["spa_changed"] is True
    server_scopes = {"service_account"} if line_of(server) >= SERVICE_ACCOUNT_SCOPE_SINCE else set()
    # Exclusive lists: exactly what was declared, plus what the server attaches to a service account by itself.
    assert scopes_of(oracle, "lines-worker") == ({"basic", "roles", "email"} | server_scopes, {"offline_access"})
    assert scopes_of(oracle, "lines-console")[0] == {"basic", "email"} | server_scopes
    # The result shows what Keycloak holds after the write (with the scope it attaches), not only what was sent.
    assert set(report["end_states"]["lines-worker"]["defaultClientScopes"]) == {"basic", "roles", "email"} | server_scopes
    mappers = {m["name"] for m in oracle.get_client(oracle.get_client_id("lines-worker"))["protocolMappers"]}
    if line_of(server) < SERVICE_ACCOUNT_SCOPE_SINCE:
        assert SERVICE_ACCOUNT_MAPPERS <= mappers, mappers
    assert report["end_states"]["lines-worker"]["protocolMappers"] == ["audience lines-web"]


def test_service_account_token_carries_roles_and_audience(line, first_run):
    server, realm, oracle = line
    worker = oracle.get_client_id("lines-worker")
    secret = oracle.get_client_secrets(worker)["value"]
    status, body = oidc.client_credentials(server, realm, "lines-worker", secret)
    assert status == 200, body
    claims = oidc_claims(body["access_token"])
    assert "lines-reporting" in claims["realm_access"]["roles"]
    assert "view-users" in claims["resource_access"]["realm-management"]["roles"]
    assert "lines-web" in ([claims["aud"]] if isinstance(claims["aud"], str) else claims["aud"])


def oidc_claims(token):
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def test_initial_access_token_and_registration(line, first_run):
    server, realm, oracle = line
    report, _old, out = first_run
    assert report["iat"] == {"changed": True, "remaining": 1}
    assert report["registered"] == "lines-self"
    assert "is used up" in report["used_up"], report["used_up"]
    registered = json.loads((out / "lines-self.json").read_text())
    status, body = oidc.client_credentials(server, realm, "lines-self", registered["secret"])
    assert status == 200, body
    # The difference the module absorbs: the status of the create.
    raw = oracle.connection.raw_post("admin/realms/%s/clients-initial-access" % realm,
                                     data=json.dumps({"count": 1, "expiration": 60}))
    assert raw.status_code == (201 if line_of(server) >= IAT_CREATED_WITH_201_SINCE else 200), raw.status_code


def test_graceful_rotation_keeps_the_old_secret(line, first_run):
    server, realm, oracle = line
    report, old_secret, _out = first_run
    assert report["graceful"] is True
    new_secret = oracle.get_client_secrets(oracle.get_client_id("lines-rotated"))["value"]
    assert new_secret != old_secret
    for secret in (old_secret, new_secret):
        status, body = oidc.client_credentials(server, realm, "lines-rotated", secret)
        assert status == 200, body


def test_second_run_writes_nothing_then_retires(line, first_run, make_counting_proxy):
    server, realm, _oracle = line
    _report, old_secret, out = first_run
    proxy = make_counting_proxy(server)
    report = run_phase("second", server, realm, out, clients_url=proxy.url)
    assert report["clients"] == {"lines-worker": False, "lines-console": False, "lines-web": False}, report
    assert report["spa_changed"] is False
    assert proxy.writes("admin") == 0, proxy.calls
    assert report["retired"] == "retired"
    status, body = oidc.client_credentials(server, realm, "lines-rotated", old_secret)
    assert status != 200 and body.get("error") == "unauthorized_client", body
