"""client_scope and the provision role's provision_client_scopes against the real Keycloak, with Keycloak's token
endpoint deciding what a scope means: the Carerix-style case of an API scope with an audience mapper, requested by
a confidential client as an optional scope."""
import base64
import json
import re

import pytest
import requests

from tests.integration import oidc
from tests.integration.conftest import admin_client, new_realm
from tests.integration.runner import ansible_env, run_module, run_playbook

API, CALLER, SCOPE = "candidates-api", "recruiter-sync", "candidates:read"
SCOPES = [dict(name=SCOPE, description="Read candidates",
               protocol_mappers=[dict(name="candidates-api audience", type="audience", client_audience=API)])]
CLIENTS = [dict(client_id=API, preset="service"),
           dict(client_id=CALLER, preset="service", optional_client_scopes=[SCOPE])]


def claims(token):
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def token_for(server, realm, client_id, secret, scope=None):
    data = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
    if scope:
        data["scope"] = scope
    response = requests.post(oidc.token_url(server, realm), data=data, timeout=30, verify=server.ca_path or True)
    return response.status_code, response.json()


def recap(output):
    """(changed, failed) of the play recap's localhost line."""
    found = re.search(r"localhost\s*:\s*ok=\d+\s+changed=(\d+)\s+unreachable=\d+\s+failed=(\d+)", output)
    assert found, output[-2000:]
    return int(found.group(1)), int(found.group(2))


@pytest.fixture
def fresh_realm(keycloak):
    name = new_realm(keycloak, "scopes")
    yield name
    admin_client(keycloak).delete_realm(name)


def write_playbook(path, realm, scopes, clients):
    play = [{"hosts": "localhost", "connection": "local", "gather_facts": False,
             "vars": {"provision_realm": realm, "provision_client_scopes": scopes, "provision_clients": clients},
             "roles": ["keycloak_ops.clients.provision"]}]
    path.write_text(json.dumps(play))
    return str(path)


def test_the_role_makes_an_api_scope_a_client_may_request(keycloak, fresh_realm, counting_proxy, tmp_path):
    playbook = write_playbook(tmp_path / "site.yml", fresh_realm, SCOPES, CLIENTS)
    proxied = ansible_env(keycloak, KEYCLOAK_URL=counting_proxy.url)

    # The preview on an empty realm: the clients name a scope that does not exist yet, and nothing is written.
    preview = run_playbook(playbook, proxied, check=True, diff=True)
    assert preview.rc == 0, preview.output[-3000:]
    assert counting_proxy.writes("admin") == 0, counting_proxy.calls
    assert '"optionalClientScopes": [' in preview.output and SCOPE in preview.output
    assert "would create client %s" % CALLER in preview.output
    oracle = admin_client(keycloak, fresh_realm)
    assert SCOPE not in [s["name"] for s in oracle.get_client_scopes()]

    first = run_playbook(playbook, proxied, diff=True)
    assert first.rc == 0, first.output[-3000:]
    assert recap(first.output)[0] > 0

    caller = oracle.get_client(oracle.get_client_id(CALLER))
    assert SCOPE in caller["optionalClientScopes"] and SCOPE not in caller["defaultClientScopes"]
    secret = oracle.get_client_secrets(caller["id"])["value"]

    # Keycloak decides: requested, the scope and the API's audience are in the token; not requested, neither is.
    status, body = token_for(keycloak, fresh_realm, CALLER, secret, scope=SCOPE)
    assert status == 200, body
    token = claims(body["access_token"])
    assert SCOPE in token["scope"].split() and SCOPE in body["scope"].split()
    audience = token["aud"] if isinstance(token["aud"], list) else [token["aud"]]
    assert API in audience, token
    status, body = token_for(keycloak, fresh_realm, CALLER, secret)
    assert status == 200 and SCOPE not in claims(body["access_token"])["scope"].split()
    assert API not in str(claims(body["access_token"]).get("aud"))
    status, body = token_for(keycloak, fresh_realm, CALLER, secret, scope="candidates:write")
    assert (status, body.get("error")) == (400, "invalid_scope"), body

    # The second run writes nothing; its preview predicts nothing; -vvv shows no secret.
    counting_proxy.reset()
    again = run_playbook(playbook, proxied, verbosity=3)
    assert again.rc == 0 and recap(again.output) == (0, 0), again.output[-3000:]
    assert counting_proxy.writes("admin") == 0, [c for c in counting_proxy.calls if c[0] != "GET"]
    assert secret not in again.output
    check = run_playbook(playbook, proxied, check=True, diff=True)
    assert check.rc == 0 and recap(check.output) == (0, 0), check.output[-3000:]


def diff_text(run):
    return run.output[:run.output.rfind("localhost | ")]


def scope_rep(oracle, name):
    return next((s for s in oracle.get_client_scopes() if s["name"] == name), None)


def realm_kind(oracle, realm, name):
    for kind in ("default", "optional"):
        listed = oracle.connection.raw_get("admin/realms/%s/default-%s-client-scopes" % (realm, kind)).json()
        if name in [s["name"] for s in listed]:
            return kind
    return "none"


MANY = dict(scopes=[
    dict(name="tenant", realm_default="default", include_in_token_scope=False, consent_screen_text="Your tenant",
         protocol_mappers=[dict(name="tenant", type="hardcoded_claim", claim_name="tenant", claim_value="acme"),
                           dict(name="dept", type="user_attribute", user_attribute="department", claim_name="dept"),
                           dict(name="roles", type="realm_roles", claim_name="realm_roles"),
                           dict(name="client roles", protocol_mapper="oidc-usermodel-client-role-mapper",
                                config={"claim.name": "client_roles", "multivalued": True})]),
    dict(name="orders:read", realm_default="optional", description="Orders",
         protocol_mappers=[dict(name="orders audience", type="audience", custom_audience="https://orders.example")]),
    "bare:scope",
])


def test_many_scopes_converge_and_check_mode_predicts_each_change(keycloak, fresh_realm, counting_proxy):
    oracle = admin_client(keycloak, fresh_realm)
    proxied = ansible_env(keycloak, KEYCLOAK_URL=counting_proxy.url)
    args = dict(MANY, realm=fresh_realm)
    first = run_module("client_scope", args, proxied)
    assert first.rc == 0 and first.result["changed"], first.output
    assert [s["changed"] for s in first.result["scopes"]] == [True, True, True]
    tenant = scope_rep(oracle, "tenant")
    assert tenant["attributes"]["include.in.token.scope"] == "false"
    assert tenant["attributes"]["consent.screen.text"] == "Your tenant"
    mappers = {m["name"]: m for m in tenant["protocolMappers"]}
    assert mappers["tenant"]["protocolMapper"] == "oidc-hardcoded-claim-mapper"
    assert mappers["tenant"]["config"]["access.token.claim"] == "true"  # the console's default for a new mapper
    assert mappers["client roles"]["config"]["multivalued"] == "true"
    assert realm_kind(oracle, fresh_realm, "tenant") == "default"
    assert realm_kind(oracle, fresh_realm, "orders:read") == "optional"
    assert realm_kind(oracle, fresh_realm, "bare:scope") == "none"

    counting_proxy.reset()
    again = run_module("client_scope", args, proxied)
    assert again.rc == 0 and not again.result["changed"], again.output
    # One listing of the realm's scopes, the realm's two default lists, the server's mapper types (a mapper is
    # declared by its Keycloak id); nothing written, no rights check.
    assert counting_proxy.writes("admin") == 0 and counting_proxy.reads("admin") == 4, counting_proxy.calls

    # A change of each kind: field, attribute, mapper config, mapper type, realm default moved, mapper removed.
    changed = dict(args, scopes=[
        dict(name="tenant", realm_default="optional", include_in_token_scope=True,
             protocol_mappers=[dict(name="tenant", type="hardcoded_claim", claim_name="tenant", claim_value="globex"),
                               dict(name="dept", type="hardcoded_claim", claim_name="dept", claim_value="sales"),
                               dict(name="roles", type="realm_roles", state="absent")]),
        dict(name="orders:read", realm_default="none", description="Orders, read only"),
        "bare:scope"])
    counting_proxy.reset()
    predicted = run_module("client_scope", changed, proxied, check=True, diff=True)
    assert predicted.rc == 0 and predicted.result["changed"], predicted.output
    assert counting_proxy.writes("admin") == 0
    applied = run_module("client_scope", changed, proxied, diff=True)
    assert applied.rc == 0, applied.output
    # The same diff (printed before the result) and the same end state, predicted and done.
    assert diff_text(predicted) == diff_text(applied) and '+    "realmDefault": "optional"' in diff_text(applied)
    assert [s.get("end_state") for s in predicted.result["scopes"]] == [s.get("end_state") for s in applied.result["scopes"]]
    assert [s["changed"] for s in applied.result["scopes"]] == [True, True, False]
    tenant = scope_rep(oracle, "tenant")
    mappers = {m["name"]: m for m in tenant["protocolMappers"]}
    assert mappers["tenant"]["config"]["claim.value"] == "globex"
    assert mappers["dept"]["protocolMapper"] == "oidc-hardcoded-claim-mapper"
    assert "roles" not in mappers and "client roles" in mappers  # undeclared mappers stay
    assert tenant["attributes"]["consent.screen.text"] == "Your tenant"  # not declared: kept
    assert realm_kind(oracle, fresh_realm, "tenant") == "optional"
    assert realm_kind(oracle, fresh_realm, "orders:read") == "none"
    assert scope_rep(oracle, "orders:read")["description"] == "Orders, read only"
    assert not run_module("client_scope", changed, proxied).result["changed"]

    gone = dict(realm=fresh_realm, scopes=["bare:scope", "never-existed"], state="absent")
    predicted = run_module("client_scope", gone, proxied, check=True, diff=True)
    assert predicted.result["changed"] and scope_rep(oracle, "bare:scope") is not None
    assert run_module("client_scope", gone, proxied).result["changed"]
    assert scope_rep(oracle, "bare:scope") is None
    assert not run_module("client_scope", gone, proxied).result["changed"]


def test_a_refused_write_rolls_back_what_the_task_wrote(keycloak, fresh_realm, counting_proxy):
    """Keycloak accepts every write a valid plan sends; the proxy refuses one, as a server may (a concurrent admin,
    a database constraint), after the task's first scope was created and an existing one changed."""
    oracle = admin_client(keycloak, fresh_realm)
    proxied = ansible_env(keycloak, KEYCLOAK_URL=counting_proxy.url)
    base = dict(realm=fresh_realm, name="existing", description="before",
                protocol_mappers=[dict(name="aud", type="audience", client_audience="a")])
    assert run_module("client_scope", base, proxied).rc == 0
    before = scope_rep(oracle, "existing")
    counting_proxy.refuse("PUT", "/default-optional-client-scopes/")
    failed = run_module("client_scope", dict(realm=fresh_realm, scopes=[
        "created-first", dict(name="existing", description="after", realm_default="optional",
                              protocol_mappers=[dict(name="aud", type="audience", client_audience="b")])]), proxied)
    assert failed.rc != 0
    message = failed.result["msg"]
    assert message.startswith("scopes[1] (scope 'existing'): ") and "\n" not in message
    assert message.endswith("this task's earlier writes were rolled back, nothing is changed"), message
    assert scope_rep(oracle, "created-first") is None
    after = scope_rep(oracle, "existing")
    assert after["description"] == "before"
    assert after["protocolMappers"][0]["config"] == before["protocolMappers"][0]["config"]
    assert realm_kind(oracle, fresh_realm, "existing") == "none"


def test_manage_clients_alone_suffices_and_is_checked_before_the_first_write(keycloak, fresh_realm):
    """The rights measured with service accounts holding one realm-management role each."""
    oracle = admin_client(keycloak, fresh_realm)
    management = oracle.get_client_id("realm-management")
    secrets = {}
    for name, roles in (("scopes-manager", ["manage-clients"]), ("scopes-viewer", ["view-clients", "manage-realm"])):
        uuid = oracle.create_client({"clientId": name, "publicClient": False, "serviceAccountsEnabled": True,
                                     "standardFlowEnabled": False})
        user = oracle.get_client_service_account_user(uuid)
        oracle.assign_client_role(user["id"], management, [oracle.get_client_role(management, r) for r in roles])
        secrets[name] = oracle.get_client_secrets(uuid)["value"]

    def as_account(name):
        return ansible_env(None, KEYCLOAK_URL=keycloak.url, KEYCLOAK_REALM=fresh_realm, KEYCLOAK_CLIENT_ID=name,
                           KEYCLOAK_CLIENT_SECRET=secrets[name])

    args = dict(realm=fresh_realm, name="rights:probe", realm_default="default",
                protocol_mappers=[dict(name="aud", type="audience", client_audience="x")])
    refused = run_module("client_scope", args, as_account("scopes-viewer"))
    assert refused.rc != 0 and "lacks the 'manage-clients' role of realm-management" in refused.result["msg"]
    assert refused.result["msg"].endswith("nothing was changed")
    assert scope_rep(oracle, "rights:probe") is None
    done = run_module("client_scope", args, as_account("scopes-manager"))
    assert done.rc == 0 and done.result["changed"], done.output
    assert realm_kind(oracle, fresh_realm, "rights:probe") == "default"
    # The viewer may run a task that changes nothing: reads only.
    assert run_module("client_scope", args, as_account("scopes-viewer")).result["changed"] is False
    gone = run_module("client_scope", dict(realm=fresh_realm, name="rights:probe", state="absent"),
                      as_account("scopes-manager"))
    assert gone.rc == 0 and gone.result["changed"]
