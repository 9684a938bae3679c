"""Many clients in one task against the real Keycloak: the realm's listing instead of a query per client, writes a
few at a time, and still all-or-nothing."""
from tests.integration.conftest import admin_client, new_realm
from tests.integration.runner import run_module
from tests.integration.test_bad_input import PAIRWISE_UNREACHABLE


def test_rerun_of_thirty_clients_costs_a_few_requests(realm, oracle, env, counting_proxy):
    clients = [dict(client_id="many-%02d" % i) for i in range(30)]
    args = dict(realm=realm, preset="service", default_client_scopes=["profile", "email"], clients=clients,
                return_secret=True)
    proxied = dict(env, KEYCLOAK_URL=counting_proxy.url)
    first = run_module("confidential_client", args, proxied)
    assert first.rc == 0, first.output
    assert counting_proxy.writes("admin") == 30, "one create per client"
    # The secret is generated with the create and returned as sent: no read of it afterwards.
    assert not [p for _m, p in counting_proxy.calls if p.split("?")[0].endswith("/client-secret")], counting_proxy.calls
    for item in first.result["clients"][::10]:
        assert item["secret"] == oracle.get_client_secrets(oracle.get_client_id(item["client_id"]))["value"]
        assert len(item["secret"]) == 32 and item["secret"].isalnum()
    counting_proxy.reset()
    second = run_module("confidential_client", args, proxied)
    assert second.rc == 0 and second.result["changed"] is False, second.output
    assert counting_proxy.writes("admin") == 0, counting_proxy.calls
    assert counting_proxy.total("admin") <= 5, counting_proxy.calls
    assert [c["secret"] for c in second.result["clients"]] == [c["secret"] for c in first.result["clients"]]


def test_a_refusal_amid_parallel_writes_rolls_back_every_write(realm, oracle, env):
    run_module("confidential_client", dict(realm=realm, client_id="amid-kept", preset="service",
                                           description="as declared before"), env)
    # An update first, so that it is written before the refusal; creates on either side of the refused one.
    clients = [dict(client_id="amid-kept", description="changed, then restored")]
    clients += [dict(client_id="amid-%02d" % i) for i in range(1, 21)]
    clients[10]["protocol_mappers"] = [PAIRWISE_UNREACHABLE]  # Keycloak refuses the sector identifier it cannot read
    run = run_module("confidential_client", dict(realm=realm, preset="service", clients=clients), env)
    assert run.rc != 0, run.output
    message = run.result["msg"]
    assert message.startswith("clients[10] (client 'amid-10')") and "\n" not in message, message
    assert "earlier writes were rolled back" in message, message
    left = [c["clientId"] for c in oracle.get_clients() if c["clientId"].startswith("amid-")]
    assert left == ["amid-kept"], left
    assert oracle.get_client(oracle.get_client_id("amid-kept"))["description"] == "as declared before"


def test_rerun_reads_service_account_roles_per_role_not_per_client(realm, oracle, env, counting_proxy):
    oracle.create_realm_role({"name": "many-reader"})
    clients = [dict(client_id="roles-%02d" % i) for i in range(30)]
    clients[7]["service_account_client_roles"] = {"realm-management": ["view-clients"]}
    args = dict(realm=realm, preset="service", service_account_realm_roles=["many-reader"], clients=clients)
    proxied = dict(env, KEYCLOAK_URL=counting_proxy.url)
    first = run_module("confidential_client", args, proxied)
    assert first.rc == 0, first.output
    user = oracle.get_client_service_account_user(oracle.get_client_id("roles-07"))
    assert "many-reader" in [r["name"] for r in oracle.get_realm_roles_of_user(user["id"])]
    counting_proxy.reset()
    second = run_module("confidential_client", args, proxied)
    assert second.rc == 0 and second.result["changed"] is False, second.output
    assert counting_proxy.writes("admin") == 0, counting_proxy.calls
    # The probe and the listing; per declared role (2): the role and its holders.
    assert counting_proxy.total("admin") <= 2 + 2 * 2, counting_proxy.calls
    # A role taken away outside the task is granted again.
    oracle.delete_realm_roles_of_user(user["id"], [oracle.get_realm_role("many-reader")])
    third = run_module("confidential_client", args, env)
    assert third.rc == 0 and [c["client_id"] for c in third.result["clients"] if c["changed"]] == ["roles-07"]
    assert "many-reader" in [r["name"] for r in oracle.get_realm_roles_of_user(user["id"])]


def test_a_big_realm_is_queried_client_by_client(keycloak, env, counting_proxy):
    realm = new_realm(keycloak)
    try:
        oracle = admin_client(keycloak, realm)
        for index in range(3 * 6 + 1):  # more than three clients' queries cost to list (LISTED_PER_QUERY)
            oracle.create_client({"clientId": "other-%03d" % index, "publicClient": True})
        clients = ["other-000", "big-1", "big-2"]
        run = run_module("confidential_client", dict(realm=realm, preset="service", clients=clients),
                         dict(env, KEYCLOAK_URL=counting_proxy.url))
        assert run.rc == 0, run.output
        assert [c["changed"] for c in run.result["clients"]] == [True, True, True]
        reads = [p for m, p in counting_proxy.calls if m == "GET" and p.startswith("/admin/realms/%s/clients?" % realm)]
        assert len(reads) == 1 + 3 and sum("clientId=" in p for p in reads) == 3, reads
        assert oracle.get_client(oracle.get_client_id("other-000"))["publicClient"] is False
    finally:
        admin_client(keycloak).delete_realm(realm)
