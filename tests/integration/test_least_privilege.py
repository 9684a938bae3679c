"""docs/least-privilege.yml measured on Keycloak: for each row, a user holding exactly its roles (or one of its
alternative sets) does what the row says with every plugin it names, and a user holding them minus any one fails
each of them with one line naming a role it lacks (the message of docs/troubleshooting.md's 403 entry).

Every case runs as a block of one playbook (the pattern and helpers of test_bad_input.py), one user per role set."""
import json
import os
import re
import subprocess
import sys

import pytest

from ansible_collections.keycloak_ops.clients.plugins.module_utils._core.rights import IMPLIED
from tests.integration.conftest import limited_user
from tests.integration.runner import ansible_env
from tests.integration.test_bad_input import lookup, module, role, write_playbook
from tests.least_privilege import rows

LACKS = re.compile(r"lacks the '([\w-]+)' role of realm-management in realm '([\w-]+)'")
GRANTED_ROLE = "view-events"  # the realm-management role the realm-management-roles row grants


@pytest.fixture(scope="module")
def seeded(realm, oracle):
    """What the cases refer to: a confidential client, a realm role, a role of another client, a group, a user."""
    oracle.create_client({"clientId": "lp-seed", "publicClient": False, "serviceAccountsEnabled": True,
                          "standardFlowEnabled": False})
    oracle.create_realm_role({"name": "lp-role"})
    api = oracle.create_client({"clientId": "lp-api", "publicClient": False, "bearerOnly": True})
    oracle.create_client_role(api, {"name": "reader"})
    oracle.create_group({"name": "lp-group"})
    oracle.create_user({"username": "lp-person", "enabled": True})
    return realm


def resource_server(oracle, client_id):
    """An existing client with authorization services on and the fields preset service gives, so that a task
    declaring its authorization changes the resource server only."""
    oracle.create_client({"clientId": client_id, "publicClient": False, "serviceAccountsEnabled": True,
                          "standardFlowEnabled": False, "directAccessGrantsEnabled": False,
                          "authorizationServicesEnabled": True})
    return dict(client_id=client_id, preset="service")


def authorization(policy):
    return dict(scopes=["read"], resources=[dict(name="doc", scopes=["read"])], policies=[policy],
                permissions=[dict(name="read doc", resources=["doc"], scopes=["read"], policies=[policy["name"]])])


def client_task(row_id, oracle, tag):
    """The confidential_client arguments that do what the row says, for a case tagged tag (names of its own)."""
    if row_id == "clients":
        return dict(client_id="lp-conf-" + tag, preset="service")
    if row_id == "service-account-realm-roles":
        return dict(client_id="lp-sarr-" + tag, preset="service", service_account_realm_roles=["lp-role"])
    if row_id == "service-account-client-roles":
        return dict(client_id="lp-sacr-" + tag, preset="service", service_account_client_roles={"lp-api": ["reader"]})
    if row_id == "realm-management-roles":
        return dict(client_id="lp-rm-" + tag, preset="service",
                    service_account_client_roles={"realm-management": [GRANTED_ROLE]})
    policy = {"authorization": dict(name="seed client", type="client", clients=["lp-seed"]),
              "role-policies": dict(name="role holders", type="role", roles=["lp-role"]),
              "group-and-user-policies": dict(name="group members", type="group", groups=["/lp-group"])}[row_id]
    declared = authorization(policy)
    if row_id == "group-and-user-policies":
        declared["policies"].append(dict(name="a person", type="user", users=["lp-person"]))
        declared["permissions"].append(dict(name="person reads", resources=["doc"], scopes=["read"],
                                            policies=["a person"]))
    return dict(resource_server(oracle, "lp-rs-" + tag), authorization=declared)


def plugin_cases(row_id, plugin, oracle, tag, connection, tmp):
    """The cases (test_bad_input's shapes) that exercise the plugin for the row."""
    realm = oracle.connection.realm_name
    if plugin == "confidential_client":
        cases = [module(plugin, client_task(row_id, oracle, tag), None, connection)]
        if row_id == "clients":
            oracle.create_client({"clientId": "lp-gone-" + tag, "publicClient": False})
            cases.append(module(plugin, dict(client_id="lp-gone-" + tag, state="absent"), None, connection))
        return cases
    if plugin == "role provision":
        client = client_task(row_id, oracle, "p" + tag)
        return [role([client], None, connection)]
    if plugin == "client_secret" and row_id == "graceful-rotation":
        oracle.create_client({"clientId": "lp-grace-" + tag, "publicClient": False, "serviceAccountsEnabled": True})
        return [module(plugin, dict(client_id="lp-grace-" + tag, state="regenerated", grace_period="1h"), None, connection)]
    if plugin == "role rotate":
        oracle.create_client({"clientId": "lp-rot-" + tag, "publicClient": False, "serviceAccountsEnabled": True})
        return [role([], None, connection, name="rotate", variables=dict(
            rotate_realm=realm, rotate_clients=["lp-rot-" + tag]))]
    if plugin == "role self_register":
        return [role([], None, connection, name="self_register", variables=dict(
            self_register_realm=realm, self_register_client_id="lp-self-" + tag,
            self_register_credentials_file=os.path.join(tmp, "lp-self-%s.json" % tag)))]
    if plugin == "client_registration":
        token = json.loads(oracle.connection.raw_post("admin/realms/%s/clients-initial-access" % realm,
                                                      data=json.dumps({"count": 1, "expiration": 600})).text)["token"]
        return [module(plugin, dict(client_id="lp-reg-" + tag, initial_access_token=token,
                                    credentials_file=os.path.join(tmp, "lp-reg-%s.json" % tag),
                                    metadata=dict(serviceAccountsEnabled=True)), None)]
    if plugin == "lookup client_secret":
        return [lookup(["lp-seed"], None, **connection)]
    args = {"public_client": dict(client_id="lp-pub-" + tag, preset="spa", redirect_uris=["https://spa.example/*"]),
            "client_scope": dict(name="lp-scope-" + tag, realm_default="optional"),
            "client_secret": dict(client_id="lp-seed", state="regenerated"),
            "client_secret_info": dict(client_id="lp-seed"),
            "initial_access_token": dict(state="present"),
            "registration_access_token": dict(client_id="lp-seed")}[plugin]
    return [module(plugin, args, None, connection)]


def role_sets(row):
    """(label, roles held, the role left out or None) of every case of a row."""
    sets = [list(row["roles"]) + ([GRANTED_ROLE] if row.get("granted") else [])]
    sets += [list(alternative) for alternative in row.get("alternatives") or []]
    for index, roles in enumerate(sets):
        yield "set%d" % index, roles, None
        for left_out in roles:
            yield "set%d-%s" % (index, left_out), [r for r in roles if r != left_out], left_out


@pytest.fixture(scope="module")
def measured(keycloak, seeded, oracle, tmp_path_factory):
    """Runs every case in one playbook; {case name: (row, roles, left out, result)}."""
    tmp = str(tmp_path_factory.mktemp("least-privilege"))
    cases, meta = {}, {}
    for row in rows():
        for label, roles, left_out in role_sets(row):
            tag = "%s-%s" % (row["id"][:12], label)[:40]
            connection = limited_user(oracle, roles) if row["roles"] or roles else {}
            for plugin in row["plugins"]:
                for index, case in enumerate(plugin_cases(row["id"], plugin, oracle, tag, connection, tmp)):
                    name = "%s %s %s #%d" % (row["id"], label, plugin, index)
                    cases[name], meta[name] = case, (row, roles, left_out)
    playbook, out = os.path.join(tmp, "least-privilege.yml"), os.path.join(tmp, "results.json")
    write_playbook(playbook, cases, seeded, out)
    env = ansible_env(keycloak, ANSIBLE_STDOUT_CALLBACK="default", ANSIBLE_DISPLAY_SKIPPED_HOSTS="0",
                      ANSIBLE_PIPELINING="1")
    completed = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", "localhost,",
                                playbook], env=env, capture_output=True, text=True, timeout=3000, check=False)
    assert completed.returncode == 0 and os.path.exists(out), (completed.stdout + completed.stderr)[-3000:]
    with open(out, encoding="utf-8") as handle:
        results = json.load(handle)
    return {name: meta[name] + (results.get(name) or {},) for name in cases}


def named_for(row, left_out):
    """Roles a failure may name when left_out is missing: itself, what it implies, or another set's role."""
    others = [r for alternative in row.get("alternatives") or [] for r in alternative] + list(row["roles"])
    return {left_out} | set(IMPLIED.get(left_out, ())) | set(others)


def test_each_row_is_exactly_what_keycloak_needs(measured, seeded):
    problems = []
    for name, (row, roles, left_out, result) in measured.items():
        msg = str(result.get("msg", ""))
        print("%s [%s]: %s" % (name, ", ".join(roles), msg or "ok"))
        if left_out is None:
            if result.get("failed"):
                problems.append("%s: holding %s failed: %s" % (name, roles, msg))
            continue
        found = LACKS.search(msg)
        if not result.get("failed"):
            problems.append("%s: succeeded without %s" % (name, left_out))
        elif "\n" in msg.strip() or not found or found.group(2) != seeded:
            problems.append("%s: not the one-line message naming a role: %s" % (name, msg))
        elif found.group(1) in roles or found.group(1) not in named_for(row, left_out):
            problems.append("%s: without %s, the message names %s" % (name, left_out, found.group(1)))
    assert not problems, "\n".join(problems)
