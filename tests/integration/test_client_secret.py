"""client_secret_info, client_secret and the client_secret lookup against the real Keycloak.

The Keycloak of the harness runs with the client-secret-rotation feature, so graceful rotation is real here.
"""
import os
import tempfile
import threading
import time

import pytest
from keycloak import KeycloakAdmin, KeycloakOpenIDConnection

from tests.harness.counting_proxy import CountingProxy
from tests.integration import oidc
from tests.integration.runner import ansible_env, run_module, run_playbook

MASKED = "**********"
# The consumer loop: bounded in count and time, to the harness's server only.
LOOP_MAX_REQUESTS = 3000
LOOP_MAX_SECONDS = 120
LOOP_REQUESTS_EACH_SIDE = 25


def make_client(oracle, client_id, **extra):
    """A service client created without our code; returns its secret."""
    oracle.create_client(dict(dict(clientId=client_id, publicClient=False, serviceAccountsEnabled=True,
                                   standardFlowEnabled=False), **extra))
    return secret_of(oracle, client_id)


def secret_of(oracle, client_id):
    return oracle.get_client_secrets(oracle.get_client_id(client_id))["value"]


def attributes_of(oracle, client_id):
    return oracle.get_client(oracle.get_client_id(client_id)).get("attributes") or {}


def token_error(keycloak, realm, client_id, secret):
    """None when the secret obtains a client-credentials token, else Keycloak's error code."""
    status, body = oidc.client_credentials(keycloak, realm, client_id, secret)
    return None if status == 200 and body.get("access_token") else body.get("error", status)


def ok(run):
    assert run.rc == 0, run.output
    return run.result


class TokenLoop(threading.Thread):
    """A consumer of a client: client-credentials requests in a loop with whatever secret it holds now."""

    def __init__(self, keycloak, realm, client_id, secret):
        super().__init__(daemon=True)
        self.args = (keycloak, realm, client_id)
        self.secret = secret
        self.requests = 0
        self.failures = []
        self._stop_event = threading.Event()

    def run(self):
        deadline = time.monotonic() + LOOP_MAX_SECONDS
        while not self._stop_event.is_set() and self.requests < LOOP_MAX_REQUESTS and time.monotonic() < deadline:
            error = token_error(*self.args, self.secret)
            self.requests += 1
            if error:
                self.failures.append(error)

    def wait_for(self, count):
        while self.requests < count and self.is_alive():
            time.sleep(0.01)
        assert self.requests >= count, "the token loop ended early (%d requests)" % self.requests

    def stop(self):
        self._stop_event.set()
        self.join(timeout=60)


def rotate_under_load(keycloak, realm, env, client_id, old_secret, args):
    """Rotate while a consumer requests tokens; the consumer switches to the new secret when the task returns."""
    loop = TokenLoop(keycloak, realm, client_id, old_secret)
    loop.start()
    try:
        loop.wait_for(LOOP_REQUESTS_EACH_SIDE)
        before = loop.requests
        run = run_module("client_secret", dict(args, realm=realm, client_id=client_id), env)
        if run.rc == 0 and run.result.get("secret"):
            loop.secret = run.result["secret"]  # redelivery: the consumer now holds the new secret
        during = loop.requests - before
        loop.wait_for(loop.requests + LOOP_REQUESTS_EACH_SIDE)
    finally:
        loop.stop()
    return run, loop, during


class RefusingProxy(CountingProxy):
    """A counting proxy in front of Keycloak that refuses (HTTP 400) the next request of `method` whose path holds
    `path_part`: a refusal Keycloak itself gives only in races (a client deleted meanwhile), made certain."""

    def __init__(self, server, method, path_part):
        super().__init__(server.url, ca_path=server.ca_path)
        self.refuse(method, path_part, 400)


def admin_writes_by_endpoint(proxy):
    """{(method, what): count} of the admin writes, what being the last path segment that is not an id."""
    counts: dict = {}
    for method, path in list(proxy.calls):
        if method in ("GET", "HEAD") or "/admin/realms" not in path:
            continue
        segments = [s for s in path.split("?")[0].split("/") if s and len(s) != 36]
        key = (method, segments[-1])
        counts[key] = counts.get(key, 0) + 1
    return counts


# -- client_secret_info ------------------------------------------------------------------------


def test_info_returns_the_secret_and_its_creation_time(keycloak, realm, oracle, env):
    secret = make_client(oracle, "info-one")
    result = ok(run_module("client_secret_info", dict(realm=realm, client_id="info-one"), env))
    assert result["changed"] is False
    assert result["secret"] == secret
    assert result["created_at"].endswith("Z") and 0 <= result["age"] < 600
    assert result["rotated_secret"] is None and result["rotated_expires_at"] is None
    assert result["expires_at"] is None, "no rotation policy covers the client"
    assert token_error(keycloak, realm, "info-one", result["secret"]) is None


def test_info_for_many_clients_costs_one_token(realm, oracle, env, counting_proxy):
    expected = {"many-%d" % i: make_client(oracle, "many-%d" % i) for i in range(6)}
    make_client(oracle, "many-elsewhere")
    clients = list(expected)[:5] + [{"client_id": "many-5", "realm": realm}]
    run = run_module("client_secret_info", dict(realm=realm, clients=clients), dict(env, KEYCLOAK_URL=counting_proxy.url))
    result = ok(run)
    assert [c["client_id"] for c in result["clients"]] == list(expected)
    assert {c["client_id"]: c["secret"] for c in result["clients"]} == expected
    assert counting_proxy.counts("token") == {"POST": 1}, "one token for the whole task"
    assert counting_proxy.writes("admin") == 0
    print("\ninfo for 6 clients: %d admin reads, token requests %s" % (counting_proxy.reads("admin"), counting_proxy.counts("token")))
    assert counting_proxy.reads("admin") <= 2, "the realm's listing holds the clients and their secrets"


def test_info_errors_name_the_client(realm, oracle, env):
    oracle.create_client({"clientId": "info-public", "publicClient": True})
    run = run_module("client_secret_info", dict(realm=realm, clients=["info-nope", "info-public"]), env)
    assert run.rc != 0 and run.result["msg"].startswith("clients[0] (client 'info-nope'): no such client"), run.output
    run = run_module("client_secret_info", dict(realm=realm, client_id="info-public"), env)
    assert "public client" in run.result["msg"] and "\n" not in run.result["msg"]


def test_masked_secret_fails_naming_manage_clients(keycloak, realm, oracle, env):
    """An admin holding only view-clients: Keycloak >= 26.8 answers '**********' instead of the secret."""
    target = make_client(oracle, "masked-target")
    viewer_secret = make_client(oracle, "viewer-only")
    viewer = oracle.get_client_service_account_user(oracle.get_client_id("viewer-only"))
    realm_management = oracle.get_client_id("realm-management")
    oracle.assign_client_role(viewer["id"], realm_management, [oracle.get_client_role(realm_management, "view-clients")])
    viewer_admin = KeycloakAdmin(connection=KeycloakOpenIDConnection(
        server_url=keycloak.url + "/", realm_name=realm, client_id="viewer-only", client_secret_key=viewer_secret,
        verify=keycloak.ca_path or True))
    seen = viewer_admin.get_client_secrets(oracle.get_client_id("masked-target"))["value"]
    if seen != MASKED:
        # Keycloak before 26.8 (keycloak#49220) still shows view-clients the secret. Have the real server answer
        # the placeholder it sends from 26.8 on, by storing it as the secret, to exercise the same response.
        assert seen == target
        print("\nthis Keycloak shows view-clients the secret; checking the mask as stored placeholder")
        uuid = oracle.get_client_id("masked-target")
        oracle.update_client(uuid, {"clientId": "masked-target", "secret": MASKED})
        assert viewer_admin.get_client_secrets(uuid)["value"] == MASKED
    viewer_env = ansible_env(keycloak, KEYCLOAK_REALM=realm, KEYCLOAK_CLIENT_ID="viewer-only",
                             KEYCLOAK_CLIENT_SECRET=viewer_secret)
    del viewer_env["KEYCLOAK_USER"], viewer_env["KEYCLOAK_PASSWORD"]
    run = run_module("client_secret_info", dict(realm=realm, client_id="masked-target"), viewer_env)
    assert run.rc != 0, run.output
    message = run.result["msg"]
    assert "'manage-clients'" in message and "masked" in message and "client 'viewer-only'" in message, message
    assert "secret" not in run.result or run.result.get("secret") is None
    playbook = debug_playbook("lookup('keycloak_ops.clients.client_secret', 'masked-target', realm='%s') | length" % realm)
    looked_up = run_playbook(playbook, viewer_env)
    assert looked_up.rc != 0 and "'manage-clients'" in looked_up.output, looked_up.output


# -- client_secret -----------------------------------------------------------------------------


def test_graceful_rotation_keeps_both_secrets_then_retire_kills_the_old(keycloak, realm, oracle, env, counting_proxy):
    old = make_client(oracle, "graceful")
    args = dict(realm=realm, client_id="graceful", grace_period="1h", secret_expiration="30d")
    result = ok(run_module("client_secret", args, env))
    assert result["changed"] is True and result["action"] == "regenerated" and result["graceful"] is True
    new = result["secret"]
    assert new != old and new == secret_of(oracle, "graceful")
    assert token_error(keycloak, realm, "graceful", old) is None, "the old secret works during the grace period"
    assert token_error(keycloak, realm, "graceful", new) is None
    attributes = attributes_of(oracle, "graceful")
    assert attributes["keycloak-ops.secret-rotation-policy"] == "keycloak-ops-secret-rotation"
    grace = int(attributes["client.secret.rotated.expiration.time"]) - int(attributes["client.secret.rotated.creation.time"])
    assert grace == 3600
    assert result["rotated_expires_at"] and result["expires_at"] and result["rotation_policy"]

    info = ok(run_module("client_secret_info", dict(realm=realm, client_id="graceful"), env))
    assert info["secret"] == new and info["rotated_secret"] == old and info["rotated_expired"] is False
    assert info["rotated_expires_at"] == result["rotated_expires_at"]

    # The policy setup is idempotent: with a fresh secret, a second run sends no write.
    counting_proxy.reset()
    again = ok(run_module("client_secret", dict(args, max_age="1h"), dict(env, KEYCLOAK_URL=counting_proxy.url)))
    assert again["changed"] is False and again["action"] == "none", again
    assert counting_proxy.writes("admin") == 0, counting_proxy.calls

    retired = ok(run_module("client_secret", dict(realm=realm, client_id="graceful", state="retired"), env))
    assert retired["changed"] is True and retired["action"] == "retired"
    assert token_error(keycloak, realm, "graceful", old) == "unauthorized_client"
    assert token_error(keycloak, realm, "graceful", new) is None
    assert ok(run_module("client_secret", dict(realm=realm, client_id="graceful", state="retired"), env))["changed"] is False


def test_a_client_leaves_the_rotation_policy_through_its_attribute(keycloak, realm, oracle, env):
    old = make_client(oracle, "leaving")
    assert ok(run_module("client_secret", dict(realm=realm, client_id="leaving", grace_period="1h"), env))["graceful"]
    # As the client_secret docs say: an empty policy attribute takes the client out of the policy.
    left = ok(run_module("confidential_client", dict(realm=realm, client_id="leaving", service_accounts=True,
                                                     attributes={"keycloak-ops.secret-rotation-policy": ""}), env))
    assert left["changed"] is True
    predicted = ok(run_module("client_secret", dict(realm=realm, client_id="leaving"), env, check=True))
    assert predicted["graceful"] is False
    current = secret_of(oracle, "leaving")
    rotated = run_module("client_secret", dict(realm=realm, client_id="leaving"), env)
    assert ok(rotated)["graceful"] is False and "the old secret stopped working at once" in rotated.output
    assert token_error(keycloak, realm, "leaving", current) == "unauthorized_client"
    assert old != current


def test_graceful_rotation_under_load_fails_no_request(keycloak, realm, oracle, env):
    old = make_client(oracle, "under-load")
    run, loop, during = rotate_under_load(keycloak, realm, env, "under-load", old, dict(grace_period="10m"))
    print("\ngraceful rotation under load: %d token requests (%d while the task ran), %d failed"
          % (loop.requests, during, len(loop.failures)))
    assert ok(run)["graceful"] is True
    assert loop.failures == []
    assert during > 0, "requests were sent while the rotation ran"


def test_without_a_policy_the_old_secret_dies_at_once_and_the_module_says_so(keycloak, realm, oracle, env):
    old = make_client(oracle, "abrupt")
    run, loop, during = rotate_under_load(keycloak, realm, env, "abrupt", old, {})
    print("\nrotation without a policy under load: %d token requests (%d while the task ran), %d failed"
          % (loop.requests, during, len(loop.failures)))
    result = ok(run)
    assert result["graceful"] is False
    assert "the old secret stopped working at once" in run.output
    assert set(loop.failures) == {"unauthorized_client"}, "the loop sees the outage the warning announces"
    assert token_error(keycloak, realm, "abrupt", old) == "unauthorized_client"
    assert old not in run.output, "the old secret appears nowhere, warnings included"
    warning = [line for line in run.output.splitlines() if "stopped working" in line][0]
    assert result["secret"] not in warning


def test_check_mode_predicts_whether_the_old_secret_survives(realm, oracle, env, counting_proxy):
    make_client(oracle, "predict-covered")
    make_client(oracle, "predict-bare")
    assert ok(run_module("client_secret", dict(realm=realm, client_id="predict-covered", grace_period="10m"), env))
    proxied = dict(env, KEYCLOAK_URL=counting_proxy.url)
    covered = run_module("client_secret", dict(realm=realm, client_id="predict-covered"), proxied, check=True)
    assert ok(covered)["graceful"] is True and "at once" not in covered.output
    bare = run_module("client_secret", dict(realm=realm, client_id="predict-bare"), proxied, check=True)
    assert ok(bare)["changed"] is True and bare.result["graceful"] is False
    assert "regenerating would stop the old secret at once" in bare.output
    assert counting_proxy.writes("admin") == 0, counting_proxy.calls


def test_max_age_rotates_only_old_secrets_and_check_mode_predicts_it(realm, oracle, env, counting_proxy):
    first = make_client(oracle, "aging")
    args = dict(realm=realm, client_id="aging", max_age="90d")
    proxied = dict(env, KEYCLOAK_URL=counting_proxy.url)
    for check in (True, False):
        fresh = ok(run_module("client_secret", args, proxied, check=check))
        assert fresh["changed"] is False and fresh["action"] == "none" and "secret" not in fresh
        assert "younger than max_age 90d" in fresh["reason"]
    assert counting_proxy.writes("admin") == 0 and secret_of(oracle, "aging") == first

    time.sleep(2.1)
    args["max_age"] = 1
    predicted = ok(run_module("client_secret", args, proxied, check=True))
    assert predicted["changed"] is True and predicted["action"] == "regenerated" and "secret" not in predicted
    assert "at least max_age 1s" in predicted["reason"]
    assert counting_proxy.writes("admin") == 0 and secret_of(oracle, "aging") == first
    rotated = ok(run_module("client_secret", args, env))
    assert rotated["changed"] is True and rotated["secret"] != first and rotated["secret"] == secret_of(oracle, "aging")
    args["max_age"] = "1h"
    assert ok(run_module("client_secret", args, env))["changed"] is False, "the new secret is fresh again"


def test_regenerate_many_clients_one_token_and_reads_before_writes(realm, oracle, env, counting_proxy):
    secrets = {name: make_client(oracle, name) for name in ("batch-a", "batch-b")}
    failing = run_module("client_secret", dict(realm=realm, clients=["batch-a", "batch-nope"]), env)
    assert failing.rc != 0 and "clients[1] (client 'batch-nope')" in failing.result["msg"]
    assert "nothing was changed" in failing.result["msg"] and secret_of(oracle, "batch-a") == secrets["batch-a"]
    run = run_module("client_secret", dict(realm=realm, clients=list(secrets), grace_period="5m"),
                     dict(env, KEYCLOAK_URL=counting_proxy.url))
    result = ok(run)
    assert counting_proxy.counts("token") == {"POST": 1}
    assert all(c["graceful"] and c["secret"] != secrets[c["client_id"]] for c in result["clients"])


POLICY_ATTRIBUTE = "keycloak-ops.secret-rotation-policy"


def test_many_clients_rotate_within_the_request_budget(keycloak, realm, oracle, env, counting_proxy):
    """Rotation, a re-run with nothing due, the read of the secrets and the retirement of many clients: a few
    requests per task plus the writes each client needs, no read per client."""
    names = ["budget-%02d" % i for i in range(20)]
    old = {name: make_client(oracle, name) for name in names}
    proxied = dict(env, KEYCLOAK_URL=counting_proxy.url)
    args = dict(realm=realm, clients=names, grace_period="10m", rotation_policy="budget-policy")

    counting_proxy.reset()
    result = ok(run_module("client_secret", args, proxied))
    rotation = (counting_proxy.reads("admin"), admin_writes_by_endpoint(counting_proxy))
    assert [c["client_id"] for c in result["clients"]] == names
    for client in result["clients"]:
        assert client["action"] == "regenerated" and client["graceful"] is True and client["expires_at"]
        assert client["secret"] == secret_of(oracle, client["client_id"]) != old[client["client_id"]]
    assert token_error(keycloak, realm, names[0], old[names[0]]) is None, "graceful: the old secret still works"

    counting_proxy.reset()
    again = ok(run_module("client_secret", dict(args, max_age="1h"), proxied))
    nothing_due = (counting_proxy.reads("admin"), counting_proxy.writes("admin"))
    assert again["changed"] is False and all(c["action"] == "none" for c in again["clients"])

    counting_proxy.reset()
    info = ok(run_module("client_secret_info", dict(realm=realm, clients=names), proxied))
    info_reads = counting_proxy.reads("admin")
    assert {c["client_id"]: c["rotated_secret"] for c in info["clients"]} == old
    assert {c["client_id"]: c["secret"] for c in info["clients"]} == {c["client_id"]: c["secret"] for c in result["clients"]}

    counting_proxy.reset()
    retired = ok(run_module("client_secret", dict(realm=realm, clients=names, state="retired"), proxied))
    retirement = (counting_proxy.reads("admin"), counting_proxy.writes("admin"))
    assert all(c["action"] == "retired" and c["rotated_expires_at"] is None for c in retired["clients"])
    assert token_error(keycloak, realm, names[0], old[names[0]]) == "unauthorized_client"
    assert ok(run_module("client_secret", dict(realm=realm, clients=names, state="retired"), env))["changed"] is False

    print("\n%d clients: rotation %d admin reads, writes %s; nothing due %d reads %d writes; info %d reads; "
          "retirement %d reads %d writes" % ((len(names), rotation[0], rotation[1]) + nothing_due + (info_reads,)
                                             + retirement))
    n = len(names)
    # Reads: the listing, the realm's client policies, the identity's roles, and each rotated client read back once.
    assert rotation[0] <= n + 6
    assert rotation[1] == {("PUT", "profiles"): 1, ("PUT", "policies"): 1, ("PUT", "clients"): n,
                           ("POST", "client-secret"): n}, \
        "the policy once, then per client its policy attribute and the regenerate"
    assert nothing_due[0] <= 5 and nothing_due[1] == 0
    assert info_reads <= 2
    assert retirement[0] <= 5 and retirement[1] == n, "the listing and the identity's roles; no read back"


def test_a_refused_regenerate_names_exactly_the_clients_that_got_a_new_secret(keycloak, realm, oracle, env):
    """A regenerate cannot be undone: the task stops starting clients at the refusal, and its failure names (and its
    result holds) exactly the clients that got a new secret, so that they can still be delivered; the policy
    attribute of the clients that were not rotated is put back."""
    names = ["refused-%02d" % i for i in range(10)]
    old = {name: make_client(oracle, name) for name in names}
    refused = names[5]
    proxy = RefusingProxy(keycloak, "POST", "/clients/%s/client-secret" % oracle.get_client_id(refused)).start()
    try:
        args = dict(realm=realm, clients=names, grace_period="10m", rotation_policy="refusal-policy")
        run = run_module("client_secret", args, dict(env, KEYCLOAK_URL=proxy.url), verbosity=3)
    finally:
        proxy.stop()
    assert run.rc != 0, run.output
    message = run.result["msg"]
    assert message.startswith("clients[5] (client 'refused-05'): Keycloak answered HTTP 400 to POST") and "\n" not in message
    rotated = {c["client_id"]: c["secret"] for c in run.result["clients"]}
    assert refused not in rotated and rotated, message
    assert "regenerated (cannot be undone; their results, with the new secrets, are in clients: deliver them): %s;" \
        % ", ".join(sorted(rotated)) in message
    kept = [name for name in names if name not in rotated]
    assert message.endswith("not regenerated: %s" % ", ".join(kept)), message
    for name in names:
        if name in rotated:
            assert secret_of(oracle, name) == rotated[name] != old[name]
            assert token_error(keycloak, realm, name, old[name]) is None, "graceful: the old one still works"
            assert attributes_of(oracle, name)[POLICY_ATTRIBUTE] == "refusal-policy"
        else:
            assert secret_of(oracle, name) == old[name]
            assert attributes_of(oracle, name).get(POLICY_ATTRIBUTE, "") == "", "the attribute was put back"
    # The new secrets are the result's job (the task runs with no_log); the old ones and the message hold none.
    assert not any(secret in run.output for secret in old.values())
    assert not any(secret in message for secret in rotated.values())


def test_a_refusal_before_any_rotation_undoes_the_policy(keycloak, realm, oracle, env):
    old = make_client(oracle, "refused-alone")
    profiles_before = oracle.connection.raw_get("admin/realms/%s/client-policies/profiles" % realm).json()
    policies_before = oracle.connection.raw_get("admin/realms/%s/client-policies/policies" % realm).json()
    proxy = RefusingProxy(keycloak, "POST", "/clients/%s/client-secret" % oracle.get_client_id("refused-alone")).start()
    try:
        args = dict(realm=realm, client_id="refused-alone", grace_period="10m", rotation_policy="undone-policy")
        run = run_module("client_secret", args, dict(env, KEYCLOAK_URL=proxy.url))
    finally:
        proxy.stop()
    assert run.rc != 0 and run.result["msg"].endswith("no client was regenerated; not regenerated: refused-alone"), \
        run.result["msg"]
    assert secret_of(oracle, "refused-alone") == old
    assert attributes_of(oracle, "refused-alone").get(POLICY_ATTRIBUTE, "") == ""
    assert oracle.connection.raw_get("admin/realms/%s/client-policies/profiles" % realm).json() == profiles_before
    assert oracle.connection.raw_get("admin/realms/%s/client-policies/policies" % realm).json() == policies_before


BAD_OPTIONS = [
    (dict(state="retired", max_age="1d"), "apply to state=regenerated"),
    (dict(max_age="soon"), "max_age: expected a positive number of seconds"),
    (dict(grace_period="2d", secret_expiration="1d"), "grace_period (2d) must be shorter than secret_expiration (1d)"),
    (dict(secret_expiration="1d"), "secret_expiration"),
]


@pytest.mark.parametrize("args,message", BAD_OPTIONS)
def test_bad_options_fail_before_any_request(env, args, message):
    run = run_module("client_secret", dict(args, client_id="x"), dict(env, KEYCLOAK_URL="http://127.0.0.1:9"))
    assert run.rc != 0 and message in run.result["msg"], run.output


# -- lookup --------------------------------------------------------------------------------------


def write_playbook(text):
    handle, path = tempfile.mkstemp(suffix=".yml")
    with os.fdopen(handle, "w") as stream:
        stream.write(text)
    return path


def debug_playbook(expression):
    """A playbook whose one task shows the expression, templated on localhost."""
    return write_playbook("""
- hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - ansible.builtin.debug:
        msg: "{{ %s }}"
""" % expression)


def test_lookup_returns_secrets_with_env_credentials(realm, oracle, env, tmp_path):
    secrets = [make_client(oracle, name) for name in ("look-a", "look-b")]
    playbook = write_playbook("""
- hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - ansible.builtin.copy:
        dest: "%(out)s/one"
        content: "{{ lookup('keycloak_ops.clients.client_secret', 'look-a', realm='%(realm)s') }}"
        mode: "0600"
      no_log: true
    - ansible.builtin.copy:
        dest: "%(out)s/both"
        content: "{{ query('keycloak_ops.clients.client_secret', 'look-a', 'look-b', realm='%(realm)s') | join(',') }}"
        mode: "0600"
      no_log: true
""" % dict(out=tmp_path, realm=realm))
    run = run_playbook(playbook, env)
    assert run.rc == 0, run.output
    assert (tmp_path / "one").read_text() == secrets[0]
    assert (tmp_path / "both").read_text() == ",".join(secrets)
    missing = debug_playbook("lookup('keycloak_ops.clients.client_secret', 'look-nope', realm='%s')" % realm)
    failed = run_playbook(missing, env)
    assert failed.rc != 0 and "client_secret lookup: client 'look-nope': no such client" in failed.output, failed.output
    no_url = dict(env)
    del no_url["KEYCLOAK_URL"]
    assert "set auth_keycloak_url (or KEYCLOAK_URL)" in run_playbook(missing, no_url).output


# -- leaks ---------------------------------------------------------------------------------------


def test_no_secret_in_verbose_output(keycloak, realm, oracle, env, tmp_path):
    old = make_client(oracle, "quiet-rotation")
    rotated = ok(run_module("client_secret", dict(realm=realm, client_id="quiet-rotation", grace_period="10m"), env))
    new = rotated["secret"]
    runs = [
        run_module("client_secret", dict(realm=realm, client_id="quiet-rotation", max_age="1h", grace_period="10m"),
                   env, diff=True, verbosity=3),
        run_module("client_secret", dict(realm=realm, client_id="quiet-rotation"), env, check=True, diff=True, verbosity=3),
        run_module("client_secret", dict(realm=realm, client_id="quiet-rotation", state="retired"), env, diff=True,
                   verbosity=3),
    ]
    for run in runs:
        assert run.rc == 0, run.output
        assert old not in run.output and new not in run.output
    assert runs[2].result["changed"] is True and "********" in runs[2].output, "the retired secret shows masked"

    playbook = write_playbook("""
- hosts: localhost
  connection: local
  gather_facts: false
  module_defaults:
    group/keycloak_ops.clients.keycloak:
      realm: %(realm)s
  tasks:
    - keycloak_ops.clients.client_secret_info:
        client_id: quiet-rotation
      register: before
      no_log: true
    - keycloak_ops.clients.client_secret:
        client_id: quiet-rotation
        grace_period: 10m
      register: rotation
      no_log: true
    - ansible.builtin.copy:
        dest: "%(out)s/delivered"
        content: "{{ rotation.secret }}|{{ lookup('keycloak_ops.clients.client_secret', 'quiet-rotation', realm='%(realm)s') }}"
        mode: "0600"
      no_log: true
""" % dict(realm=realm, out=tmp_path))
    run = run_playbook(playbook, env, diff=True, verbosity=3)
    assert run.rc == 0, run.output
    delivered, looked_up = (tmp_path / "delivered").read_text().split("|")
    assert delivered == looked_up == secret_of(oracle, "quiet-rotation")
    for secret in (new, delivered):
        assert secret not in run.output
