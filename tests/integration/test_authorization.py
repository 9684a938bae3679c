"""Per-scope permissions of a resource server (confidential_client's authorization), evaluated by Keycloak itself:
a service account asks the token endpoint for a UMA grant and gets exactly the declared scopes."""
import copy

import pytest

from tests.integration import oidc
from tests.integration.runner import run_module

SERVER = "urn:acme/payroll"
INVOICES = "urn:acme/payroll:invoices"
CRUD = ["create", "read", "update", "delete"]
SECRETS = {"payroll-reader-app": "reader-secret-0123456789", "billing-worker": "billing-secret-0123456789"}

AUTHORIZATION = dict(
    scopes=list(CRUD),
    resources=[dict(name=INVOICES, uris=["/invoices/*"], scopes=list(CRUD))],
    policies=[dict(name="invoice-readers", type="role", roles=["payroll-reader"]),
              dict(name="billing-service", type="client", clients=["billing-worker"])],
    permissions=[dict(name="read invoices", resources=[INVOICES], scopes=["read"],
                      policies=["invoice-readers", "billing-service"], decision_strategy="affirmative"),
                 dict(name="write invoices", resources=[INVOICES], scopes=["create", "update", "delete"],
                      policies=["billing-service"])])


@pytest.fixture(scope="module")
def consumers(keycloak, realm, oracle):
    """Two service accounts: one holding the realm role payroll-reader, one named by a client policy."""
    oracle.create_realm_role({"name": "payroll-reader"})
    for client_id, secret in SECRETS.items():
        oracle.create_client({"clientId": client_id, "publicClient": False, "serviceAccountsEnabled": True,
                              "secret": secret})
    user = oracle.get_client_service_account_user(oracle.get_client_id("payroll-reader-app"))
    oracle.assign_realm_roles(user["id"], [oracle.get_realm_role("payroll-reader")])
    return SECRETS


def granted(keycloak, realm, client_id):
    return oidc.granted_scopes(keycloak, realm, client_id, SECRETS[client_id], SERVER)


def args(realm, authorization, **extra):
    return dict(realm=realm, client_id=SERVER, preset="service", authorization=authorization, **extra)


def test_declared_scope_permissions_are_what_keycloak_grants(keycloak, realm, env, counting_proxy, consumers):
    first = run_module("confidential_client", args(realm, AUTHORIZATION), env, diff=True)
    assert first.rc == 0, first.output
    assert first.result["changed"] is True
    assert first.result["end_state"]["authorization"]["permissions"]["read invoices"]["scopes"] == ["read"]
    assert granted(keycloak, realm, "payroll-reader-app") == {INVOICES: {"read"}}
    assert granted(keycloak, realm, "billing-worker") == {INVOICES: set(CRUD)}

    counting_proxy.reset()
    second = run_module("confidential_client", args(realm, AUTHORIZATION), dict(env, KEYCLOAK_URL=counting_proxy.url))
    assert second.rc == 0, second.output
    assert second.result["changed"] is False, second.output
    assert counting_proxy.writes("admin") == 0, counting_proxy.calls


def test_check_mode_predicts_without_writing_then_a_change_is_applied(
        keycloak, realm, env, counting_proxy, consumers, oracle):
    run_module("confidential_client", args(realm, AUTHORIZATION), env)
    # The reader may now also export invoices: a new scope on the resource and in its permission.
    wider = copy.deepcopy(AUTHORIZATION)
    wider["scopes"].append("export")
    wider["resources"][0]["scopes"].append("export")
    wider["permissions"][0]["scopes"] = ["read", "export"]
    counting_proxy.reset()
    check = run_module("confidential_client", args(realm, wider), dict(env, KEYCLOAK_URL=counting_proxy.url),
                       check=True, diff=True)
    assert check.rc == 0, check.output
    assert check.result["changed"] is True
    assert check.result["end_state"]["authorization"]["permissions"]["read invoices"]["scopes"] == ["export", "read"]
    added = [line for line in check.output.splitlines() if line.startswith("+")]
    assert any('"export"' in line for line in added), check.output
    assert counting_proxy.writes("admin") == 0, counting_proxy.calls
    assert granted(keycloak, realm, "payroll-reader-app") == {INVOICES: {"read"}}

    applied = run_module("confidential_client", args(realm, wider), env)
    assert applied.rc == 0 and applied.result["changed"] is True, applied.output
    assert granted(keycloak, realm, "payroll-reader-app") == {INVOICES: {"read", "export"}}
    assert granted(keycloak, realm, "billing-worker") == {INVOICES: set(CRUD) | {"export"}}
    # Only what is declared is touched: the write permission, not listed in this run, keeps its scopes.
    narrow = dict(scopes=["read"], permissions=[dict(name="read invoices", resources=[INVOICES], scopes=["read"],
                                                     policies=["invoice-readers"])])
    assert run_module("confidential_client", args(realm, narrow), env).rc == 0
    assert granted(keycloak, realm, "payroll-reader-app") == {INVOICES: {"read"}}
    assert granted(keycloak, realm, "billing-worker") == {INVOICES: {"create", "update", "delete"}}
    server = oracle.get_client_id(SERVER)
    names = {p["name"] for p in oracle.get_client_authz_policies(server)}
    assert {"invoice-readers", "billing-service"} <= names


@pytest.mark.parametrize("change, message", [
    (lambda a: a["permissions"][0].update(scopes=["read", "approve"]),
     "permission 'read invoices': unknown scope 'approve'"),
    (lambda a: a["policies"][0].update(type="group"), "policy 'invoice-readers': unknown policy type 'group'"),
    (lambda a: a["policies"][0].update(roles=["no-such-role"]), "role 'no-such-role' does not exist"),
    (lambda a: a["policies"][1].update(clients=["no-such-client"]), "client 'no-such-client' does not exist"),
], ids=["scope", "policy-type", "role", "client"])
def test_bad_input_is_one_line_and_writes_nothing(keycloak, realm, env, counting_proxy, consumers, oracle,
                                                  change, message):
    bad = copy.deepcopy(AUTHORIZATION)
    change(bad)
    counting_proxy.reset()
    run = run_module("confidential_client", dict(args(realm, bad), client_id="urn:acme/never-created"),
                     dict(env, KEYCLOAK_URL=counting_proxy.url))
    assert run.rc != 0
    msg = run.result["msg"]
    assert message in msg and "\n" not in msg, msg
    assert counting_proxy.writes("admin") == 0, counting_proxy.calls
    assert oracle.get_client_id("urn:acme/never-created") is None
