"""Many clients in one task against the real Keycloak: the realm's listing instead of a query per client, writes a
few at a time, and still all-or-nothing."""
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
