"""confidential_client and public_client against the real Keycloak: each kind of client users declare."""
import time

import pytest

from tests.integration import oidc
from tests.integration.runner import run_module


def converge_twice(module, args, env, proxy):
    """Run a module twice; the second run must change nothing and send no write request."""
    first = run_module(module, args, env)
    assert first.rc == 0, first.output
    proxy.reset()
    second = run_module(module, args, dict(env, KEYCLOAK_URL=proxy.url))
    assert second.rc == 0, second.output
    assert second.result["changed"] is False, second.output
    assert proxy.writes("admin") == 0, proxy.calls
    return first.result, second.result


def test_flask_web_app_from_the_console_walkthrough(keycloak, realm, oracle, env, counting_proxy):
    args = dict(realm=realm, client_id="flask-app", preset="web", root_url="http://localhost:5000/",
                redirect_uris=["http://localhost:5000/*"], default_client_scopes=["openid", "email", "profile"])
    first = converge_twice("confidential_client", args, env, counting_proxy)[0]
    assert first["changed"] is True
    client = oracle.get_client(oracle.get_client_id("flask-app"))
    assert client["publicClient"] is False and client["standardFlowEnabled"] is True
    assert client["directAccessGrantsEnabled"] is False
    assert client["rootUrl"] == "http://localhost:5000/"
    assert {"email", "profile", "basic"} <= set(client["defaultClientScopes"])
    assert first["grants"] == ["authorization_code"]


def test_openmetadata_with_authorization_services(keycloak, realm, oracle, env, counting_proxy):
    args = dict(realm=realm, client_id="open-metadata", name="OpenMetadata", description="metadata catalog",
                preset="web", authorization_services=True,
                redirect_uris=["https://metadata.example.com/callback"],
                default_client_scopes=["openid", "email", "profile"])
    converge_twice("confidential_client", args, env, counting_proxy)
    client = oracle.get_client(oracle.get_client_id("open-metadata"))
    assert client["authorizationServicesEnabled"] is True and client["serviceAccountsEnabled"] is True
    assert client["name"] == "OpenMetadata"


def test_service_account_client_gets_real_tokens(keycloak, realm, oracle, env, counting_proxy):
    args = dict(realm=realm, client_id="mlflow-exporter", preset="service", return_secret=True,
                default_client_scopes=["profile", "email"],
                service_account_realm_roles=["offline_access"],
                service_account_client_roles={"realm-management": ["view-clients", "view-users"]})
    first, second = converge_twice("confidential_client", args, env, counting_proxy)
    secret = first["secret"]
    assert secret and second["secret"] == secret, "the secret is kept on later runs"
    status, body = oidc.client_credentials(keycloak, realm, "mlflow-exporter", secret)
    assert status == 200 and body["access_token"]
    status, body = oidc.client_credentials(keycloak, realm, "mlflow-exporter", "not-the-secret")
    assert body["error"] == "unauthorized_client"
    user = oracle.get_client_service_account_user(oracle.get_client_id("mlflow-exporter"))
    realm_management = oracle.get_client_id("realm-management")
    held = {r["name"] for r in oracle.get_client_roles_of_user(user["id"], realm_management)}
    assert {"view-clients", "view-users"} <= held


def test_without_service_accounts_keycloak_refuses_client_credentials(keycloak, realm, env):
    run = run_module("confidential_client", dict(realm=realm, client_id="no-sa", preset="web",
                                                 redirect_uris=["https://no-sa.example.com/*"], return_secret=True), env)
    assert run.rc == 0, run.output
    status, body = oidc.client_credentials(keycloak, realm, "no-sa", run.result["secret"])
    assert body["error"] == "unauthorized_client", body
    plain = run_module("confidential_client", dict(realm=realm, client_id="no-sa-no-preset"), env)
    assert "service accounts off" in plain.output and "client_credentials" not in plain.result["grants"]


def test_known_secret_is_set_and_kept(keycloak, realm, env, counting_proxy):
    known = "given-secret-0123456789abcdef"
    args = dict(realm=realm, client_id="known-secret", preset="service", secret=known)
    first = converge_twice("confidential_client", args, env, counting_proxy)[0]
    assert known not in str(first)
    assert oidc.client_credentials(keycloak, realm, "known-secret", known)[0] == 200


def test_public_spa_enforces_pkce(keycloak, realm, oracle, env, counting_proxy):
    args = dict(realm=realm, client_id="dashboard-spa", preset="spa", root_url="http://localhost:3000",
                home_url="http://localhost:3000/", redirect_uris=["http://localhost:3000/*"], web_origins=["+"],
                consent_required=False, post_logout_redirect_uris=["http://localhost:3000/"])
    converge_twice("public_client", args, env, counting_proxy)
    client = oracle.get_client(oracle.get_client_id("dashboard-spa"))
    assert client["publicClient"] is True and client["implicitFlowEnabled"] is False
    assert client["attributes"]["pkce.code.challenge.method"] == "S256"
    refused = oidc.authorization_request(keycloak, realm, "dashboard-spa", "http://localhost:3000/cb")
    assert "code_challenge" in refused.headers.get("Location", "") + refused.text
    assert "error=invalid_request" in refused.headers.get("Location", "")
    accepted = oidc.authorization_request(keycloak, realm, "dashboard-spa", "http://localhost:3000/cb",
                                          code_challenge="E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
                                          code_challenge_method="S256")
    assert accepted.status_code == 200, "the login page is served once a challenge is sent"


def test_native_and_cli_presets(realm, oracle, env, counting_proxy):
    converge_twice("public_client", dict(realm=realm, client_id="field-app", preset="native",
                                         redirect_uris=["com.example.field:/oauth2redirect"]), env, counting_proxy)
    converge_twice("public_client", dict(realm=realm, client_id="ops-cli", preset="cli"), env, counting_proxy)
    cli = oracle.get_client(oracle.get_client_id("ops-cli"))
    assert cli["attributes"]["oauth2.device.authorization.grant.enabled"] == "true"
    assert cli["standardFlowEnabled"] is False


def test_public_created_then_switched_to_confidential(keycloak, realm, oracle, env):
    assert run_module("public_client", dict(realm=realm, client_id="switch-me",
                                            redirect_uris=["http://localhost:5000/*"]), env).rc == 0
    switched = run_module("confidential_client", dict(realm=realm, client_id="switch-me", preset="web",
                                                      return_secret=True), env, diff=True)
    assert switched.rc == 0 and switched.result["changed"] is True, switched.output
    assert '-    "publicClient": true' in switched.output and '+    "publicClient": false' in switched.output
    assert switched.result["secret"], "Keycloak made a secret for the converted client"
    assert oracle.get_client(oracle.get_client_id("switch-me"))["publicClient"] is False
    back = run_module("public_client", dict(realm=realm, client_id="switch-me",
                                            redirect_uris=["http://localhost:5000/*"]), env)
    assert back.result["changed"] is True and oracle.get_client(oracle.get_client_id("switch-me"))["publicClient"]


def test_fields_not_declared_are_left_alone(realm, oracle, env):
    assert run_module("confidential_client", dict(realm=realm, client_id="shared", preset="web",
                                                  description="ours"), env).rc == 0
    uuid = oracle.get_client_id("shared")
    oracle.update_client(uuid, {"clientId": "shared", "adminUrl": "https://set-by-another-tool.example.com",
                                "attributes": {"custom.flag": "kept"}})
    again = run_module("confidential_client", dict(realm=realm, client_id="shared", preset="web",
                                                   description="ours"), env)
    assert again.result["changed"] is False, again.output
    client = oracle.get_client(uuid)
    assert client["adminUrl"] == "https://set-by-another-tool.example.com"
    assert client["attributes"]["custom.flag"] == "kept"


def test_check_mode_creates_nothing_and_predicts_change(realm, oracle, env):
    args = dict(realm=realm, client_id="check-only", preset="service")
    checked = run_module("confidential_client", args, env, check=True, diff=True)
    assert checked.rc == 0 and checked.result["changed"] is True, checked.output
    assert oracle.get_client_id("check-only") is None
    assert run_module("confidential_client", args, env).rc == 0
    assert run_module("confidential_client", args, env, check=True).result["changed"] is False


def test_state_absent_deletes(realm, oracle, env):
    assert run_module("public_client", dict(realm=realm, client_id="short-lived"), env).rc == 0
    gone = run_module("public_client", dict(realm=realm, client_id="short-lived", state="absent"), env)
    assert gone.result["changed"] is True and oracle.get_client_id("short-lived") is None
    again = run_module("public_client", dict(realm=realm, client_id="short-lived", state="absent"), env)
    assert again.result["changed"] is False


def test_secrets_stay_out_of_diff_and_verbose_output(keycloak, realm, oracle, env):
    created = run_module("confidential_client", dict(realm=realm, client_id="quiet", preset="service"), env)
    uuid = oracle.get_client_id("quiet")
    secret = oracle.get_client_secrets(uuid)["value"]
    for run in (
        created,
        run_module("confidential_client", dict(realm=realm, client_id="quiet", preset="service",
                                               description="changed"), env, diff=True, verbosity=3),
        run_module("confidential_client", dict(realm=realm, client_id="quiet", preset="service",
                                               secret="brand-new-secret-value-42"), env, diff=True, verbosity=3),
    ):
        assert run.rc == 0, run.output
        assert secret not in run.output
        assert "brand-new-secret-value-42" not in run.output
    assert "(changed)" in run.output, "a changed secret shows as changed, masked"


def test_secrets_inside_clients_items_stay_out_of_output_even_when_the_task_fails(realm, env):
    """Items of clients cannot be marked no_log: their secrets are registered before anything can show them."""
    failed = run_module("confidential_client", dict(realm=realm, clients=[
        dict(client_id="item-secret", preset="service", secret="tiny-pw"),
        dict(client_id="item-secret", preset="service", secret="another-given-secret-99"),
    ]), env, verbosity=4)
    assert failed.rc != 0 and "already declared" in failed.output, failed.output[-2000:]
    # AnsibleModule itself refuses an unknown option before the module runs; the invocation it shows hides them too.
    refused = run_module("confidential_client", dict(realm=realm, no_such_option=1, clients=[
        dict(client_id="item-secret", preset="service", secret="tiny-pw")]), env, verbosity=4)
    assert refused.rc != 0 and "no_such_option" in refused.output, refused.output[-2000:]
    ok = run_module("confidential_client", dict(realm=realm, clients=[
        dict(client_id="item-secret", preset="service", secret="tiny-pw")]), env, diff=True, verbosity=4)
    assert ok.rc == 0, ok.output[-2000:]
    for run in (failed, refused, ok):
        assert "tiny-pw" not in run.output and "another-given-secret-99" not in run.output


def test_protocol_mappers_and_attributes(realm, oracle, env, counting_proxy):
    args = dict(realm=realm, client_id="api-consumer", preset="service",
                protocol_mappers=[{"name": "audience", "protocolMapper": "oidc-audience-mapper",
                                   "config": {"included.client.audience": "api-consumer",
                                              "access.token.claim": True}}],
                attributes={"access.token.lifespan": 300})
    converge_twice("confidential_client", args, env, counting_proxy)
    client = oracle.get_client(oracle.get_client_id("api-consumer"))
    assert client["attributes"]["access.token.lifespan"] == "300"
    assert [m["name"] for m in client["protocolMappers"]] == ["audience"]


BAD_AGAINST_KEYCLOAK = [
    (dict(client_id="x1", default_client_scopes=["no-such-scope"]), "client scope 'no-such-scope' does not exist"),
    (dict(client_id="x2", preset="service", service_account_realm_roles=["no-such-role"]), "role 'no-such-role'"),
    (dict(client_id="x3", preset="service", service_account_client_roles={"realm-management": ["no-such"]}),
     "has no role 'no-such'"),
    (dict(client_id="x4", preset="service", service_account_client_roles={"no-such-client": ["r"]}),
     "client 'no-such-client' does not exist"),
]


@pytest.mark.parametrize("args,message", BAD_AGAINST_KEYCLOAK)
def test_bad_items_fail_before_any_write(realm, oracle, env, args, message):
    clients = [dict(client_id="good-%s" % args["client_id"], preset="service"), args]
    run = run_module("confidential_client", dict(realm=realm, clients=clients), env)
    assert run.rc != 0 and message in run.result["msg"], run.output
    assert "clients[1]" in run.result["msg"] and "\n" not in run.result["msg"]
    assert oracle.get_client_id("good-%s" % args["client_id"]) is None, "nothing is created"


def test_unknown_realm_is_one_line(env):
    run = run_module("confidential_client", dict(realm="no-such-realm", client_id="x"), env)
    assert run.rc != 0 and run.result["msg"].startswith("client 'x': Realm 'no-such-realm' does not exist")


def test_fifty_clients_in_one_task(keycloak, realm, oracle, env, counting_proxy):
    clients = [dict(client_id="bulk-%02d" % i) for i in range(50)]
    args = dict(realm=realm, preset="service", default_client_scopes=["profile", "email"], clients=clients)
    proxied = dict(env, KEYCLOAK_URL=counting_proxy.url)
    started = time.monotonic()
    first = run_module("confidential_client", args, proxied)
    elapsed = time.monotonic() - started
    assert first.rc == 0, first.output
    assert len(first.result["clients"]) == 50 and all(c["changed"] for c in first.result["clients"])
    assert counting_proxy.counts("token") == {"POST": 1}, "one token for the whole task"
    assert counting_proxy.writes("admin") == 50, "one create per client"
    # 2: a probe of the realm's size and its one-page listing instead of a lookup per client; 3 realm-wide reads;
    # + 3: the rights check before the first write (admin-cli's lightweight token carries no roles)
    assert counting_proxy.reads("admin") <= 2 + 3 + 3, "the realm's listing, realm-wide reads once"
    counting_proxy.reset()
    second = run_module("confidential_client", args, proxied)
    assert second.result["changed"] is False and counting_proxy.writes("admin") == 0
    print("\n50-client task: %.2fs from scratch; re-run %d reads, %d writes" % (
        elapsed, counting_proxy.reads("admin"), counting_proxy.writes("admin")))
    assert counting_proxy.reads("admin") <= 5
    assert all(oracle.get_client_id("bulk-%02d" % i) for i in (0, 25, 49))
