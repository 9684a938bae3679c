"""client_credentials_check: each client's secret asked for a token at its realm's token endpoint, many at once, with
the connection options of the modules (a private CA only through ca_path or KEYCLOAK_CA_PATH)."""
import requests

from tests.integration.conftest import admin_client, new_realm
from tests.integration.runner import ansible_env, run_module


def service_client(oracle, client_id):
    oracle.create_client({"clientId": client_id, "publicClient": False, "serviceAccountsEnabled": True,
                          "standardFlowEnabled": False})
    return oracle.get_client_secrets(oracle.get_client_id(client_id))["value"]


def registered_client(server, realm, oracle, method):
    """A client registered through the Client Registration Service with token_endpoint_auth_method=method."""
    minted = oracle.connection.raw_post("admin/realms/%s/clients-initial-access" % realm,
                                        data='{"count": 1, "expiration": 600}')
    token = minted.json()["token"]
    response = requests.post("%s/realms/%s/clients-registrations/openid-connect" % (server.url, realm), timeout=30,
                             verify=server.ca_path or True, headers={"Authorization": "Bearer " + token},
                             json={"client_name": "check-" + method, "grant_types": ["client_credentials"],
                                   "token_endpoint_auth_method": method})
    assert response.status_code == 201, response.text
    return response.json()["client_id"], response.json()["client_secret"]


def test_many_clients_in_one_task_each_with_its_auth_method(keycloak, realm, oracle):
    secrets = {name: service_client(oracle, name) for name in ("check-a", "check-b", "check-c")}
    post_client, post_secret = registered_client(keycloak, realm, oracle, "client_secret_post")
    clients = [dict(client_id=name, secret=secret) for name, secret in secrets.items()]
    # A result of client_secret or an entry of the client_credentials filter is taken as it is.
    clients.append(dict(client_id=post_client, client_secret=post_secret, realm=realm, id="ignored",
                        token_url="ignored", action="regenerated", changed=True))
    run = run_module("client_credentials_check", dict(realm=realm, clients=clients), ansible_env(keycloak), verbosity=3)
    assert run.rc == 0, run.output
    results = run.result["clients"]
    assert [r["ok"] for r in results] == [True] * 4 and run.result["changed"] is False
    assert [r["auth_method"] for r in results] == ["client_secret_basic"] * 3 + ["client_secret_post"]
    assert all(r["error"] is None and r["status"] == 200 for r in results)
    for secret in list(secrets.values()) + [post_secret]:
        assert secret not in run.output


def test_a_wrong_secret_fails_with_one_line_naming_the_client(keycloak, realm, oracle):
    good = service_client(oracle, "check-good")
    bad = service_client(oracle, "check-bad")[::-1]
    run = run_module("client_credentials_check", dict(realm=realm, clients=[
        dict(client_id="check-good", secret=good), dict(client_id="check-bad", secret=bad)]),
        ansible_env(keycloak), verbosity=3)
    assert run.rc != 0
    message = run.result["msg"]
    assert message == ("1 of 2 clients got no token: clients[1] (client 'check-bad'): HTTP 401 unauthorized_client: "
                       "Invalid client or Invalid client credentials"), message
    assert [r["ok"] for r in run.result["clients"]] == [True, False]
    assert good not in run.output and bad not in run.output


def test_ca_path_is_honoured_on_an_https_only_keycloak(keycloak_tls):
    """The private CA reaches the module only through ca_path or KEYCLOAK_CA_PATH, never the system store."""
    realm = new_realm(keycloak_tls, prefix="check-tls")
    try:
        oracle = admin_client(keycloak_tls, realm)
        secret = service_client(oracle, "check-tls")
        assert keycloak_tls.url.startswith("https://")
        args = dict(realm=realm, client_id="check-tls", secret=secret)
        env = ansible_env(keycloak_tls)
        del env["KEYCLOAK_USER"], env["KEYCLOAK_PASSWORD"]  # no admin credentials needed
        run = run_module("client_credentials_check", dict(args, ca_path=keycloak_tls.ca_path), env)
        assert run.rc == 0 and run.result["ok"] is True, run.output
        run = run_module("client_credentials_check", args, dict(env, KEYCLOAK_CA_PATH=keycloak_tls.ca_path))
        assert run.rc == 0 and run.result["ok"] is True, run.output

        untrusted = run_module("client_credentials_check", args, env)
        message = untrusted.result["msg"]
        assert untrusted.rc != 0 and "TLS verification failed" in message and "ca_path" in message, message
        assert "\n" not in message and secret not in untrusted.output

        wrong = run_module("client_credentials_check", dict(args, secret=secret[::-1]),
                           dict(env, KEYCLOAK_CA_PATH=keycloak_tls.ca_path))
        assert wrong.rc != 0 and "\n" not in wrong.result["msg"]
        assert "client 'check-tls': HTTP 401 unauthorized_client" in wrong.result["msg"], wrong.result["msg"]
        assert wrong.result["error"].startswith("HTTP 401 unauthorized_client")
    finally:
        admin_client(keycloak_tls).delete_realm(realm)
