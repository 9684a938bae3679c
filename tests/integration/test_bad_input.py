"""A corpus of bad input across the modules, the lookup and the provision role, against the real Keycloak.

Each case must fail with one line that names what to fix (an expected part of the message), without a traceback,
and leave the realm as it was: clients, client scopes, secrets, service-account roles and initial access tokens
are snapshotted before and after each batch. The cases of a batch run as the tasks of one playbook (one ansible
process), each in a block whose rescue records the failure, so the corpus costs a few ansible runs, not one per case.
The cases are data, in data/bad_input.yml (its header says how a case reads); a new refusal gets a case there.
"""
import json
import os
import socket
import string
import subprocess
import sys

import pytest
import yaml

from tests.integration.runner import ansible_env, run_module

OLDEST_VENV = os.path.join(os.environ.get("KEYCLOAK_OPS_CACHE", os.path.expanduser("~/.cache/keycloak_ops")),
                           "venv-oldest")
# Users of the test realm with limited admin rights (roles of realm-management), each with this password.
LIMITED_USERS = {
    "query-only": ["query-clients"],
    "create-only": ["create-client"],
    "view-only": ["view-clients"],
    "manager": ["manage-clients", "manage-users", "manage-realm", "view-realm"],
    "realm-manager": ["manage-realm", "view-clients"],
}
USER_PASSWORD = "Limited-user-password-1"
# A batch of cases runs as this many playbooks side by side (one ansible-playbook each, a share of the cases each):
# a module run mostly waits for its interpreter to start and for Keycloak, so a few at once finish sooner. The realm
# is snapshotted around the whole batch.
PLAYBOOKS_AT_ONCE = 4


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# -- the realm and its snapshot ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def seeded(keycloak, realm, oracle):
    """Clients, a service-account grant and a token to be kept intact, and the users with limited rights."""
    oracle.create_client({"clientId": "seed-conf", "publicClient": False, "serviceAccountsEnabled": True,
                          "standardFlowEnabled": False, "description": "kept as it is"})
    oracle.create_client({"clientId": "seed-pub", "publicClient": True, "redirectUris": ["https://app.example/cb"]})
    management = oracle.get_client_id("realm-management")
    user = oracle.get_client_service_account_user(oracle.get_client_id("seed-conf"))
    oracle.assign_client_role(user["id"], management, [oracle.get_client_role(management, "view-users")])
    oracle.connection.raw_post("admin/realms/%s/clients-initial-access" % realm, data=json.dumps({"count": 1, "expiration": 3600}))
    # A resource server whose items no bad authorization input may change.
    server = oracle.create_client({"clientId": "seed-rs", "publicClient": False, "serviceAccountsEnabled": True,
                                   "authorizationServicesEnabled": True})
    authz = "admin/realms/%s/clients/%s/authz/resource-server/" % (realm, server)
    for path, body in (("scope", {"name": "seed-read"}),
                       ("resource", {"name": "seed-doc", "scopes": [{"name": "seed-read"}]}),
                       ("policy/client", {"name": "seed-policy", "clients": [oracle.get_client_id("seed-conf")]}),
                       ("permission/scope", {"name": "seed-permission", "resources": ["seed-doc"],
                                             "scopes": ["seed-read"], "policies": ["seed-policy"]})):
        oracle.connection.raw_post(authz + path, data=json.dumps(body))
    for name, roles in LIMITED_USERS.items():
        user_id = oracle.create_user({"username": name, "enabled": True, "firstName": name, "lastName": "user",
                                      "email": "%s@example.com" % name, "emailVerified": True,
                                      "credentials": [{"type": "password", "value": USER_PASSWORD, "temporary": False}]})
        oracle.assign_client_role(user_id, management, [oracle.get_client_role(management, r) for r in roles])
    return realm


def snapshot(oracle, realm):
    """What no bad input may change: clients (with their secrets and resource servers), client scopes (with their
    mappers) and the realm's default ones, service-account roles and tokens."""
    def get(path):
        return oracle.connection.raw_get("admin/realms/%s/%s" % (realm, path)).json()

    clients = {}
    for client in get("clients"):
        entry = dict(client)
        # Keycloak lists a client's default and optional scopes in no fixed order.
        for kind in ("defaultClientScopes", "optionalClientScopes"):
            entry[kind] = sorted(client.get(kind) or [])
        if not client.get("publicClient") and not client.get("bearerOnly"):
            entry["current-secret"] = get("clients/%s/client-secret" % client["id"]).get("value")
        if client.get("authorizationServicesEnabled"):
            # Keycloak lists a resource server's items in no fixed order.
            export = get("clients/%s/authz/resource-server/settings" % client["id"])
            entry["authorization"] = {k: sorted(v, key=json.dumps) if isinstance(v, list) else v
                                      for k, v in export.items()}
        if client.get("serviceAccountsEnabled"):
            user = get("clients/%s/service-account-user" % client["id"])
            entry["service-account-roles"] = get("users/%s/role-mappings" % user["id"])
        clients[client["clientId"]] = entry
    tokens = sorted((t["id"], t.get("remainingCount")) for t in get("clients-initial-access"))
    scopes = sorted(json.dumps(dict(s, protocolMappers=sorted(s.get("protocolMappers") or [], key=lambda m: m["name"])),
                               sort_keys=True) for s in get("client-scopes"))
    realm_scopes = {kind: sorted(x["name"] for x in get("default-%s-client-scopes" % kind)) for kind in ("default", "optional")}
    return dict(clients=clients, scopes=scopes, realm_scopes=realm_scopes, tokens=tokens)


# -- the cases: data/bad_input.yml ------------------------------------------------------------------------------

CORPUS_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "bad_input.yml")


def corpus_data():
    with open(CORPUS_FILE) as handle:
        return yaml.safe_load(handle)


# A mapper that passes every check before the write and that Keycloak refuses (the corpus's shared part).
PAIRWISE_UNREACHABLE = corpus_data()["shared"]["pairwise_unreachable"]
# The data file's shorthands for a module: (module, the option naming its item, the item when the case names none).
NAMED_ITEM = {
    "conf": ("confidential_client", "client_id", "new-conf"),
    "pub": ("public_client", "client_id", "new-pub"),
    "scope": ("client_scope", "name", "new:scope"),
}


def module(name, args, expect, connection=None):
    return dict(kind="module", module=name, args=args, expect=expect, connection=connection or {})


def lookup(terms, expect, **options):
    return dict(kind="lookup", terms=terms, options=options, expect=expect)


def role(clients, expect, connection=None, scopes=None, name="provision", variables=None):
    """The provision role with these clients and scopes, or another role (name) with its variables."""
    return dict(kind="role", clients=clients, expect=expect, connection=connection or {}, scopes=scopes or [],
                name=name, variables=variables)


def as_user(name, realm):
    return dict(auth_realm=realm, auth_username=name, auth_password=USER_PASSWORD)


def seed_rs(authorization, expect, connection=None):
    """A bad authorization declaration for the seeded resource server seed-rs."""
    return module("confidential_client", dict(client_id="seed-rs", preset="service", authorization=authorization),
                  expect, connection)


def case_of(name, spec, realm):
    """One case of the data file (see its header) as task_of takes it."""
    connection = dict(spec.get("connection") or {})
    if "as_user" in spec:
        connection.update(as_user(spec["as_user"], realm))
    expect = spec["expect"]
    if "module" in spec:
        return module(spec["module"], spec.get("args") or {}, expect, connection)
    if "lookup" in spec:
        return lookup(spec["lookup"], expect, **dict(spec.get("options") or {}, **connection))
    if "role" in spec:
        return role(spec["role"], expect, connection, spec.get("scopes"))
    if "seed_rs" in spec:
        return seed_rs(spec["seed_rs"], expect, connection)
    for shorthand, (module_name, option, item) in NAMED_ITEM.items():
        if shorthand in spec:
            return module(module_name, dict({option: item}, **spec[shorthand]), expect, connection)
    raise ValueError("bad_input.yml, case %s: none of module, lookup, role, seed_rs, %s" % (name, ", ".join(NAMED_ITEM)))


def filled(value, placeholders):
    """value with the ${...} placeholders of its strings (mapping keys too) filled in."""
    if isinstance(value, str):
        return string.Template(value).substitute(placeholders)
    if isinstance(value, dict):
        return {filled(k, placeholders): filled(v, placeholders) for k, v in value.items()}
    if isinstance(value, list):
        return [filled(v, placeholders) for v in value]
    return value


def corpus(keycloak, realm, tmp):
    """(id, case) for every bad input of the data file, with what depends on the server and the realm filled in."""
    cert = os.path.join(tmp, "client.pem")
    with open(cert, "w") as handle:
        handle.write("not a certificate\n")
    placeholders = dict(long="x" * 256, long_attribute="x" * 2049, keycloak_url=keycloak.url,
                        plain_port=keycloak.url.split(":")[-1].split("/")[0], free_port=free_port(), bad_cert=cert)
    cases = corpus_data()["cases"]
    return {name: case_of(name, filled(spec, placeholders), realm) for name, spec in cases.items()}


def task_of(name, case, realm):
    """One case as a block whose rescue records the failure in the fact `results`."""
    record_ok = {"ansible.builtin.set_fact": {"results": "{{ results | combine({%r: {'failed': false}}) }}" % name}}
    if case["kind"] == "module":
        args = dict(dict(realm=realm), **case["args"])
        args.update(case["connection"])
        steps = [{"name": name, "keycloak_ops.clients." + case["module"]: args}]
    elif case["kind"] == "lookup":
        options = dict(dict(realm=realm), **case["options"])
        call = "lookup('keycloak_ops.clients.client_secret', %s, %s)" % (
            ", ".join(repr(t) for t in case["terms"]), ", ".join("%s=%r" % kv for kv in sorted(options.items())))
        steps = [{"name": name, "ansible.builtin.set_fact": {"looked_up": "{{ %s }}" % call}}]
    else:
        # Imported, so that module_defaults reach the role's tasks.
        variables = case.get("variables") or {
            "provision_realm": realm, "provision_clients": case["clients"], "provision_client_scopes": case["scopes"]}
        steps = [{"name": name, "ansible.builtin.import_role": {"name": "keycloak_ops.clients." + case.get("name", "provision")},
                  "vars": variables,
                  "module_defaults": {"group/keycloak_ops.clients.keycloak": case["connection"]} if case["connection"] else {}}]
    record_failure = {"ansible.builtin.set_fact": {
        "results": "{{ results | combine({%r: ansible_failed_result | combine({'failed': true})}) }}" % name}}
    return {"name": "case " + name, "block": steps + [record_ok], "rescue": [record_failure]}


def write_playbook(path, cases, realm, out):
    tasks = [{"ansible.builtin.set_fact": {"results": {}}}]
    tasks += [task_of(name, case, realm) for name, case in cases.items()]
    tasks.append({"ansible.builtin.copy": {"content": "{{ results | to_json }}", "dest": out, "mode": "0600"}})
    play = [{"hosts": "localhost", "connection": "local", "gather_facts": False, "tasks": tasks}]
    with open(path, "w") as handle:
        json.dump(play, handle)  # YAML is a superset of JSON


def run_side_by_side(commands, env):
    """Run the commands at once; the output of each, in order (all are stopped if waiting fails)."""
    processes = [subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
                 for command in commands]
    try:
        return [(process.communicate(timeout=1800)[0], process.returncode) for process in processes]
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()


def run_corpus(keycloak, realm, oracle, tmp_path, cases, ansible_bin=None, python=None):
    env = ansible_env(keycloak, ANSIBLE_STDOUT_CALLBACK="default", ANSIBLE_DISPLAY_SKIPPED_HOSTS="0",
                      ANSIBLE_PIPELINING="1")
    env["ANSIBLE_PYTHON_INTERPRETER"] = python or sys.executable
    ansible_playbook = os.path.join(ansible_bin or os.path.dirname(sys.executable), "ansible-playbook")
    names = list(cases)
    commands, outs = [], []
    for index in range(min(PLAYBOOKS_AT_ONCE, len(names))):
        playbook, out = str(tmp_path / ("corpus-%d.yml" % index)), str(tmp_path / ("results-%d.json" % index))
        write_playbook(playbook, {name: cases[name] for name in names[index::PLAYBOOKS_AT_ONCE]}, realm, out)
        commands.append([ansible_playbook, "-i", "localhost,", playbook])
        outs.append(out)
    before = snapshot(oracle, realm)
    runs = run_side_by_side(commands, env)
    results = {}
    for out, (output, rc) in zip(outs, runs):
        assert rc == 0 and os.path.exists(out), output[-3000:]
        with open(out) as handle:
            results.update(json.load(handle))
    output = "".join(output for output, _rc in runs)
    for name in cases:
        print("%s: %s" % (name, (results.get(name) or {}).get("msg")))
    after = snapshot(oracle, realm)
    problems = []
    for name, case in cases.items():
        result = results.get(name) or {}
        msg = str(result.get("msg", ""))
        if not result.get("failed"):
            problems.append("%s: did not fail" % name)
        elif "Traceback (most recent call last)" in json.dumps(result) or result.get("module_stderr"):
            problems.append("%s: traceback: %s" % (name, json.dumps(result)[:400]))
        elif "\n" in msg.strip() or case["expect"] not in msg:
            problems.append("%s: expected %r in %r" % (name, case["expect"], msg))
    assert "Traceback" not in output, output[-3000:]
    assert not problems, "\n".join(problems)
    assert before == after, "the realm changed: %s" % changed_parts(before, after)
    return results


def changed_parts(before, after):
    parts = []
    for key in ("scopes", "realm_scopes", "tokens"):
        if before[key] != after[key]:
            parts.append(key)
    for client_id in sorted(set(before["clients"]) | set(after["clients"])):
        was, now = before["clients"].get(client_id) or {}, after["clients"].get(client_id) or {}
        if was != now:
            differing = sorted(k for k in set(was) | set(now) if was.get(k) != now.get(k))
            parts.append("client %s (%s)" % (client_id, ", ".join(differing)))
    return ", ".join(parts)


@pytest.fixture(scope="module")
def cases(keycloak, seeded, tmp_path_factory):
    return corpus(keycloak, seeded, str(tmp_path_factory.mktemp("corpus")))


def test_corpus_has_at_least_80_cases(cases):
    assert len(cases) >= 80, len(cases)


def test_bad_input_fails_with_one_line_and_changes_nothing(keycloak, seeded, oracle, cases, tmp_path):
    results = run_corpus(keycloak, seeded, oracle, tmp_path, cases)
    print("\n%d bad-input cases on %s: one line each, realm unchanged" % (len(results), sys.version.split()[0]))


# The oldest supported ansible-core (venv-oldest, Python 3.11) shows what the newest shows: messages, no tracebacks,
# through modules, lookup and role alike; a subset, as the module code is the same.
OLDEST_SUBSET = ("conf-client-id-too-long", "conf-redirect-javascript", "conf-good-then-unknown-scope", "rollback-created-client",
                 "secret-huge-grace", "iat-count-zero", "conn-missing-ca-path", "conn-https-to-http-port",
                 "conn-wrong-path-prefix", "rights-query-only-absent", "rights-manager-grants-unheld-role",
                 "lookup-missing-ca-path", "lookup-unknown-client", "role-bad-public-after-confidential", "role-server-down",
                 "role-refused-under-no-log", "scope-good-then-bad", "scope-rights-view-only", "role-client-names-unknown-scope")


def test_bad_input_on_the_oldest_ansible_core(keycloak, seeded, oracle, cases, tmp_path):
    python = os.path.join(OLDEST_VENV, "bin", "python")
    if not os.path.exists(python):
        if os.environ.get("CI"):
            pytest.fail("%s is missing: scripts/test bootstraps it (--with-oldest)" % OLDEST_VENV)
        pytest.skip("no %s (scripts/test bootstraps it)" % OLDEST_VENV)
    subset = {name: cases[name] for name in OLDEST_SUBSET}
    run_corpus(keycloak, seeded, oracle, tmp_path, subset, ansible_bin=os.path.dirname(python), python=python)


def test_cost_of_the_rights_check(keycloak, seeded, oracle, counting_proxy):
    """Requests the rights check adds to a task that writes, measured per kind of identity; none when nothing changes."""
    proxied = ansible_env(keycloak, KEYCLOAK_URL=counting_proxy.url)
    args = dict(realm=seeded, client_id="cost-probe", preset="service")
    first = run_module("confidential_client", args, proxied)
    assert first.rc == 0 and first.result["changed"], first.output
    admin_cli = counting_proxy.reads("admin") - 1  # minus the lookup of the client itself
    counting_proxy.reset()
    again = run_module("confidential_client", args, proxied)
    assert again.rc == 0 and not again.result["changed"], again.output
    unchanged = counting_proxy.reads("admin") - 1
    # A service account's token carries its roles (resource_access): the check costs no request.
    secret = oracle.get_client_secrets(oracle.get_client_id("cost-probe"))["value"]
    management = oracle.get_client_id("realm-management")
    user = oracle.get_client_service_account_user(oracle.get_client_id("cost-probe"))
    oracle.assign_client_role(user["id"], management, [oracle.get_client_role(management, "manage-clients")])
    counting_proxy.reset()
    service = run_module("confidential_client", dict(args, client_id="cost-probe-2"),
                         ansible_env(None, KEYCLOAK_URL=counting_proxy.url, KEYCLOAK_REALM=seeded,
                                     KEYCLOAK_CLIENT_ID="cost-probe", KEYCLOAK_CLIENT_SECRET=secret))
    assert service.rc == 0, service.output
    service_account = counting_proxy.reads("admin") - 1
    print("\nrights check per task: %d requests (admin-cli, lightweight token), %d (service account), "
          "%d (nothing to change)" % (admin_cli, service_account, unchanged))
    assert (admin_cli, service_account, unchanged) == (3, 0, 0)
    oracle.delete_client(oracle.get_client_id("cost-probe-2"))
    oracle.delete_client(oracle.get_client_id("cost-probe"))
