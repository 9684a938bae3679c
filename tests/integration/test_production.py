"""The collection against a production-shaped Keycloak: two nodes on PostgreSQL behind HAProxy ending TLS.

Every request goes through the proxy's HTTPS URL with the throwaway CA, as it would to a real deployment; the
proxy's log tells which node served each request, which writes were sent, and which creates were acknowledged.
The tests run in file order: the last ones stop and kill nodes.
"""
import threading
import time

import pytest

from tests.integration import oidc
from tests.integration.conftest import admin_client, new_realm
from tests.integration.runner import ansible_env, run_module
from tests.integration.test_client_secret import rotate_under_load

SERVICE = {"publicClient": False, "serviceAccountsEnabled": True, "standardFlowEnabled": False}
READS = ("GET", "HEAD")
# Bounds of the waits on a task running in the background, to the harness's servers only.
TASK_SECONDS = 600


@pytest.fixture(scope="module")
def cluster(keycloak_production):
    return keycloak_production


@pytest.fixture
def realm(cluster):
    """A fresh realm per test (not deleted: the whole database goes with the cluster)."""
    return new_realm(cluster, prefix="prod")


def automation_env(cluster, realm, roles):
    """How an automation platform logs in: a service account of the realm holding only `roles` of realm-management,
    the proxy's public URL and the CA that signed its certificate."""
    oracle = admin_client(cluster, realm)
    uuid = oracle.create_client(dict(SERVICE, clientId="automation"))
    realm_management = oracle.get_client_id("realm-management")
    oracle.assign_client_role(oracle.get_client_service_account_user(uuid)["id"], realm_management,
                              [oracle.get_client_role(realm_management, role) for role in roles])
    return ansible_env(None, KEYCLOAK_URL=cluster.url, KEYCLOAK_CA_PATH=cluster.ca_path, KEYCLOAK_REALM=realm,
                       KEYCLOAK_CLIENT_ID="automation", KEYCLOAK_CLIENT_SECRET=oracle.get_client_secrets(uuid)["value"])


@pytest.fixture
def env(cluster, realm):
    return automation_env(cluster, realm, ("manage-clients", "view-realm"))


def ok(run):
    assert run.rc == 0, run.output[-3000:]
    return run.result


def admin_requests(records, realm):
    return [r for r in records if r.path.startswith("/admin/realms/%s/" % realm)]


def by_node(records):
    counts = {}
    for record in records:
        counts[record.node] = counts.get(record.node, 0) + 1
    return counts


def service_clients(prefix, count):
    return [dict(client_id="%s-%03d" % (prefix, i)) for i in range(count)]


def client_ids(cluster, realm):
    """Every clientId of the realm, duplicates included (listed without our code)."""
    return [c["clientId"] for c in admin_client(cluster, realm).get_clients()]


class BackgroundRun(threading.Thread):
    """A module run in a thread, so that a test can stop a node while it works."""

    def __init__(self, module, args, env):
        super().__init__(daemon=True)
        self.call = (module, args, env)
        self.run_result = None

    def run(self):
        self.run_result = run_module(*self.call)

    def finish(self):
        self.join(TASK_SECONDS)
        assert self.run_result is not None, "the task did not end within %ds" % TASK_SECONDS
        return self.run_result


def wait_for_creates(cluster, realm, count, task):
    """Until the proxy has acknowledged `count` client creates in realm (or the task ended)."""
    deadline = time.monotonic() + TASK_SECONDS
    while time.monotonic() < deadline and task.is_alive():
        if len(acknowledged_creates(cluster.proxy_log(), realm)) >= count:
            return
        time.sleep(0.05)


def acknowledged_creates(records, realm):
    """Location (the new client's URL) of every create the proxy answered 201."""
    path = "/admin/realms/%s/clients" % realm
    return [r.location for r in records if r.method == "POST" and r.path == path and r.status == 201]


def one_line_failure(run):
    """A failed task must say why in one line, without a traceback."""
    message = run.result.get("msg", "")
    assert message and "\n" not in message and "Traceback" not in run.output, run.output[-3000:]
    return message


def test_cluster_is_two_production_nodes_behind_tls(cluster):
    assert cluster.url.startswith("https://") and len(cluster.nodes) == 2
    assert all(node.server for node in cluster.nodes)
    print("\nproduction cluster: ready in %.1fs (kc.sh build %.1fs, nodes %s), Keycloak %s at %s" % (
        cluster.startup_seconds, cluster.build_seconds, cluster.node_start_seconds, cluster.version, cluster.url))


def test_many_clients_created_through_both_nodes_then_a_write_free_rerun(cluster, realm, env):
    args = dict(realm=realm, preset="service", default_client_scopes=["profile", "email"],
                clients=service_clients("svc", 60))
    before = len(cluster.proxy_log())
    first = ok(run_module("confidential_client", args, env))
    assert first["changed"] is True and len(first["clients"]) == 60
    created = admin_requests(cluster.proxy_log()[before:], realm)
    served = by_node(created)
    print("\n60 clients created through the proxy: %d admin requests, by node %s" % (len(created), served))
    assert set(served) == {"node1", "node2"} and min(served.values()) >= 10, served
    mark = len(cluster.proxy_log())
    second = ok(run_module("confidential_client", args, env))
    rerun = admin_requests(cluster.proxy_log()[mark:], realm)
    assert second["changed"] is False
    assert [r for r in rerun if r.method not in READS] == [], "a re-run sends no write"
    # The realm's listing answers for all 60 (a few requests), whichever node serves them.
    assert len(rerun) <= 5, [(r.method, r.path) for r in rerun]

    secret = ok(run_module("client_secret_info", dict(realm=realm, client_id="svc-007"), env))["secret"]
    issued = {}
    for _request in range(4):  # consecutive token requests land on alternate nodes
        status, body = oidc.client_credentials(cluster, realm, "svc-007", secret)
        assert status == 200, body
        issued[cluster.proxy_log()[-1].node] = True
    assert set(issued) == {"node1", "node2"}


def test_initial_access_token_count_holds_across_nodes(cluster, realm, env, tmp_path):
    iat = ok(run_module("initial_access_token", dict(realm=realm, state="present", count=2, expiration="10m"), env))
    node1, node2 = cluster.nodes
    # Straight to each node (the proxy could send both to one): the count lives in the shared database.
    for index, node in enumerate((node1, node2, node1)):
        host_env = ansible_env(None, KEYCLOAK_URL=node.url)
        run = run_module("client_registration", dict(realm=realm, credentials_file=str(tmp_path / ("%d.json" % index)),
                                                     initial_access_token=iat["token"], client_id="self-%d" % index,
                                                     metadata=SERVICE), host_env)
        if index < 2:
            assert ok(run)["changed"] is True
        else:
            assert run.rc != 0 and "is used up" in one_line_failure(run), run.output[-3000:]
    assert sorted(i for i in client_ids(cluster, realm) if i.startswith("self-")) == ["self-0", "self-1"]


def test_graceful_rotation_under_token_load_through_the_proxy(cluster, realm):
    env = automation_env(cluster, realm, ("manage-clients", "view-realm", "manage-realm"))
    oracle = admin_client(cluster, realm)
    oracle.create_client(dict(SERVICE, clientId="rotated"))
    old = oracle.get_client_secrets(oracle.get_client_id("rotated"))["value"]
    mark = len(cluster.proxy_log())
    run, loop, during = rotate_under_load(cluster, realm, env, "rotated", old, dict(grace_period="10m"))
    tokens = [r for r in cluster.proxy_log()[mark:] if r.path.endswith("/realms/%s/protocol/openid-connect/token" % realm)]
    print("\ngraceful rotation through the proxy: %d token requests (%d while the task ran), %d failed, by node %s"
          % (loop.requests, during, len(loop.failures), by_node(tokens)))
    assert ok(run)["graceful"] is True
    assert loop.failures == []
    assert set(by_node(tokens)) == {"node1", "node2"}


def test_a_node_stopped_mid_run_then_the_rerun_converges(cluster, realm, env):
    node = cluster.node("node2")
    args = dict(realm=realm, preset="service", clients=service_clients("stop", 100))
    task = BackgroundRun("confidential_client", args, env)
    task.start()
    wait_for_creates(cluster, realm, 25, task)
    stopped_at = len(acknowledged_creates(cluster.proxy_log(), realm))
    node.stop()  # SIGTERM: Keycloak's graceful shutdown, the proxy's health check takes it out
    first = task.finish()
    outcome = "completed" if first.rc == 0 else "failed: " + one_line_failure(first)
    second = ok(run_module("confidential_client", args, env))
    ids = client_ids(cluster, realm)
    print("\nnode2 stopped after %d of 100 creates; first run %s; re-run created %d"
          % (stopped_at, outcome, sum(c["changed"] for c in second["clients"])))
    assert sorted(i for i in ids if i.startswith("stop-")) == ["stop-%03d" % i for i in range(100)], "no duplicate"
    assert ok(run_module("confidential_client", args, env))["changed"] is False

    restarted = node.start(timeout=240)
    cluster.wait_in_rotation(node)
    print("node2 restarted in %.1fs" % restarted)


def test_a_node_killed_during_200_creates_loses_no_acknowledged_client(cluster, realm, env):
    # node2 joined last, so node1 coordinates the Infinispan cluster: a killed coordinator still registered in
    # the database makes the survivor report itself not ready for a while (Keycloak's split-brain check).
    victim, survivor = cluster.node("node2"), cluster.node("node1")
    args = dict(realm=realm, preset="service", clients=service_clients("crash", 200))
    mark = len(cluster.proxy_log())
    task = BackgroundRun("confidential_client", args, env)
    started = time.monotonic()
    task.start()
    wait_for_creates(cluster, realm, 60, task)
    victim.kill()  # SIGKILL: no shutdown hook, requests in flight on it are cut
    killed_after = time.monotonic() - started
    acknowledged_before_kill = len(acknowledged_creates(cluster.proxy_log()[mark:], realm))
    first = task.finish()
    first_records = cluster.proxy_log()[mark:]
    acknowledged = acknowledged_creates(first_records, realm)
    outcome = "completed" if first.rc == 0 else "failed: " + one_line_failure(first)
    survivor_ready = survivor.ready_within(30)
    if not survivor_ready:  # as an orchestrator would: bring the killed node back
        victim.start(timeout=240)
        cluster.wait_in_rotation(victim)

    second = ok(run_module("confidential_client", args, env))
    present = admin_client(cluster, realm).get_clients()
    ids = [c["clientId"] for c in present]
    missing = [loc for loc in acknowledged if loc.rsplit("/", 1)[1] not in {c["id"] for c in present}]
    errors = [r for r in first_records if r.status >= 500 or r.node == "<NOSRV>"]
    print("\n%s SIGKILLed %.1fs into a 200-client run, after %d acknowledged creates; first run %s with %d creates "
          "acknowledged in all; proxy answered %d requests with 5xx; survivor %s; re-run created %d; "
          "acknowledged creates missing: %d"
          % (victim.name, killed_after, acknowledged_before_kill, outcome, len(acknowledged), len(errors),
             "stayed ready" if survivor_ready else "not ready for 30s, killed node restarted",
             sum(c["changed"] for c in second["clients"]), len(missing)))
    assert sorted(i for i in ids if i.startswith("crash-")) == ["crash-%03d" % i for i in range(200)], "no duplicate"
    assert missing == []
    assert ok(run_module("confidential_client", args, env))["changed"] is False
