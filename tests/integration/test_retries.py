"""Retries of the connection layer: only requests that are safe to send twice are sent twice.

Keycloak itself never answers 503 on demand, so a small loopback server stands in for a reverse proxy in front of it;
lost answers to writes are provoked by the counting proxy in front of the real Keycloak.
"""
import http.server
import json
import socket
import threading
import time

import pytest

from ansible_collections.keycloak_ops.clients.plugins.module_utils._connection import (
    KeycloakAPI, KeycloakOpsError, OutcomeUnknown,
)
from ansible_collections.keycloak_ops.clients.plugins.module_utils._connection_options import keycloak_argument_spec
from tests.integration.runner import run_module


class FlakyHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        self._answer()

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self._answer()

    def _answer(self):
        server = self.server
        server.hits += 1
        status = server.statuses.pop(0) if server.statuses else 200
        body = json.dumps([{"clientId": "x"}] if status == 200 else {"error": "unavailable"}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def flaky():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), FlakyHandler)
    server.hits, server.statuses = 0, []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def api_for(server):
    params = {name: spec.get("default") for name, spec in keycloak_argument_spec().items()}
    params.update(auth_keycloak_url="http://127.0.0.1:%d" % server.server_address[1], token="opaque-test-token")
    return KeycloakAPI(params)


@pytest.mark.parametrize("status", [502, 503, 504])
def test_gateway_errors_are_retried(flaky, status):
    flaky.statuses = [status, status]
    assert api_for(flaky).get("admin/realms/r/clients") == [{"clientId": "x"}]
    assert flaky.hits == 3


def test_retries_are_bounded_in_count_and_time(flaky):
    flaky.statuses = [503] * 10
    started = time.monotonic()
    with pytest.raises(KeycloakOpsError, match="HTTP 503"):
        api_for(flaky).get("admin/realms/r/clients")
    assert flaky.hits == 4, "one try and three retries"
    assert time.monotonic() - started < 10


def test_post_is_not_retried_on_a_gateway_error(flaky):
    """A 502/503/504 to a POST may come after Keycloak acted: it is reported, never sent again."""
    flaky.statuses = [503]
    with pytest.raises(KeycloakOpsError, match="HTTP 503"):
        api_for(flaky).post("admin/realms/r/clients", {"clientId": "x"})
    assert flaky.hits == 1


def test_post_is_retried_when_the_connection_was_refused():
    """Connection refused: the request never left, so sending it again cannot do anything twice."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    params = {name: spec.get("default") for name, spec in keycloak_argument_spec().items()}
    params.update(auth_keycloak_url="http://127.0.0.1:%d" % port, token="opaque-test-token")
    with pytest.raises(KeycloakOpsError, match="Connection refused") as caught:
        KeycloakAPI(params).post("admin/realms/r/clients", {"clientId": "x"})
    assert not isinstance(caught.value, OutcomeUnknown)


# -- a lost answer to a write, through a proxy in front of the real Keycloak ----------------------------


def one_line_failure(run, *parts):
    assert run.rc != 0, run.output
    msg = run.result["msg"]
    assert "\n" not in msg and "Traceback" not in run.output, run.output
    for part in parts:
        assert part in msg, msg
    return msg


@pytest.fixture
def dropping_proxy(keycloak, make_counting_proxy):
    return make_counting_proxy(keycloak)


def test_lost_answer_to_a_regeneration_regenerates_once(realm, oracle, env, dropping_proxy):
    oracle.create_client({"clientId": "lost-rotation", "publicClient": False, "serviceAccountsEnabled": True})
    uuid = oracle.get_client_id("lost-rotation")
    # The policy keeps the previous secret as the rotated one: after exactly one regeneration it is the original.
    setup = run_module("client_secret", dict(realm=realm, client_id="lost-rotation", grace_period="1h",
                                             max_age="3650d"), env)
    assert setup.rc == 0 and setup.result["action"] == "none", setup.output
    original = oracle.get_client_secrets(uuid)["value"]

    dropping_proxy.drop_response("POST", "/client-secret")
    run = run_module("client_secret", dict(realm=realm, client_id="lost-rotation"),
                     dict(env, KEYCLOAK_URL=dropping_proxy.url))
    msg = one_line_failure(run, "is unknown", "client_secret_info")
    print("\nlost regeneration answer: " + msg)
    assert [c for c in dropping_proxy.calls if c[0] == "POST" and "/client-secret" in c[1]] == \
        [("POST", "/admin/realms/%s/clients/%s/client-secret" % (realm, uuid))], "one regeneration request"
    current = oracle.get_client_secrets(uuid)["value"]
    rotated = oracle.connection.raw_get("admin/realms/%s/clients/%s/client-secret/rotated" % (realm, uuid)).json()
    assert current != original, "Keycloak did regenerate"
    assert rotated["value"] == original, "once: the kept previous secret is the original, not an in-between one"


def test_lost_answer_to_an_initial_access_token_mints_one(realm, oracle, env, dropping_proxy):
    path = "admin/realms/%s/clients-initial-access" % realm
    before = len(oracle.connection.raw_get(path).json())
    dropping_proxy.drop_response("POST", "/clients-initial-access")
    run = run_module("initial_access_token", dict(realm=realm, state="present"), dict(env, KEYCLOAK_URL=dropping_proxy.url))
    one_line_failure(run, "is unknown", "revoke")
    assert dropping_proxy.counts("admin").get("POST") == 1
    assert len(oracle.connection.raw_get(path).json()) == before + 1, "exactly one token minted"


def test_lost_answer_to_a_client_creation_creates_one_and_a_rerun_converges(realm, oracle, env, dropping_proxy):
    proxied = dict(env, KEYCLOAK_URL=dropping_proxy.url)
    args = dict(realm=realm, client_id="lost-create", preset="service")
    dropping_proxy.drop_response("POST", "/admin/realms/%s/clients" % realm)
    run = run_module("confidential_client", args, proxied)
    one_line_failure(run, "is unknown", "client 'lost-create'")
    assert dropping_proxy.counts("admin").get("POST") == 1
    assert len(oracle.get_clients()) == len([c for c in oracle.get_clients() if c["clientId"] != "lost-create"]) + 1
    again = run_module("confidential_client", args, proxied)
    assert again.rc == 0, again.output
    assert dropping_proxy.counts("admin").get("POST") == 1, "the re-run finds the client and creates nothing"


def test_lost_answer_to_a_registration_registers_once(keycloak, realm, oracle, env, dropping_proxy, tmp_path):
    """client_registration (ansible.module_utils.urls on the host) never sends a registration twice either."""
    minted = run_module("initial_access_token", dict(realm=realm, state="present", count=2), env)
    assert minted.rc == 0, minted.output
    dropping_proxy.drop_response("POST", "/clients-registrations/")
    run = run_module("client_registration",
                     dict(realm=realm, client_id="lost-registration", credentials_file=str(tmp_path / "client.json"),
                          initial_access_token=minted.result["token"]),
                     dict(env, KEYCLOAK_URL=dropping_proxy.url))
    msg = one_line_failure(run, "is unknown", "registration_access_token", "lost-registration")
    print("\nlost registration answer: " + msg)
    assert [c[0] for c in dropping_proxy.calls if "/clients-registrations/" in c[1]] == ["POST"], "sent once"
    assert [c["clientId"] for c in oracle.get_clients()].count("lost-registration") == 1, "registered once"
    assert minted.result["token"] not in run.output
