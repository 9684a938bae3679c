"""Retries of the connection layer, against a loopback HTTP server that fails on purpose.

Keycloak itself never answers 503 on demand, so a small server stands in for a reverse proxy in front of it.
"""
import http.server
import json
import threading
import time

import pytest

from ansible_collections.keycloak_ops.clients.plugins.module_utils.connection import (
    KeycloakAPI, KeycloakOpsError, keycloak_argument_spec,
)


class FlakyHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
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
    params = dict((name, spec.get("default")) for name, spec in keycloak_argument_spec().items())
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
