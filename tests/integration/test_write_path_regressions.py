"""Failures of the client write path, each provoked on purpose through the fault-injecting proxy and judged by what
Keycloak holds afterwards (read with python-keycloak) and by what the failure message says:

- a client policy may name a client declared in the same task, before or after the resource server's client;
- a refused task takes back the authorization items it wrote;
- a task whose delete is refused after other deletes succeeded says exactly which clients are gone;
- a refused task names the updates it could not undo because Keycloak deleted something as their side effect.

A task that fails may leave a write standing only when its message names that client and does not say that
nothing changed.
"""
import pytest

from tests.integration.write_path import NOTHING_CHANGED, write_path_realm


@pytest.fixture(scope="module")
def wp(keycloak, tmp_path_factory):
    with write_path_realm(keycloak, tmp_path_factory.mktemp("write-path")) as realm:
        yield realm


def ok(run):
    assert not run.failed, run.msg
    return run


def setup(wp, *clients):
    wp.proxy.reset()
    ok(wp.run(clients=list(clients)))


def failing(run):
    assert run.failed, "the task should have failed: %s" % run.result
    assert "\n" not in run.msg.strip() and "Traceback" not in run.output, run.output
    return run.msg


def assert_exactly_reported(wp, names, before, msg):
    """Every client is as before, or the message names it as standing; "nothing changed" only when true."""
    after = wp.snapshot(names)
    changed = [cid for cid in names if before[cid] != after[cid]]
    unnamed = [cid for cid in changed if cid not in msg]
    assert not unnamed, "changed but not named in the message: %s (message: %s)" % (unnamed, msg)
    if changed:
        assert not any(text in msg for text in NOTHING_CHANGED), \
            "%s changed, yet the message says nothing did: %s" % (changed, msg)
    return changed


# -- a client policy naming a client of the same task ------------------------------------------------------------

def api_with_client_policy(api, caller):
    return dict(client_id=api, preset="service", authorization=dict(
        scopes=["read"], resources=[dict(name="invoices", scopes=["read"])],
        policies=[dict(name="caller", type="client", clients=[caller])],
        permissions=[dict(name="read invoices", resources=["invoices"], scopes=["read"], policies=["caller"])]))


@pytest.mark.parametrize("order", ["caller-after", "caller-before"])
def test_a_client_policy_may_name_a_client_of_the_same_task(wp, order):
    api, caller = "urn:acme/api-" + order, "urn:acme/integration-" + order
    clients = [api_with_client_policy(api, caller), dict(client_id=caller, preset="service")]
    if order == "caller-before":
        clients.reverse()

    wp.proxy.reset()
    predicted = wp.run(check=True, clients=clients)
    assert not predicted.failed, "check mode must predict the task: " + predicted.msg
    assert wp.proxy.writes("admin") == 0
    assert [c["changed"] for c in predicted.items()] == [True, True]

    ok(wp.run(clients=clients))
    state = wp.snapshot([api, caller])
    assert state[caller] is not None
    assert state[api]["authz"]["policies"]["caller"]["clients"] == [caller]
    assert state[api]["authz"]["permissions"]["read invoices"]["policies"] == ["caller"]

    wp.proxy.reset()
    again = ok(wp.run(clients=clients))
    assert not again.result["changed"] and wp.proxy.writes("admin") == 0, "a second run changes nothing"


# -- authorization writes are rolled back ------------------------------------------------------------------------

def test_a_refused_task_takes_back_its_authorization_writes(wp):
    setup(wp, dict(client_id="rs-owner", preset="service", authorization_services=True),
          dict(client_id="rs-neighbour", preset="service"))
    names = ["rs-owner", "rs-neighbour"]
    before = wp.snapshot(names)
    neighbour = wp.ids["rs-neighbour"]

    wp.proxy.reset()
    wp.proxy.fail_write(1, "refuse", 400, path_part="/clients/" + neighbour, method="PUT")
    msg = failing(wp.run(clients=[
        dict(client_id="rs-owner", preset="service", authorization=dict(
            scopes=["read", "write"], resources=[dict(name="reports", scopes=["read", "write"])])),
        dict(client_id="rs-neighbour", preset="service", description="refused"),
    ]))
    assert wp.proxy.injected, "the neighbour's update was refused"
    after = wp.snapshot(names)
    assert after["rs-owner"]["authz"] == before["rs-owner"]["authz"], \
        "authorization items of a refused task stay: %s (message: %s)" % (after["rs-owner"]["authz"], msg)
    assert after == before, msg


# -- a partial delete is reported exactly ------------------------------------------------------------------------

def test_a_refused_delete_after_other_deletes_names_the_clients_gone(wp):
    names = ["gone-1", "gone-2", "gone-3"]
    setup(wp, *[dict(client_id=n, preset="service", service_account_realm_roles=["reader"]) for n in names])
    before = wp.snapshot(names)

    wp.proxy.reset()
    wp.proxy.fail_write(1, "refuse", 403, path_part="/clients/" + wp.ids["gone-2"], method="DELETE")
    msg = failing(wp.run(clients=[dict(client_id=n, state="absent") for n in names]))
    assert wp.proxy.injected, "the delete of gone-2 was refused"
    changed = assert_exactly_reported(wp, names, before, msg)
    assert "gone-2" not in changed, "the refused delete did not happen"
    print("\npartial delete: changed %s; message: %s" % (changed, msg))


# -- updates whose side effects Keycloak cannot undo are named ------------------------------------------------------

SIDE_EFFECTS = {
    # Keycloak deletes the resource server (and every authorization item) when authorization services go off.
    "authorization-off": (dict(preset="service", authorization_services=True, authorization=dict(
        scopes=["read"], resources=[dict(name="ledger", scopes=["read"])])),
        dict(preset="service", authorization_services=False)),
    # Keycloak deletes the service-account user (and its roles) when service accounts go off.
    "service-accounts-off": (dict(preset="service", service_account_realm_roles=["reader", "writer"]),
                             dict(service_accounts=False)),
}


@pytest.mark.parametrize("effect", sorted(SIDE_EFFECTS))
def test_a_refused_task_names_the_updates_keycloak_cannot_undo(wp, effect):
    first, then = SIDE_EFFECTS[effect]
    subject, other = "side-" + effect, "other-" + effect
    setup(wp, dict(client_id=subject, **first), dict(client_id=other, preset="service"))
    names = [subject, other]
    before = wp.snapshot(names)

    wp.proxy.reset()
    wp.proxy.fail_write(1, "refuse", 409, path_part="/clients/" + wp.ids[other], method="PUT")
    msg = failing(wp.run(clients=[dict(client_id=subject, **then),
                                  dict(client_id=other, preset="service", description="refused")]))
    assert wp.proxy.injected, "the other client's update was refused"
    changed = assert_exactly_reported(wp, names, before, msg)
    assert other not in changed
    print("\n%s: changed %s; message: %s" % (effect, changed, msg))
