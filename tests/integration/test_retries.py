"""Retries of the connection layer: only requests that are safe to send twice are sent twice.

Keycloak itself never answers 503 on demand, so a small loopback server stands in for a reverse proxy in front of it;
lost answers to writes are provoked by the counting proxy in front of the real Keycloak.
"""
import contextlib
import http.client
import http.server
import json
import os
import socket
import ssl
import threading
import time
import urllib.parse

import pytest

from ansible_collections.keycloak_ops.clients.plugins.module_utils._core.connection import KeycloakAPI
from ansible_collections.keycloak_ops.clients.plugins.module_utils._core.errors import KeycloakOpsError, OutcomeUnknown
from ansible_collections.keycloak_ops.clients.plugins.module_utils._core.connection_options import keycloak_argument_spec
from ansible_collections.keycloak_ops.clients.plugins.module_utils._registration.service import RegistrationService
from tests.harness.tls_material import make_certs
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


@contextlib.contextmanager
def serving(server):
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def flaky():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), FlakyHandler)
    server.hits, server.statuses = 0, []
    with serving(server):
        yield server


def api_at(url, **given):
    """A session with an opaque token (never checked by the stand-in servers) and these connection options."""
    params = {name: spec.get("default") for name, spec in keycloak_argument_spec().items()}
    params.update(auth_keycloak_url=url, token="opaque-test-token", **given)
    return KeycloakAPI(params)


def api_for(server):
    return api_at("http://127.0.0.1:%d" % server.server_address[1])


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
    with pytest.raises(KeycloakOpsError, match="Connection refused") as caught:
        api_at("http://127.0.0.1:%d" % port).post("admin/realms/r/clients", {"clientId": "x"})
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


def rotated_client(oracle, realm, env, client_id):
    """A client whose policy keeps the previous secret as the rotated one: (uuid, its secret). After exactly one
    regeneration, the rotated secret is this one."""
    oracle.create_client({"clientId": client_id, "publicClient": False, "serviceAccountsEnabled": True})
    uuid = oracle.get_client_id(client_id)
    setup = run_module("client_secret", dict(realm=realm, client_id=client_id, grace_period="1h", max_age="3650d"), env)
    assert setup.rc == 0 and setup.result["action"] == "none", setup.output
    return uuid, oracle.get_client_secrets(uuid)["value"]


def assert_regenerated_once(oracle, realm, uuid, original, calls):
    assert [c for c in calls if c[0] == "POST" and "/client-secret" in c[1]] == \
        [("POST", "/admin/realms/%s/clients/%s/client-secret" % (realm, uuid))], "one regeneration request"
    current = oracle.get_client_secrets(uuid)["value"]
    rotated = oracle.connection.raw_get("admin/realms/%s/clients/%s/client-secret/rotated" % (realm, uuid)).json()
    assert current != original, "Keycloak did regenerate"
    assert rotated["value"] == original, "once: the kept previous secret is the original, not an in-between one"


def test_lost_answer_to_a_regeneration_regenerates_once(realm, oracle, env, dropping_proxy):
    uuid, original = rotated_client(oracle, realm, env, "lost-rotation")
    dropping_proxy.drop_response("POST", "/client-secret")
    run = run_module("client_secret", dict(realm=realm, client_id="lost-rotation"),
                     dict(env, KEYCLOAK_URL=dropping_proxy.url))
    msg = one_line_failure(run, "is unknown", "client_secret_info")
    print("\nlost regeneration answer: " + msg)
    assert_regenerated_once(oracle, realm, uuid, original, dropping_proxy.calls)


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


# -- a TLS stream that breaks after the request was read ------------------------------------------------


class TlsBreakingHandler(http.server.BaseHTTPRequestHandler):
    """Reads each request whole; then either relays it to the upstream Keycloak, or (for the requests the server
    is told to break) relays it and, instead of the answer, writes a TLS record that cannot be decrypted."""
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def _handle(self):
        server = self.server
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with server.lock:
            server.received.append((self.command, self.path))
            breaks = any(self.command == method and part in self.path for method, part in server.breaks)
        answer = self._relay(body) if server.upstream else None
        if breaks or answer is None:
            # A record with a valid header and garbage inside: the client's TLS layer fails while reading the answer.
            os.write(self.connection.fileno(), b"\x17\x03\x03\x00\x20" + os.urandom(32))
            self.close_connection = True
            return
        status, headers, content = answer
        self.send_response(status)
        for name, value in headers:
            if name.lower() not in ("transfer-encoding", "connection", "content-length"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(content)))
        self.end_headers()
        self.wfile.write(content)

    def _relay(self, body):
        upstream = urllib.parse.urlsplit(self.server.upstream)
        connection = http.client.HTTPConnection(upstream.netloc, timeout=30)
        try:
            headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
            connection.request(self.command, self.path, body=body or None, headers=headers)
            response = connection.getresponse()
            return response.status, response.getheaders(), response.read()
        finally:
            connection.close()

    do_GET = do_POST = do_PUT = do_DELETE = _handle


@pytest.fixture(scope="module")
def tls_certs(tmp_path_factory):
    return make_certs(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def tls_breaker(tls_certs):
    """https://localhost:<port> with the harness CA; .received lists (method, path) of every request read."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(tls_certs["server.pem"]), str(tls_certs["server.key"]))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), TlsBreakingHandler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    server.daemon_threads = True
    server.lock, server.received, server.breaks, server.upstream = threading.Lock(), [], [], None
    server.url = "https://localhost:%d" % server.server_address[1]
    server.ca_path = str(tls_certs["ca.pem"])
    with serving(server):
        yield server


def tls_api(server):
    return api_at(server.url, ca_path=server.ca_path)


def test_post_whose_answer_breaks_in_tls_is_sent_once_and_its_outcome_unknown(tls_breaker):
    with pytest.raises(OutcomeUnknown) as caught:
        tls_api(tls_breaker).post("admin/realms/r/clients/c/client-secret",
                                  check_hint="read the secret with client_secret_info")
    assert tls_breaker.received == [("POST", "/admin/realms/r/clients/c/client-secret")], "sent exactly once"
    message = str(caught.value)
    assert "is unknown" in message and "client_secret_info" in message and "TLS error" in message, message
    assert "TLS verification failed" not in message and "\n" not in message


def test_get_whose_answer_breaks_in_tls_is_retried_once_and_not_blamed_on_verification(tls_breaker):
    with pytest.raises(KeycloakOpsError) as caught:
        tls_api(tls_breaker).get("admin/realms/r/clients")
    assert [c[0] for c in tls_breaker.received] == ["GET", "GET"], "a read may be sent again, as after a lost answer"
    assert "TLS connection" in str(caught.value) and "ca_path" not in str(caught.value)


def test_tls_handshake_failure_still_names_the_ca_option(tls_breaker):
    with pytest.raises(KeycloakOpsError, match="TLS verification failed.*ca_path") as caught:
        api_at(tls_breaker.url).post("admin/realms/r/clients", {"clientId": "x"})  # no ca_path: an untrusted CA
    assert not isinstance(caught.value, OutcomeUnknown) and tls_breaker.received == []


def test_registration_whose_answer_breaks_in_tls_is_sent_once(tls_breaker):
    service = RegistrationService(dict(auth_keycloak_url=tls_breaker.url, ca_path=tls_breaker.ca_path,
                                       validate_certs=True), "r", "default")
    with pytest.raises(OutcomeUnknown, match="is unknown"):
        service.create("initial-access-token", {"clientId": "broken-tls"})
    assert tls_breaker.received == [("POST", "/realms/r/clients-registrations/default")]


def test_regeneration_whose_answer_breaks_in_tls_regenerates_once(keycloak, realm, oracle, env, tls_breaker):
    """The module through a TLS endpoint in front of the real Keycloak: the regeneration reaches Keycloak, its answer
    breaks in TLS, and the task says the outcome is unknown instead of sending it again."""
    uuid, original = rotated_client(oracle, realm, env, "tls-rotation")
    tls_breaker.upstream = keycloak.url
    tls_breaker.breaks = [("POST", "/client-secret")]
    run = run_module("client_secret", dict(realm=realm, client_id="tls-rotation"),
                     dict(env, KEYCLOAK_URL=tls_breaker.url, KEYCLOAK_CA_PATH=tls_breaker.ca_path))
    msg = one_line_failure(run, "is unknown", "client_secret_info")
    print("\nTLS stream broken in the regeneration answer: " + msg)
    assert "TLS verification failed" not in msg, msg
    assert_regenerated_once(oracle, realm, uuid, original, tls_breaker.received)
