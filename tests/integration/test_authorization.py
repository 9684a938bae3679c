"""Authorization of a resource server (confidential_client's authorization), evaluated by Keycloak itself: a service
account asks the token endpoint for a UMA grant and gets exactly the declared scopes; removal (exclusive, state
absent), the policy types (role, client, group, user, aggregate, time), resource permissions and the server's
settings each shown by what Keycloak then grants."""
import copy
import json

import pytest
import requests
import yaml

from tests.integration import oidc
from tests.integration.conftest import admin_client, new_realm
from tests.integration.runner import ansible_env, run_module, run_playbook

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


def granted(keycloak, realm, client_id, server=SERVER):
    return oidc.granted_scopes(keycloak, realm, client_id, SECRETS[client_id], server)


def args(realm, authorization, server=SERVER, **extra):
    return dict(realm=realm, client_id=server, preset="service", authorization=authorization, **extra)


def names_of(oracle, base, kind):
    """Names of one kind of item of a resource server, from its export (policies with permissions)."""
    return {item["name"] for item in oracle.connection.raw_get(base + "/settings").json().get(kind) or []}


def diff_lines(run):
    """The lines of the --diff display: what check mode must predict exactly."""
    return [line for line in run.output.splitlines() if line[:1] in "+-" and not line.startswith(("+++", "---"))]


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
    (lambda a: a["policies"][0].update(type="sorcery"), "policy 'invoice-readers': unknown policy type 'sorcery'"),
    (lambda a: a["policies"][0].update(roles=["no-such-role"]), "role 'no-such-role' does not exist"),
    (lambda a: a["policies"][1].update(clients=["no-such-client"]), "client 'no-such-client' does not exist"),
    (lambda a: a["policies"].append(dict(name="staff", type="group", groups=["/no-such-group"])),
     "policy 'staff': group '/no-such-group' does not exist"),
    (lambda a: a["policies"].append(dict(name="alice", type="user", users=["no-such-user"])),
     "policy 'alice': user 'no-such-user' does not exist"),
    (lambda a: a["policies"].append(dict(name="any", type="aggregate", policies=["invoice-readers", "nobody"])),
     "policy 'any': unknown policy 'nobody'"),
    (lambda a: a["policies"].extend([dict(name="a", type="aggregate", policies=["b"]),
                                     dict(name="b", type="aggregate", policies=["a", "billing-service"])]),
     "policy 'a': aggregate policies form a cycle: a -> b -> a"),
    (lambda a: a["policies"].append(dict(name="late", type="time", hour=25)), "policy 'late': hour is 25"),
    (lambda a: a["permissions"].append(dict(name="whole", type="resource", resources=[INVOICES], scopes=["read"],
                                            policies=["billing-service"])), "takes no scopes"),
], ids=["scope", "policy-type", "role", "client", "group", "user", "aggregate-part", "cycle", "time", "resource-scopes"])
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


HR = "urn:acme/hr"
PAYSLIPS, HANDBOOK, ARCHIVE, NOTICES = ("urn:acme/hr:" + n for n in ("payslips", "handbook", "archive", "notices"))
CAROL = dict(username="carol", password="Carol-password-0123456789")
PORTAL = "hr-portal"  # a public client carol logs in with (password grant, for the test only)

HR_AUTHORIZATION = dict(
    policy_enforcement_mode="enforcing", decision_strategy="affirmative",
    scopes=["view", "edit"],
    resources=[dict(name=PAYSLIPS, scopes=["view", "edit"]), dict(name=HANDBOOK), dict(name=ARCHIVE),
               dict(name=NOTICES)],
    policies=[dict(name="staff", type="group", groups=["/staff"], extend_children=True),
              dict(name="carol", type="user", users=["carol"]),
              dict(name="staff and carol", type="aggregate", policies=["staff", "carol"],
                   decision_strategy="unanimous"),
              dict(name="closed", type="time", not_on_or_after="2020-01-01 00:00:00"),
              dict(name="open", type="time", not_before="2020-01-01 00:00:00", hour=0, hour_end=23)],
    permissions=[dict(name="view payslips", resources=[PAYSLIPS], scopes=["view"], policies=["staff"]),
                 dict(name="edit payslips", resources=[PAYSLIPS], scopes=["edit"], policies=["staff and carol"]),
                 dict(name="handbook", type="resource", resources=[HANDBOOK], policies=["carol"]),
                 dict(name="archive", type="resource", resources=[ARCHIVE], policies=["closed"]),
                 dict(name="notices", type="resource", resources=[NOTICES], policies=["open"])],
)


@pytest.fixture(scope="module")
def staff(oracle, consumers):
    """The groups /staff and /staff/payroll, the user carol and the ids of the users who call."""
    parent = oracle.create_group({"name": "staff"})
    child = oracle.create_group({"name": "payroll"}, parent=parent)
    carol = oracle.create_user({"username": CAROL["username"], "enabled": True, "firstName": "Carol",
                                "lastName": "Payroll", "email": "carol@example.com", "emailVerified": True,
                                "credentials": [{"type": "password", "value": CAROL["password"],
                                                 "temporary": False}]})
    oracle.create_client({"clientId": PORTAL, "publicClient": True, "directAccessGrantsEnabled": True,
                          "standardFlowEnabled": False})
    users = {c: oracle.get_client_service_account_user(oracle.get_client_id(c))["id"] for c in SECRETS}
    return dict(staff=parent, payroll=child, users=dict(users, carol=carol))


def granted_to_carol(keycloak, realm):
    """What Keycloak grants carol (a user logging in, not a service account: Keycloak matches user policies only
    against users who log in, measured on 26.7) on the HR resource server."""
    token = requests.post(oidc.token_url(keycloak, realm), timeout=30, verify=keycloak.ca_path or True,
                          data=dict(grant_type="password", client_id=PORTAL, scope="openid", **CAROL)).json()
    response = requests.post(oidc.token_url(keycloak, realm), timeout=30, verify=keycloak.ca_path or True,
                             headers={"Authorization": "Bearer " + token["access_token"]},
                             data={"grant_type": "urn:ietf:params:oauth:grant-type:uma-ticket", "audience": HR,
                                   "response_mode": "permissions"})
    if response.status_code == 403:
        return {}
    assert response.status_code == 200, response.text
    return {p["rsname"]: set(p.get("scopes") or []) for p in response.json()}


def test_group_user_aggregate_and_time_policies_are_what_keycloak_grants(
        keycloak, realm, env, counting_proxy, oracle, staff):
    first = run_module("confidential_client", args(realm, HR_AUTHORIZATION, server=HR), env, diff=True)
    assert first.rc == 0 and first.result["changed"] is True, first.output
    settings = oracle.connection.raw_get("admin/realms/%s/clients/%s/authz/resource-server" % (
        realm, oracle.get_client_id(HR))).json()
    assert (settings["policyEnforcementMode"], settings["decisionStrategy"]) == ("ENFORCING", "AFFIRMATIVE")
    # Nobody is in a group yet: carol is named by the user policy; the open window lets all see the notices,
    # the closed one nobody the archive.
    assert granted_to_carol(keycloak, realm) == {HANDBOOK: set(), NOTICES: set()}
    assert granted(keycloak, realm, "billing-worker", HR) == {NOTICES: set()}

    # A group policy follows membership, of a child group too (extend_children).
    oracle.group_user_add(staff["users"]["carol"], staff["payroll"])
    oracle.group_user_add(staff["users"]["billing-worker"], staff["staff"])
    assert granted_to_carol(keycloak, realm) == {PAYSLIPS: {"view", "edit"}, HANDBOOK: set(), NOTICES: set()}
    # The unanimous aggregate also needs the user policy: the billing worker may view, not edit.
    assert granted(keycloak, realm, "billing-worker", HR) == {PAYSLIPS: {"view"}, NOTICES: set()}
    assert granted(keycloak, realm, "payroll-reader-app", HR) == {NOTICES: set()}
    oracle.group_user_remove(staff["users"]["carol"], staff["payroll"])
    assert granted_to_carol(keycloak, realm) == {HANDBOOK: set(), NOTICES: set()}

    counting_proxy.reset()
    proxied = dict(env, KEYCLOAK_URL=counting_proxy.url)
    again = run_module("confidential_client", args(realm, HR_AUTHORIZATION, server=HR), proxied)
    assert again.rc == 0 and again.result["changed"] is False, again.output
    assert counting_proxy.writes("admin") == 0, counting_proxy.calls

    # An aggregate follows its parts: affirmative, being staff or being carol is enough to edit.
    either = copy.deepcopy(HR_AUTHORIZATION)
    either["policies"][2]["decision_strategy"] = "affirmative"
    checked = run_module("confidential_client", args(realm, either, server=HR), proxied, check=True, diff=True)
    assert checked.rc == 0 and checked.result["changed"] is True, checked.output
    assert counting_proxy.writes("admin") == 0, counting_proxy.calls
    applied = run_module("confidential_client", args(realm, either, server=HR), env, diff=True)
    assert applied.rc == 0 and applied.result["changed"] is True, applied.output
    assert diff_lines(checked) == diff_lines(applied) != [], checked.output
    assert granted(keycloak, realm, "billing-worker", HR) == {PAYSLIPS: {"view", "edit"}, NOTICES: set()}
    assert granted_to_carol(keycloak, realm) == {PAYSLIPS: {"edit"}, HANDBOOK: set(), NOTICES: set()}
    oracle.group_user_remove(staff["users"]["billing-worker"], staff["staff"])
    assert granted(keycloak, realm, "billing-worker", HR) == {NOTICES: set()}


def test_exclusive_removes_what_is_no_longer_declared(keycloak, realm, env, counting_proxy, oracle, consumers):
    server = "urn:acme/ledger"
    full = dict(copy.deepcopy(AUTHORIZATION), exclusive=True)
    first = run_module("confidential_client", args(realm, full, server=server), env)
    assert first.rc == 0 and first.result["changed"] is True, first.output
    assert granted(keycloak, realm, "billing-worker", server) == {INVOICES: set(CRUD)}
    # Something made by hand, besides the declaration: exclusive removes it.
    uuid = oracle.get_client_id(server)
    base = "admin/realms/%s/clients/%s/authz/resource-server" % (realm, uuid)
    oracle.connection.raw_post(base + "/scope", data=json.dumps({"name": "by-hand"}))

    # The write permission is taken out of the declaration: it goes, and with it the billing worker's writes.
    narrow = copy.deepcopy(full)
    narrow["permissions"] = [p for p in narrow["permissions"] if p["name"] != "write invoices"]
    counting_proxy.reset()
    proxied = dict(env, KEYCLOAK_URL=counting_proxy.url)
    checked = run_module("confidential_client", args(realm, narrow, server=server), proxied, check=True, diff=True,
                         verbosity=3)
    assert checked.rc == 0 and checked.result["changed"] is True, checked.output
    assert counting_proxy.writes("admin") == 0, counting_proxy.calls
    assert '"write invoices"' in checked.output and '"by-hand"' in checked.output, checked.output
    assert "write invoices" not in checked.result["end_state"]["authorization"]["permissions"]
    secret = oracle.get_client_secrets(uuid)["value"]
    assert secret not in checked.output
    applied = run_module("confidential_client", args(realm, narrow, server=server), env, diff=True)
    assert applied.rc == 0 and applied.result["changed"] is True, applied.output
    assert diff_lines(checked) == diff_lines(applied) != [], checked.output
    assert granted(keycloak, realm, "billing-worker", server) == {INVOICES: {"read"}}
    assert granted(keycloak, realm, "payroll-reader-app", server) == {INVOICES: {"read"}}
    assert names_of(oracle, base, "policies") == {"invoice-readers", "billing-service", "read invoices"}
    assert names_of(oracle, base, "scopes") == set(CRUD)

    counting_proxy.reset()
    again = run_module("confidential_client", args(realm, narrow, server=server), proxied)
    assert again.rc == 0 and again.result["changed"] is False, again.output
    assert counting_proxy.writes("admin") == 0, counting_proxy.calls

    # state: absent on single items: the read permission (first), then its policy.
    gone = copy.deepcopy(narrow)
    del gone["exclusive"]
    gone["permissions"] = [dict(name="read invoices", state="absent")]
    gone["policies"] = [dict(name="invoice-readers", state="absent"), gone["policies"][1]]
    removed = run_module("confidential_client", args(realm, gone, server=server), env, diff=True)
    assert removed.rc == 0 and removed.result["changed"] is True, removed.output
    assert granted(keycloak, realm, "payroll-reader-app", server) == {}
    assert names_of(oracle, base, "policies") == {"billing-service"}
    counting_proxy.reset()
    assert run_module("confidential_client", args(realm, gone, server=server), proxied).result["changed"] is False
    assert counting_proxy.writes("admin") == 0, counting_proxy.calls


def test_provision_resolves_policies_naming_public_clients_of_the_same_declaration(keycloak, tmp_path):
    """On a fresh realm, a resource server whose client policy names a public client declared after it in the same
    provision_clients provisions in one run, in check mode first (nothing written), then for real, then idempotent."""
    fresh = new_realm(keycloak, prefix="cross")
    try:
        declaration = [
            dict(client_id="urn:acme/orders", preset="service",
                 authorization=dict(scopes=["read"], resources=[dict(name="orders", scopes=["read"])],
                                    policies=[dict(name="spa-users", type="client", clients=["orders-spa"])],
                                    permissions=[dict(name="spa reads", resources=["orders"], scopes=["read"],
                                                      policies=["spa-users"])])),
            dict(client_id="orders-spa", kind="public", preset="spa", redirect_uris=["https://orders.example/cb"])]
        playbook = tmp_path / "provision.yml"
        playbook.write_text(yaml.safe_dump([dict(
            hosts="localhost", connection="local", gather_facts=False,
            roles=[dict(role="keycloak_ops.clients.provision",
                        vars=dict(provision_realm=fresh, provision_clients=declaration))])]))
        env = ansible_env(keycloak)
        server = admin_client(keycloak, fresh)
        checked = run_playbook(str(playbook), env, check=True)
        assert checked.rc == 0, checked.output[-3000:]
        assert server.get_client_id("orders-spa") is None and server.get_client_id("urn:acme/orders") is None

        first = run_playbook(str(playbook), env)
        assert first.rc == 0, first.output[-3000:]
        resource_server = server.get_client_id("urn:acme/orders")
        policies = server.connection.raw_get("admin/realms/%s/clients/%s/authz/resource-server/policy?name=spa-users"
                                             % (fresh, resource_server)).json()
        assert json.loads(policies[0]["config"]["clients"]) == [server.get_client_id("orders-spa")]

        again = run_playbook(str(playbook), env)
        assert again.rc == 0 and "changed=0" in again.output, again.output[-3000:]
    finally:
        admin_client(keycloak).delete_realm(fresh)
