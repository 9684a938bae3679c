"""The write path of the client modules against the real Keycloak: clients before what names them, authorization
writes inside the rollback, side-effect updates and deletes last and one at a time, and a failure that names
exactly the writes that stand."""
import sys

import pytest
import yaml

from tests.integration.runner import ansible_env, run_module, run_playbook

API = "urn:acme/orders-api"
INTEGRATION = "urn:acme/integration"
# The policy names a client declared after the API client in the same task, which does not exist yet.
AUTHORIZATION = dict(scopes=["read"], resources=[dict(name="orders", scopes=["read"])],
                     policies=[dict(name="integration", type="client", clients=[INTEGRATION])],
                     permissions=[dict(name="read orders", resources=["orders"], scopes=["read"],
                                       policies=["integration"])])


def declaration(prefix=""):
    return [dict(client_id=prefix + API, preset="service",
                 authorization=dict(AUTHORIZATION, policies=[dict(name="integration", type="client",
                                                                  clients=[prefix + INTEGRATION])])),
            dict(client_id=prefix + INTEGRATION, preset="service")]


def policy_clients(oracle, client_id, policy):
    """The client ids a client policy names, as Keycloak holds them."""
    server = oracle.get_client_id(client_id)
    found = [p for p in oracle.get_client_authz_policies(server) if p["name"] == policy]
    assert found, "policy %s missing" % policy
    ids = yaml.safe_load(found[0]["config"]["clients"])
    return sorted(oracle.get_client(i)["clientId"] for i in ids)


def test_a_policy_naming_a_client_of_the_same_task_resolves_and_check_mode_predicts_it(realm, oracle, env):
    args = dict(realm=realm, clients=declaration("one-"))
    check = run_module("confidential_client", args, env, check=True)
    assert check.rc == 0, check.output
    assert check.result["changed"] is True and oracle.get_client_id("one-" + API) is None
    first = run_module("confidential_client", args, env)
    assert first.rc == 0, first.output
    assert policy_clients(oracle, "one-" + API, "integration") == ["one-" + INTEGRATION]
    second = run_module("confidential_client", args, env)
    assert second.rc == 0 and second.result["changed"] is False, second.output


def test_the_same_declaration_through_the_provision_role(realm, oracle, env, tmp_path):
    playbook = tmp_path / "provision.yml"
    playbook.write_text(yaml.safe_dump([dict(hosts="localhost", connection="local", gather_facts=False,
                                             vars=dict(ansible_python_interpreter=sys.executable),
                                             roles=["keycloak_ops.clients.provision"])]))
    extra = dict(provision_realm=realm, provision_clients=declaration("role-"), provision_return_secrets=False)
    check = run_playbook(str(playbook), env, check=True, extra_vars=extra)
    assert check.rc == 0, check.output
    run = run_playbook(str(playbook), env, extra_vars=extra)
    assert run.rc == 0, run.output
    assert policy_clients(oracle, "role-" + API, "integration") == ["role-" + INTEGRATION]


def export(oracle, client_id):
    """The resource server as Keycloak exports it (by name), without what changes with every read."""
    server = oracle.get_client_id(client_id)
    settings = oracle.connection.raw_get("admin/realms/%s/clients/%s/authz/resource-server/settings"
                                         % (oracle.connection.realm_name, server)).json()
    return {kind: sorted(((i["name"], i.get("config"), i.get("uris"), i.get("scopes")) for i in settings.get(kind) or []),
                         key=repr) for kind in ("resources", "policies", "scopes")}


def test_authorization_writes_are_rolled_back_when_keycloak_refuses_a_later_one(
        realm, oracle, keycloak, counting_proxy):
    """Keycloak refuses a later policy (409, as for a name taken by a concurrent writer) after the task wrote a scope,
    changed a resource and created a client: all of it is undone and the message says so."""
    env = ansible_env(keycloak, KEYCLOAK_URL=counting_proxy.url)
    assert run_module("confidential_client", dict(realm=realm, clients=declaration("undo-")), env).rc == 0
    before = export(oracle, "undo-" + API)
    wider = dict(AUTHORIZATION, scopes=["read", "write"], resources=[dict(name="orders", scopes=["read", "write"])],
                 policies=[dict(name="integration", type="client", clients=["undo-" + INTEGRATION]),
                           dict(name="newcomers", type="client", clients=["undo-new"])])
    clients = [dict(client_id="undo-" + API, preset="service", authorization=wider),
               dict(client_id="undo-new", preset="service")]
    counting_proxy.refuse("POST", "/authz/resource-server/policy/client", status=409)
    run = run_module("confidential_client", dict(realm=realm, clients=clients), env)
    assert run.rc != 0, run.output
    message = run.result["msg"]
    assert "409" in message and "this task's earlier writes were rolled back, nothing is changed" in message, message
    assert run.result["stands"] == []
    assert export(oracle, "undo-" + API) == before
    assert oracle.get_client_id("undo-new") is None


@pytest.fixture
def refusing_proxy(counting_proxy):
    """The counting proxy, told per test which write to refuse (403, as fine-grained admin permissions can)."""
    return counting_proxy


def test_side_effect_updates_and_deletes_run_last_and_a_failed_delete_names_what_is_gone(
        realm, oracle, env, refusing_proxy):
    seed = [dict(client_id="last-authz", preset="service", authorization_services=True),
            dict(client_id="last-gone-1", preset="service"), dict(client_id="last-gone-2", preset="service")]
    assert run_module("confidential_client", dict(realm=realm, clients=seed), env).rc == 0
    refused = "/admin/realms/%s/clients/%s" % (realm, oracle.get_client_id("last-gone-2"))
    refusing_proxy.refuse("DELETE", refused, 403)
    clients = [dict(client_id="last-gone-1", state="absent"), dict(client_id="last-gone-2", state="absent"),
               dict(client_id="last-authz", preset="service", authorization_services=False,
                    description="authorization off"),
               dict(client_id="last-new", preset="service", service_account_realm_roles=["offline_access"])]
    run = run_module("confidential_client", dict(realm=realm, clients=clients),
                     dict(env, KEYCLOAK_URL=refusing_proxy.url))
    assert run.rc != 0, run.output
    writes = [(m, p) for m, p in refusing_proxy.calls if m in ("POST", "PUT", "DELETE") and "/admin/" in p]
    # Declared first, written last: the create and its grant, then the side-effect update, then the deletes.
    kinds = [("create" if m == "POST" and p.endswith("/clients") else
              "grant" if "role-mappings" in p else
              "update" if m == "PUT" else
              "delete" if m == "DELETE" and p.count("/") == 5 else "undo") for m, p in writes]
    assert kinds[:5] == ["create", "grant", "update", "delete", "delete"], writes
    message, stands = run.result["msg"], run.result["stands"]
    assert message.startswith("clients[1] (client 'last-gone-2'): Forbidden (HTTP 403") and "\n" not in message
    assert stands == ["updated client last-authz (authorization services off: Keycloak deleted its resource server, "
                      "cannot be undone)", "deleted client last-gone-1 (cannot be undone)"], message
    assert message.endswith("this task's other writes were rolled back; these stand: " + ", ".join(stands))
    assert oracle.get_client_id("last-gone-1") is None and oracle.get_client_id("last-gone-2")
    assert oracle.get_client_id("last-new") is None, "the create before them was rolled back"
    authz = oracle.get_client(oracle.get_client_id("last-authz"))
    assert not authz.get("authorizationServicesEnabled") and authz["description"] == "authorization off"


def test_nothing_was_changed_only_when_true(realm, oracle, env, refusing_proxy):
    assert run_module("confidential_client", dict(realm=realm, client_id="only-gone", preset="service"), env).rc == 0
    refusing_proxy.refuse("DELETE", "/admin/realms/%s/clients/%s" % (realm, oracle.get_client_id("only-gone")), 403)
    run = run_module("confidential_client", dict(realm=realm, client_id="only-gone", state="absent"),
                     dict(env, KEYCLOAK_URL=refusing_proxy.url))
    assert run.rc != 0 and run.result["msg"].endswith("; nothing was changed"), run.output
    assert run.result["stands"] == [] and oracle.get_client_id("only-gone")
