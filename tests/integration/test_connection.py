"""The connection layer against the real Keycloak: every auth mode, env fallbacks, TLS, prefixes, failures."""
import socket
import threading
import venv
import time

import pytest

from ansible_collections.keycloak_ops.clients.plugins.module_utils._core.connection import (
    KeycloakAPI, admin_path,
)
from ansible_collections.keycloak_ops.clients.plugins.module_utils._core.connection_options import keycloak_argument_spec
from tests.harness.awx import load_credential_type, render_injectors
from tests.integration.conftest import admin_client, service_account
from tests.integration.runner import ansible_env, run_module, run_playbook


def connection_params(**given):
    params = {name: spec.get("default") for name, spec in keycloak_argument_spec().items()}
    params.update(given)
    return params


@pytest.fixture(scope="module")
def automation_client(keycloak, realm, oracle):
    """A service-account client with manage-clients in the test realm: how AWX should log in."""
    return "automation", service_account(oracle, "automation", ("manage-clients", "view-realm"))


@pytest.fixture(scope="module")
def viewer_client(keycloak, realm, oracle):
    """A service account that may only view clients, to provoke a 403."""
    return "viewer", service_account(oracle, "viewer", ("view-clients",))


def spa(realm, client_id):
    return dict(realm=realm, client_id=client_id, redirect_uris=["http://localhost:3000/*"])


def test_password_grant_from_environment(realm, env):
    run = run_module("public_client", spa(realm, "env-password"), env)
    assert run.rc == 0 and run.result["changed"] is True, run.output


def test_password_grant_from_options_without_environment(keycloak, realm):
    args = dict(spa(realm, "opt-password"), auth_keycloak_url=keycloak.url, auth_realm="master",
                auth_username=keycloak.admin_user, auth_password=keycloak.admin_password)
    run = run_module("public_client", args, ansible_env(None))
    assert run.rc == 0, run.output


def test_client_credentials_from_environment_as_awx_injects_it(keycloak, realm, automation_client, tmp_path):
    client_id, secret = automation_client
    # Every variable of the credential type is set, the unused ones empty (KEYCLOAK_USER, KEYCLOAK_CA_PATH, ...).
    inputs = dict(url=keycloak.url, realm=realm, client_id=client_id, client_secret=secret)
    env = ansible_env(None, **render_injectors(load_credential_type(), inputs, str(tmp_path))[0])
    run = run_module("public_client", spa(realm, "env-client-credentials"), env, verbosity=3)
    assert run.rc == 0, run.output
    assert secret not in run.output


def test_given_token_from_option_and_environment(keycloak, realm):
    connection = admin_client(keycloak).connection
    connection.get_token()
    token = connection.token["access_token"]
    run = run_module("public_client", dict(spa(realm, "token-option"), url=keycloak.url, token=token),
                     ansible_env(None))
    assert run.rc == 0, run.output
    run = run_module("public_client", spa(realm, "token-env"),
                     ansible_env(None, KEYCLOAK_URL=keycloak.url, KEYCLOAK_ACCESS_TOKEN=token), verbosity=3)
    assert run.rc == 0 and token not in run.output, run.output


def test_module_defaults_group_of_community_general_shape(keycloak, realm, tmp_path):
    playbook = tmp_path / "defaults.yml"
    playbook.write_text("""
- hosts: localhost
  connection: local
  gather_facts: false
  module_defaults:
    group/keycloak_ops.clients.keycloak:
      auth_keycloak_url: %s
      auth_realm: master
      auth_username: %s
      auth_password: %s
  tasks:
    - keycloak_ops.clients.public_client:
        realm: %s
        client_id: from-module-defaults
""" % (keycloak.url, keycloak.admin_user, keycloak.admin_password, realm))
    run = run_playbook(str(playbook), ansible_env(None))
    assert run.rc == 0 and "changed=1" in run.output, run.output


def test_token_renewed_when_it_expires_mid_run(keycloak, realm, oracle, automation_client):
    client_id, secret = automation_client
    oracle.update_realm(realm, {"accessTokenLifespan": 2})
    try:
        api = KeycloakAPI(connection_params(auth_keycloak_url=keycloak.url, auth_realm=realm,
                                            auth_client_id=client_id, auth_client_secret=secret))
        api.login()
        first = api.connection.token["access_token"]
        assert api.get(admin_path(realm, "clients"), params={"clientId": "automation"})
        time.sleep(3)
        assert api.get(admin_path(realm, "clients"), params={"clientId": "automation"})
        assert api.connection.token["access_token"] != first, "a new token was fetched"
    finally:
        oracle.update_realm(realm, {"accessTokenLifespan": 300})


def test_threads_share_one_token_renewal(keycloak, realm, oracle, automation_client, make_counting_proxy):
    """Threads that find the token expired at the same moment wait for one renewal instead of each renewing it."""
    client_id, secret = automation_client
    proxy = make_counting_proxy(keycloak)
    oracle.update_realm(realm, {"accessTokenLifespan": 3})
    try:
        api = KeycloakAPI(connection_params(auth_keycloak_url=proxy.url, auth_realm=realm,
                                            auth_client_id=client_id, auth_client_secret=secret))
        api.login()
        time.sleep(3)  # python-keycloak renews at 90% of the lifespan: expired for it, and nearly for Keycloak
        proxy.reset()
        start = threading.Barrier(8)
        found, failures = [], []

        def work():
            start.wait()
            try:
                found.append(api.get(admin_path(realm, "clients"), params={"clientId": client_id})[0]["clientId"])
            except Exception as exc:  # pylint: disable=broad-exception-caught
                failures.append(exc)

        threads = [threading.Thread(target=work) for _index in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert not failures and found == [client_id] * 8
        assert proxy.counts("token") == {"POST": 1}, "one renewal for eight threads"
    finally:
        oracle.update_realm(realm, {"accessTokenLifespan": 300})


def test_a_request_with_its_own_content_type_leaves_the_others_json(keycloak, realm, oracle):
    """Threads share one session: a request sent as text must not make another thread's JSON write a 415."""
    oracle.create_client({"clientId": "content-type", "publicClient": False})
    uuid = oracle.get_client_id("content-type")
    api = KeycloakAPI(connection_params(auth_keycloak_url=keycloak.url, auth_username=keycloak.admin_user,
                                        auth_password=keycloak.admin_password))
    api.login()
    stop = threading.Event()

    def text_reads():
        while not stop.is_set():
            api.request("GET", admin_path(realm, "clients"), body="not json", content_type="text/plain")

    reader = threading.Thread(target=text_reads)
    reader.start()
    try:
        for index in range(40):
            api.put(admin_path(realm, "clients", uuid), {"clientId": "content-type", "description": str(index)})
    finally:
        stop.set()
        reader.join()
    assert oracle.get_client(uuid)["description"] == "39"


def fails_with(args, env, message):
    run = run_module("public_client", args, env)
    assert run.rc != 0, run.output
    msg = run.result["msg"]
    assert message in msg, msg
    assert "\n" not in msg and "Traceback" not in run.output
    return msg


def test_bad_password_is_one_line(keycloak, realm):
    fails_with(spa(realm, "x"), ansible_env(keycloak, KEYCLOAK_PASSWORD="wrong"),
               "Keycloak rejected the password login of user '%s' in realm 'master'" % keycloak.admin_user)


def test_bad_client_secret_is_one_line(keycloak, realm, automation_client):
    env = ansible_env(None, KEYCLOAK_URL=keycloak.url, KEYCLOAK_REALM=realm, KEYCLOAK_CLIENT_ID="automation",
                      KEYCLOAK_CLIENT_SECRET="wrong-secret")
    fails_with(spa(realm, "x"), env, "rejected the client-credentials login of client 'automation'")


def test_unknown_auth_realm(keycloak, realm):
    fails_with(spa(realm, "x"), ansible_env(keycloak, KEYCLOAK_REALM="no-such-realm"),
               "Realm 'no-such-realm' (auth_realm) does not exist")


def test_missing_admin_role_is_named(keycloak, realm, viewer_client):
    env = ansible_env(None, KEYCLOAK_URL=keycloak.url, KEYCLOAK_REALM=realm, KEYCLOAK_CLIENT_ID=viewer_client[0],
                      KEYCLOAK_CLIENT_SECRET=viewer_client[1])
    fails_with(spa(realm, "forbidden"), env, "lacks the 'manage-clients' role of realm-management in realm '%s'" % realm)


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_unreachable_url(realm):
    url = "http://127.0.0.1:%d" % free_port()
    fails_with(spa(realm, "x"), ansible_env(None, KEYCLOAK_URL=url, KEYCLOAK_USER="nobody", KEYCLOAK_PASSWORD="not-a-password"),
               "Cannot reach Keycloak at %s/: Connection refused" % url)


def test_timeout_names_the_option(realm):
    """A loopback server that accepts connections and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held = []
    stop = threading.Event()

    def accept():
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except socket.timeout:
                pass

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        url = "http://127.0.0.1:%d" % listener.getsockname()[1]
        fails_with(dict(spa(realm, "x"), connection_timeout=1),
                   ansible_env(None, KEYCLOAK_URL=url, KEYCLOAK_USER="nobody", KEYCLOAK_PASSWORD="not-a-password"),
                   "did not answer within 1 seconds (connection_timeout)")
    finally:
        stop.set()
        thread.join()
        for conn in held:
            conn.close()
        listener.close()


def test_invalid_url(realm):
    fails_with(spa(realm, "x"), ansible_env(None, KEYCLOAK_URL="sso.example.com", KEYCLOAK_USER="nobody",
                                            KEYCLOAK_PASSWORD="not-a-password"), "is not an http(s) URL")


def test_no_credentials(keycloak, realm):
    fails_with(spa(realm, "x"), ansible_env(None, KEYCLOAK_URL=keycloak.url), "No Keycloak credentials")


def test_missing_python_keycloak_names_the_library(keycloak, realm, tmp_path):
    bare = tmp_path / "bare"
    venv.create(str(bare), with_pip=False)
    run = run_module("public_client", spa(realm, "x"),
                     ansible_env(keycloak, ANSIBLE_PYTHON_INTERPRETER=str(bare / "bin" / "python")))
    assert run.rc != 0 and "python-keycloak" in run.result["msg"], run.output


# -- TLS and path prefixes, each on a server of its own ------------------------------------------------


def tls_env(server, **extra):
    return ansible_env(server, **extra)


def test_tls_with_ca_path(keycloak_tls):
    realm = "master"
    run = run_module("public_client", dict(spa(realm, "tls-ca"), ca_path=keycloak_tls.ca_path), tls_env(keycloak_tls))
    assert run.rc == 0, run.output
    env = tls_env(keycloak_tls, KEYCLOAK_CA_PATH=keycloak_tls.ca_path)
    assert run_module("public_client", spa(realm, "tls-ca-env"), env).rc == 0


def test_tls_without_ca_fails_naming_the_option(keycloak_tls):
    msg = fails_with(spa("master", "tls-none"), tls_env(keycloak_tls), "TLS verification failed")
    assert "ca_path" in msg and "CERTIFICATE_VERIFY_FAILED" in msg


def test_tls_validate_certs_false(keycloak_tls):
    run = run_module("public_client", dict(spa("master", "tls-insecure"), validate_certs=False), tls_env(keycloak_tls))
    assert run.rc == 0, run.output


def test_mutual_tls_client_certificate(keycloak_tls):
    if not getattr(keycloak_tls, "client_cert", None):
        pytest.skip("the TLS server of the harness was started without a client certificate")
    run = run_module("public_client", dict(spa("master", "tls-mtls"), ca_path=keycloak_tls.ca_path,
                                           client_cert=keycloak_tls.client_cert, client_key=keycloak_tls.client_key),
                     tls_env(keycloak_tls))
    assert run.rc == 0, run.output


@pytest.mark.parametrize("suffix", ["", "/"])
def test_auth_path_prefix_with_and_without_trailing_slash(keycloak_prefixed, suffix):
    assert keycloak_prefixed.url.endswith("/auth")
    env = ansible_env(keycloak_prefixed, KEYCLOAK_URL=keycloak_prefixed.url + suffix)
    run = run_module("public_client", spa("master", "prefixed%s" % len(suffix)), env)
    assert run.rc == 0, run.output
