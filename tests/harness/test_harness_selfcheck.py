"""Fast checks that the Keycloak test harness itself works (fixtures from pytest_plugin)."""

from __future__ import annotations

import requests

from .counting_proxy import CountingProxy
from .tls_material import make_certs

KEYCLOAK_VERSION = "26.7.5"  # keep in step with keycloak_dist.KEYCLOAK_VERSION


def admin_token(server, session=None, base=None, **kwargs) -> str:
    http = session or requests
    resp = http.post(
        f"{base or server.url}/realms/{server.admin_realm}/protocol/openid-connect/token",
        data={"grant_type": "password", "client_id": "admin-cli",
              "username": server.admin_user, "password": server.admin_password},
        timeout=30, **kwargs,
    )
    resp.raise_for_status()
    return resp.json()["access_token"]


def test_plain_server_ready_and_admin_token(keycloak):
    if keycloak.started_by_us:
        assert keycloak.url.startswith("http://127.0.0.1:") and not keycloak.url.endswith("/")
        health = requests.get(f"{keycloak.management_url}/health/ready", timeout=10)
        assert health.status_code == 200 and health.json()["status"] == "UP"
        assert keycloak.version == KEYCLOAK_VERSION
    token = admin_token(keycloak, verify=keycloak.ca_path or True)
    info = requests.get(f"{keycloak.url}/admin/serverinfo", headers={"Authorization": f"Bearer {token}"},
                        timeout=30, verify=keycloak.ca_path or True)
    assert info.status_code == 200
    assert info.json()["systemInfo"]["version"] == keycloak.version
    if keycloak.started_by_us:
        assert "CLIENT_SECRET_ROTATION" in {f["name"] for f in info.json()["features"] if f["enabled"]}


def test_tls_server_needs_the_ca(keycloak_tls):
    url = f"{keycloak_tls.url}/realms/master"
    assert url.startswith("https://localhost:")
    try:
        requests.get(url, timeout=10, verify=True)  # system CAs only
    except requests.exceptions.SSLError:
        pass
    else:
        raise AssertionError("TLS server was trusted without its CA")
    assert requests.get(url, timeout=10, verify=keycloak_tls.ca_path).status_code == 200
    assert admin_token(keycloak_tls, verify=keycloak_tls.ca_path)
    # mTLS: the server asks for a client certificate and trusts ones from its CA.
    resp = requests.get(url, timeout=10, verify=keycloak_tls.ca_path,
                        cert=(keycloak_tls.client_cert, keycloak_tls.client_key))
    assert resp.status_code == 200
    assert requests.get(f"{keycloak_tls.management_url}/health/ready", timeout=10,
                        verify=keycloak_tls.ca_path).status_code == 200


def test_relative_path_server(keycloak_prefixed, make_counting_proxy):
    assert keycloak_prefixed.url.endswith("/auth")
    assert admin_token(keycloak_prefixed)
    root = keycloak_prefixed.url[: -len("/auth")]
    assert requests.get(f"{root}/realms/master", timeout=10).status_code == 404
    # The proxy keeps the upstream's path in the URL it hands out.
    proxy = make_counting_proxy(keycloak_prefixed)
    assert proxy.url.endswith("/auth")
    assert admin_token(keycloak_prefixed, base=proxy.url)
    assert proxy.counts("token") == {"POST": 1}


def test_counting_proxy_counts_reads_and_writes(keycloak, counting_proxy):
    with requests.Session() as session:  # keep-alive through the proxy
        token = admin_token(keycloak, session=session, base=counting_proxy.url)
        auth = {"Authorization": f"Bearer {token}"}
        for _attempt in range(3):
            resp = session.get(f"{counting_proxy.url}/admin/realms/{keycloak.admin_realm}/clients",
                               params={"clientId": "admin-cli"}, headers=auth, timeout=30)
            assert resp.status_code == 200 and len(resp.json()) == 1
        assert session.head(f"{counting_proxy.url}/realms/{keycloak.admin_realm}", timeout=10).status_code == 200
    assert counting_proxy.counts() == {"POST": 1, "GET": 3, "HEAD": 1}
    assert counting_proxy.counts("admin") == {"GET": 3}
    assert counting_proxy.writes("token") == 1 and counting_proxy.reads("token") == 0
    assert counting_proxy.writes("admin") == 0 and counting_proxy.reads("admin") == 3
    assert counting_proxy.calls[0][0] == "POST" and counting_proxy.calls[0][1].endswith("/openid-connect/token")
    counting_proxy.reset()
    assert counting_proxy.counts() == {} and counting_proxy.total() == 0


def test_counting_proxy_injects_faults_into_writes(keycloak, tmp_path):
    """Each fault reaches the client as it would from a real network: a refusal as an answer, a lost answer as a
    closed connection, a broken TLS stream as an SSL error; only the refusal keeps the write from Keycloak."""
    certs = make_certs(tmp_path / "certs")
    with CountingProxy(keycloak.url, ca_path=keycloak.ca_path, tls=(str(certs["server.pem"]), str(certs["server.key"]))) \
            as proxy, requests.Session() as session:
        assert proxy.url.startswith("https://127.0.0.1:")
        session.trust_env = False  # REQUESTS_CA_BUNDLE would override the session's CA
        session.verify = str(certs["ca.pem"])
        auth = {"Authorization": "Bearer " + admin_token(keycloak, session=session, base=proxy.url)}
        role = f"{proxy.url}/admin/realms/{keycloak.admin_realm}/roles/no-such-role-of-the-selfcheck"
        proxy.fail_write(2, "refuse", 403, path_part="/roles/")
        assert session.put(role, json={"name": "x"}, headers=auth, timeout=30).status_code == 404, "the 1st: forwarded"
        refused = session.put(role, json={"name": "x"}, headers=auth, timeout=30)
        assert refused.status_code == 403 and "test proxy" in refused.json()["errorMessage"]
        lost = {"drop": requests.ConnectionError, "tls-status": requests.exceptions.SSLError,
                "tls-body": requests.exceptions.SSLError}
        for fault, error in lost.items():
            proxy.fail_write(1, fault, method="PUT")
            try:
                session.put(role, json={"name": fault}, headers=auth, timeout=30)
            except error:
                pass
            else:
                raise AssertionError(f"{fault}: the client got an answer")
        assert [f for f, _m, _p in proxy.injected] == ["refuse", "drop", "tls-status", "tls-body"]
        # The proxy forwarded what the client sent; urllib3 sends a PUT again after a broken connection.
        assert all(m == "PUT" for m, _p, _n in proxy.repeated_writes(methods=("PUT",)))
        assert proxy.repeated_writes() == [], "no POST was sent"
