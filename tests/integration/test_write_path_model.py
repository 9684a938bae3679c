"""A model-based test of the client write path: random programs of confidential_client tasks over a few clients,
run against the real Keycloak through a proxy that injects faults, checked after every task against a model.

Each program is a short sequence of tasks; each task is one run of the module over one to three clients (create,
update of description, redirect URIs and flags, delete, default and optional client scopes, service-account realm
roles, authorization items with a client policy naming another client of the same task, a secret given or not),
run in this process. The proxy may refuse the k-th write (400, 403 or 409), drop the connection after a write was
sent, or break the TLS stream while the answer is read. After each task the realm is read with Keycloak's own API
(python-keycloak) and these invariants are checked:

  success                 the clients hold what the model says was declared
  refusal                 the realm is as before the task; a write the failure names as standing for good (a
                          delete, or an update that made Keycloak delete something) is the only exception
  connection lost         every client that differs from before is named in the message, and running the task
                          again without the fault succeeds and the clients hold what was declared
  never twice             no POST reaches Keycloak twice with the same path and body in one run
  no secret in output     no secret (given, generated or read) is in the module's output, except in the
                          `secret` returns the task asked for, and each of those is the client's real secret
  check mode              succeeds, sends no write and changes nothing
  "nothing was changed"   said only when true

Each invariant (and each kind of change breaking it) fails with its own exception class, so Hypothesis reports (and
shrinks) each one separately.

Replay a failure with the seed the test prints: `pytest --hypothesis-seed=N tests/integration/test_write_path_model.py`.
WRITE_PATH_PROGRAMS (200) sets how many programs run; the run prints how many programs, tasks and faults ran, in how
much time, and how often each invariant was violated (programs run while shrinking included).
WRITE_PATH_INVARIANTS (all by default) names the invariants that fail the test, to look past one that fails often.
"""
from __future__ import annotations

import collections
import os
import random
import time
from dataclasses import dataclass, field

import pytest
from hypothesis import HealthCheck, seed, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, rule, run_state_machine_as_test

from tests.integration.write_path import (
    NOTHING_CHANGED, output_without_asked_secrets, secrets_in, write_path_realm,
)

POOL = ("kc-alpha", "kc-bravo", "kc-charlie")
DEFAULT_SCOPES = ("email", "profile")
OPTIONAL_SCOPES = ("address", "phone")
ROLES = ("reader", "writer")
REDIRECTS = ("https://a.example/cb", "https://b.example/cb")
PROGRAMS = int(os.environ.get("WRITE_PATH_PROGRAMS", "200"))

settings.register_profile(
    "write-path-model", max_examples=PROGRAMS, stateful_step_count=2, deadline=None, database=None,
    derandomize=False, print_blob=True, suppress_health_check=list(HealthCheck))

STATS: collections.Counter = collections.Counter()


# -- invariants: one exception class each, so Hypothesis tells them apart ----------------------------------------

class Violation(AssertionError):
    invariant = "violation"


def _violation(name):
    return type("Violation_" + name.replace("-", "_"), (Violation,), {"invariant": name})


INVARIANTS = {name: _violation(name) for name in (
    "success-differs-from-declaration",       # a task that succeeded left a client not as declared
    "failed-without-fault",                   # a task failed although nothing was injected
    "refusal-not-rolled-back",                # a refused task left the realm changed, not named as standing
    "nothing-changed-claimed-falsely",        # the message says nothing changed, but something did
    "lost-connection-writes-not-named",       # a client changed by a task whose connection broke is not named
    "rerun-does-not-converge",                # the re-run after a lost connection fails or ends elsewhere
    "post-sent-twice",                        # one POST reached Keycloak twice in one run
    "secret-in-output",                       # a secret appears in the output where it was not asked for
    "returned-secret-wrong",                  # a `secret` return is not the client's secret
    "check-mode-fails-or-writes",             # check mode failed, wrote or changed something
    "message-not-one-line",                   # a failure with a traceback or several lines
)}


# The invariants that fail the test (WRITE_PATH_INVARIANTS, comma-separated; all by default). The others are only
# counted: a violation found in nearly every program hides the rarer ones behind it.
ENFORCED = [name.strip() for name in os.environ.get("WRITE_PATH_INVARIANTS", ",".join(INVARIANTS)).split(",")
            if name.strip()]


def violate(found: list[tuple[str, str]]) -> None:
    for name, detail in found:
        STATS["violated " + name] += 1
        if detail.startswith("["):
            # What changed, to tell apart violations of one invariant (a delete, authorization items, roles).
            STATS["violated %s %s" % (name, detail.split("]", 1)[0] + "]")] += 1
    found = [pair for pair in found if pair[0] in ENFORCED]
    if found:
        name, detail = found[0]
        raise _violation_class(name, detail.split("]", 1)[0] + "]" if detail.startswith("[") else "")(
            "; ".join("%s: %s" % pair for pair in found))


def _violation_class(name, kind):
    """The exception of an invariant, one per kind of change, so that a failing delete and a failing role grant
    are reported (and shrunk) as the two bugs they are."""
    if not kind:
        return INVARIANTS[name]
    key = name + kind
    if key not in _KINDS:
        _KINDS[key] = type(INVARIANTS[name].__name__ + "_" + "".join(c if c.isalnum() else "_" for c in kind),
                           (INVARIANTS[name],), {})
    return _KINDS[key]


_KINDS: dict = {}


# -- what a program is made of -------------------------------------------------------------------------------------

def policy_name(client_id):
    return "trust-%d" % POOL.index(client_id)


@st.composite
def tasks(draw):
    """The `clients` of one task: one to three distinct clients, each present (with some fields) or absent."""
    ids = draw(st.lists(st.sampled_from(POOL), min_size=1, max_size=len(POOL), unique=True))
    items, wants_authz = [], []
    for cid in ids:
        if draw(st.integers(0, 3)) == 3:
            items.append({"client_id": cid, "state": "absent"})
            continue
        item = {"client_id": cid}
        mode = draw(st.sampled_from(("service", "authz", "off")))
        if mode == "off":
            # The service preset means service accounts: a client without them is declared without the preset.
            item.update(service_accounts=False, authorization_services=False)
        else:
            item["preset"] = "service"
        if mode == "authz":
            item["authorization_services"] = True
        if draw(st.booleans()):
            item["description"] = draw(st.sampled_from(("first", "second")))
        if draw(st.booleans()):
            item["redirect_uris"] = draw(st.lists(st.sampled_from(REDIRECTS), unique=True))
        if draw(st.booleans()):
            item["default_client_scopes"] = draw(st.lists(st.sampled_from(DEFAULT_SCOPES), min_size=1, unique=True))
        if draw(st.booleans()):
            item["optional_client_scopes"] = draw(st.lists(st.sampled_from(OPTIONAL_SCOPES), min_size=1, unique=True))
        if mode != "off" and draw(st.booleans()):
            item["service_account_realm_roles"] = draw(st.lists(st.sampled_from(ROLES), min_size=1, unique=True))
        if draw(st.booleans()):
            item["secret"] = "given-%012x-secret" % draw(st.integers(0, 2 ** 48))
        if mode == "authz" and draw(st.booleans()):
            wants_authz.append(item)
        items.append(item)
    present = [i["client_id"] for i in items if i.get("state") != "absent"]
    for item in wants_authz:
        authorization = {"scopes": ["read", "write"], "resources": [{"name": "res", "scopes": ["read", "write"]}]}
        others = [cid for cid in present if cid != item["client_id"]]
        if others and draw(st.booleans()):
            other = draw(st.sampled_from(others))
            authorization["policies"] = [{"name": policy_name(other), "type": "client", "clients": [other]}]
            authorization["permissions"] = [{"name": "perm", "resources": ["res"],
                                             "scopes": [draw(st.sampled_from(("read", "write")))],
                                             "policies": [policy_name(other)]}]
        item["authorization"] = authorization
    return items


refusals = st.tuples(st.just("refuse"), st.integers(1, 4), st.sampled_from((400, 403, 409)))
# Refusals weigh double: what a task must undo depends on which of its writes is refused.
faults = st.one_of(
    st.none(),
    refusals,
    refusals,
    st.tuples(st.sampled_from(("drop", "tls-status", "tls-body")), st.integers(1, 4), st.just(0)),
)


# -- the model -----------------------------------------------------------------------------------------------------

@dataclass
class Expected:
    """What a present client must hold: the fields declared so far (lists given replace, scopes and roles add up)."""
    fields: dict = field(default_factory=dict)
    secret: str | None = None
    default: set = field(default_factory=set)
    optional: set = field(default_factory=set)
    sa_roles: set = field(default_factory=set)
    authz: dict | None = None  # scopes, resources {name: scopes}, policies {name: client id}, permissions {name: fields}


def declare(model: dict, item: dict) -> None:
    """Fold one declared item into the model."""
    cid = item["client_id"]
    if item.get("state") == "absent":
        model[cid] = None
        for other in model.values():
            if other is not None and other.authz:
                # Keycloak drops a deleted client from the client policies naming it: expect nothing of them.
                gone = [name for name, client in other.authz["policies"].items() if client == cid]
                for name in gone:
                    del other.authz["policies"][name]
                other.authz["permissions"] = {n: p for n, p in other.authz["permissions"].items()
                                              if not set(p["policies"]) & set(gone)}
        return
    exp = model.get(cid) or Expected()
    model[cid] = exp
    service_accounts = item.get("service_accounts", True)  # preset service, or declared false
    exp.fields.update(publicClient=False, serviceAccountsEnabled=service_accounts)
    if item.get("preset") == "service":
        exp.fields.update(standardFlowEnabled=False, directAccessGrantsEnabled=False)
    if not service_accounts:
        exp.sa_roles = set()  # Keycloak deletes the service-account user, and its roles with it
    if "authorization_services" in item or "authorization" in item:
        exp.fields["authorizationServicesEnabled"] = item.get("authorization_services", True)
        if not exp.fields["authorizationServicesEnabled"]:
            exp.authz = None  # Keycloak deletes the resource server
    if "description" in item:
        exp.fields["description"] = item["description"]
    if "redirect_uris" in item:
        exp.fields["redirectUris"] = sorted(item["redirect_uris"])
    exp.default |= set(item.get("default_client_scopes") or [])
    exp.optional |= set(item.get("optional_client_scopes") or [])
    exp.sa_roles |= set(item.get("service_account_realm_roles") or [])
    if "secret" in item:
        exp.secret = item["secret"]
    authorization = item.get("authorization")
    if authorization:
        exp.authz = exp.authz or dict(scopes=set(), resources={}, policies={}, permissions={})
        exp.authz["scopes"] |= set(authorization.get("scopes") or [])
        for resource in authorization.get("resources") or []:
            exp.authz["resources"][resource["name"]] = sorted(resource["scopes"])
        for policy in authorization.get("policies") or []:
            exp.authz["policies"][policy["name"]] = policy["clients"][0]
        for permission in authorization.get("permissions") or []:
            exp.authz["permissions"][permission["name"]] = dict(
                resources=sorted(permission["resources"]), scopes=sorted(permission["scopes"]),
                policies=sorted(permission["policies"]))


def differences(model: dict, realm: dict) -> list[str]:
    """How the realm differs from the model (empty when it holds everything declared)."""
    found = []
    for cid in POOL:
        exp, act = model.get(cid), realm[cid]
        if exp is None or act is None:
            if (exp is None) != (act is None):
                state = ("absent" if act is None else "present", "absent" if exp is None else "present")
                found.append("%s is %s, declared %s" % ((cid,) + state))
            continue
        for key, value in sorted(exp.fields.items()):
            have = bool(act[key]) if isinstance(value, bool) else act[key]
            if have != value:
                found.append("%s.%s is %r, declared %r" % (cid, key, act[key], value))
        if exp.secret is not None and act["secret"] != exp.secret:
            found.append("%s holds another secret than declared" % cid)
        for kind in ("default", "optional"):
            missing = getattr(exp, kind) - set(act[kind])
            if missing:
                found.append("%s lacks %s scopes %s" % (cid, kind, sorted(missing)))
        if exp.sa_roles - set(act["sa_roles"] or []):
            found.append("%s's service account lacks %s" % (cid, sorted(exp.sa_roles - set(act["sa_roles"] or []))))
        if exp.authz is not None:
            found.extend(_authz_differences(cid, exp.authz, act["authz"]))
    return found


def _authz_differences(cid, exp, act):
    if act is None:
        return ["%s has no resource server, declared authorization items" % cid]
    found = []
    if exp["scopes"] - set(act["scopes"]):
        found.append("%s lacks authorization scopes %s" % (cid, sorted(exp["scopes"] - set(act["scopes"]))))
    for name, scopes in exp["resources"].items():
        if act["resources"].get(name) != scopes:
            found.append("%s resource %s has scopes %s, declared %s" % (cid, name, act["resources"].get(name), scopes))
    for name, client in exp["policies"].items():
        if act["policies"].get(name, {}).get("clients") != [client]:
            found.append("%s policy %s is %s, declared clients [%s]" % (cid, name, act["policies"].get(name), client))
    for name, permission in exp["permissions"].items():
        have = act["permissions"].get(name)
        if have is None or any(have[k] != v for k, v in permission.items()):
            found.append("%s permission %s is %s, declared %s" % (cid, name, have, permission))
    return found


def changed_clients(before, after):
    return [cid for cid in POOL if before[cid] != after[cid]]


def what_changed(before, after):
    """'deleted', 'created' or the fields that differ, e.g. 'authz,sa_roles'."""
    if after is None or before is None:
        return "deleted" if after is None else "created"
    return ",".join(sorted(key for key in before if before[key] != after[key]))


def claims_nothing_changed(msg):
    return any(text in msg for text in NOTHING_CHANGED)


def stands_for_good(item, before):
    """Whether a write of this item cannot be undone: a delete, or an update after which Keycloak deletes the
    service-account user or the resource server."""
    if item is None or before is None:
        return False
    if item.get("state") == "absent":
        return True
    return bool((before["serviceAccountsEnabled"] and item.get("service_accounts") is False)
                or (before["authorizationServicesEnabled"] and item.get("authorization_services") is False))


# -- the machine ---------------------------------------------------------------------------------------------------

class WritePathModel(RuleBasedStateMachine):
    wp = None  # the WritePathRealm of the test

    def __init__(self):
        super().__init__()
        self.model: dict = dict.fromkeys(POOL)
        # The realm as last read: every program starts without its clients (teardown deletes them).
        self.realm: dict = dict.fromkeys(POOL)
        self.known = True  # whether self.realm is how the realm is (a step that raised midway leaves it unknown)

    def teardown(self):
        self.wp.delete_clients(POOL, known=self.known)

    def _secrets(self, task, *snapshots):
        values = {self.wp.runner_secret} | {i["secret"] for i in task if i.get("secret")}
        for snap in snapshots:
            values |= {s["secret"] for s in snap.values() if s and s.get("secret")}
        return values

    def _output_checks(self, run, task, return_secret, known, after, check=False) -> list[tuple[str, str]]:
        """check: a check-mode run predicts; a declared secret is what it returns, as the real run would make it."""
        found = []
        declared = {i["client_id"]: i["secret"] for i in task if check and i.get("secret")}
        if run.failed and ("\n" in run.msg.strip() or "Traceback" in run.output):
            found.append(("message-not-one-line", run.msg[:300]))
        leaked = secrets_in(output_without_asked_secrets(run, return_secret), known)
        if leaked:
            found.append(("secret-in-output", "%d secret(s) in the output: %s" % (len(leaked), run.output[:300])))
        if not run.failed and return_secret:
            for item in run.items():
                if item.get("state") == "absent":
                    continue  # a client the task deletes (or, in check mode, would delete) has no secret to return
                state = after.get(item.get("client_id"))
                expected = declared.get(item.get("client_id")) or (state or {}).get("secret")
                if state is not None and item.get("secret") != expected:
                    shown = "the no_log placeholder" if "VALUE_SPECIFIED" in str(item.get("secret")) else "another value"
                    found.append(("returned-secret-wrong", "%s returned %s as its secret" % (item["client_id"], shown)))
        repeated = self.wp.proxy.repeated_writes()
        if repeated:
            found.append(("post-sent-twice", ", ".join("%s %s x%d" % r for r in repeated)))
        return found

    def _learn_secrets(self, after):
        for cid, exp in self.model.items():
            if exp is not None and after[cid] is not None:
                exp.secret = after[cid]["secret"]

    @initialize(task=tasks(), fault=faults, check=st.sampled_from((False, False, False, True)),
                return_secret=st.booleans())
    def first_task(self, task, fault, check, return_secret):
        """Every program runs at least one task."""
        STATS["programs"] += 1
        self.run_task(task, fault, check, return_secret)

    @rule(task=tasks(), fault=faults, check=st.sampled_from((False, False, False, True)),
          return_secret=st.booleans())
    def run_task(self, task, fault, check, return_secret):
        wp = self.wp
        STATS["tasks"] += 1
        before = self.realm
        wp.proxy.reset()
        if fault is not None and not check:
            wp.proxy.fail_write(fault[1], fault[0], fault[2] or 409)
            STATS["faults armed"] += 1
        clock = time.monotonic()
        self.known = False
        run = wp.run(check=check, clients=task, return_secret=return_secret)
        STATS["module seconds"] += time.monotonic() - clock
        fired = list(wp.proxy.injected)
        wp.proxy.disarm()
        for kind, _method, _path in fired:
            STATS["fault " + kind] += 1
        after = self.realm = wp.snapshot(POOL)
        self.known = True
        found = self._output_checks(run, task, return_secret, self._secrets(task, before, after), after, check)
        changed = changed_clients(before, after)
        by_id = {item["client_id"]: item for item in task}

        if check:
            if run.failed or wp.proxy.writes("admin") or changed:
                found.append(("check-mode-fails-or-writes", "failed: %s; writes: %d; changed: %s"
                              % (run.msg or "no", wp.proxy.writes("admin"), changed)))
        elif not run.failed:
            for item in task:
                declare(self.model, item)
            found.extend(("success-differs-from-declaration", d) for d in differences(self.model, after))
            self._learn_secrets(after)
        elif not fired:
            found.append(("failed-without-fault", run.msg))
        elif fired[0][0] == "refuse":
            for cid in changed:
                if stands_for_good(by_id.get(cid), before[cid]) and cid in run.msg:
                    declare(self.model, by_id[cid])
                else:
                    found.append(("refusal-not-rolled-back", "[%s] %s changed (message: %s)"
                                  % (what_changed(before[cid], after[cid]), cid, run.msg)))
            if changed and claims_nothing_changed(run.msg):
                found.append(("nothing-changed-claimed-falsely", "[%s] %s changed; message: %s" % (
                    ";".join(what_changed(before[cid], after[cid]) for cid in changed), changed, run.msg)))
        else:
            unnamed = [cid for cid in changed if cid not in run.msg]
            if unnamed:
                found.append(("lost-connection-writes-not-named", "[%s] %s changed; message: %s" % (
                    ";".join(what_changed(before[cid], after[cid]) for cid in unnamed), unnamed, run.msg)))
            if changed and claims_nothing_changed(run.msg):
                found.append(("nothing-changed-claimed-falsely", "[%s] %s changed; message: %s" % (
                    ";".join(what_changed(before[cid], after[cid]) for cid in changed), changed, run.msg)))
            if any(name in ENFORCED for name, _detail in found):
                violate(found)
            found.extend(self._rerun(task, return_secret))
        violate(found)

    def _rerun(self, task, return_secret):
        """The task again, without a fault: it must succeed and end as declared."""
        wp = self.wp
        STATS["re-runs"] += 1
        before = self.realm
        wp.proxy.reset()
        self.known = False
        run = wp.run(clients=task, return_secret=return_secret)
        after = self.realm = wp.snapshot(POOL)
        self.known = True
        found = self._output_checks(run, task, return_secret, self._secrets(task, before, after), after)
        if run.failed:
            return found + [("rerun-does-not-converge", run.msg)]
        for item in task:
            declare(self.model, item)
        found.extend(("rerun-does-not-converge", d) for d in differences(self.model, after))
        self._learn_secrets(after)
        return found


@pytest.mark.timeout(1800)  # a failing run shrinks its programs against the server too
def test_write_path_model(keycloak, tmp_path_factory, request, capsys):
    option = request.config.getoption("hypothesis_seed", None)
    chosen = int(option) if option is not None and str(option).isdigit() else option
    if chosen is None:
        chosen = random.SystemRandom().getrandbits(32)
    STATS.clear()
    started = time.monotonic()
    outcome = "passed"
    try:
        with write_path_realm(keycloak, tmp_path_factory.mktemp("write-path")) as wp:
            WritePathModel.wp = wp
            run_state_machine_as_test(seed(chosen)(WritePathModel), settings=settings.get_profile("write-path-model"))
    except BaseException as exc:
        outcome = "failed"
        exc.add_note("write-path model: replay with --hypothesis-seed=%s" % chosen)
        raise
    finally:
        elapsed = time.monotonic() - started
        summary = ("write-path model (%s, seed %s): %d programs, %d tasks, %d faults armed (fired: %s), %d re-runs "
                   "in %.0f s (module runs %.0f s); violations seen: %s"
                   % (outcome, chosen, STATS["programs"], STATS["tasks"], STATS["faults armed"],
                      ", ".join("%s %d" % (k[6:], v) for k, v in sorted(STATS.items()) if k.startswith("fault ")),
                      STATS["re-runs"], elapsed, STATS["module seconds"],
                      ", ".join("%s %d" % (k[9:], v) for k, v in sorted(STATS.items()) if k.startswith("violated "))
                      or "none"))
        request.node.user_properties.append(("write_path_model", summary))
        with capsys.disabled():
            print("\n" + summary)
