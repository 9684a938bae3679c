"""Every example of the documentation runs against the real Keycloak.

The examples (tests/integration/examples.py: EXAMPLES of every module, lookup and filter, YAML blocks of README.md,
docs/*.md and roles/*/README.md) are changed as tests/integration/examples_mapping.yml says (a realm per source
file, the Keycloak URL, paths in a directory of the run) and run in one ansible-playbook run, each example in a
block whose rescue names it, plus one run per example that brings its own inventory. A failing example fails the
test, and so does a client secret of the realms in the output; one marked "not run" is counted, with its reason, and
the count is printed with the wall time.
"""
import getpass
import os
import re
import subprocess
import time
import uuid

import pytest
import yaml

from tests.integration import examples as docs_examples
from tests.integration.conftest import admin_client
from tests.integration.runner import ansible_env, run_playbook


def slug(source):
    """A short name of a source file for its realm and directory: README.md -> readme, docs/awx.md -> awx,
    roles/deliver/README.md -> role-deliver, plugins/modules/client_secret.py -> client-secret,
    plugins/lookup/client_secret.py -> lookup-client-secret."""
    parts = os.path.splitext(source)[0].split("/")
    if parts[0] == "roles":
        name = "role-" + parts[1]
    elif parts[0] == "plugins" and parts[1] != "modules":
        name = parts[1] + "-" + parts[2]
    else:
        name = parts[-1]
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


@pytest.fixture(scope="module")
def examples():
    return docs_examples.collect()


@pytest.fixture(scope="module")
def mapping():
    return docs_examples.load_mapping()


@pytest.fixture(scope="module")
def admin_account(keycloak):
    """The run's admin connection: a service account of master with the admin role, as an AWX credential gives."""
    master = admin_client(keycloak)
    client_id = "examples-%s" % uuid.uuid4().hex[:8]
    uuid_ = master.create_client({"clientId": client_id, "publicClient": False, "serviceAccountsEnabled": True,
                                  "standardFlowEnabled": False, "directAccessGrantsEnabled": False})
    user = master.get_client_service_account_user(uuid_)
    master.assign_realm_roles(user["id"], [master.get_realm_role("admin")])
    yield client_id, master.get_client_secrets(uuid_)["value"]
    master.delete_client(uuid_)


def signing_keys(directory):
    """Key providers of a realm with an RSA key made once for the run. A realm left to make its own keys generates
    two RSA key pairs: on the busy 2-core machine that took 12 to 17 s a realm, against 2 s with this key."""
    key, cert = directory / "realm.key", directory / "realm.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=examples", "-days", "2",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    certificate = "".join(line for line in cert.read_text().splitlines() if "-----" not in line)
    return {"org.keycloak.keys.KeyProvider": [
        {"name": "rsa", "providerId": "rsa",
         "config": {"privateKey": [key.read_text()], "certificate": [certificate], "priority": ["100"]}},
        {"name": "hmac", "providerId": "hmac-generated", "config": {"priority": ["100"], "algorithm": ["HS512"]}},
        {"name": "aes", "providerId": "aes-generated", "config": {"priority": ["100"]}},
    ]}


@pytest.fixture(scope="module")
def realms(keycloak, examples, tmp_path_factory):
    """A realm per source file with an example to run, made one after another (side by side on a busy server, four
    took over a minute each), and the time they took."""
    master = admin_client(keycloak)
    names: dict = {}
    started = time.monotonic()
    keys = signing_keys(tmp_path_factory.mktemp("realm-keys"))
    try:
        for source in dict.fromkeys(e.source for e in examples if not e.not_run):
            name = "ex-%s-%s" % (slug(source), uuid.uuid4().hex[:6])
            master.create_realm({"realm": name, "enabled": True, "components": keys})
            names[source] = name
        yield names, time.monotonic() - started
    finally:
        for name in names.values():
            master.delete_realm(name)


def test_every_example_runs(keycloak, examples, mapping, realms, admin_account, tmp_path, capsys):
    started = time.monotonic()
    user = getpass.getuser()
    realm_of, realms_time = realms

    def placeholders(source):
        directory = tmp_path / slug(source)
        directory.mkdir(exist_ok=True)
        return {"realm": realm_of[source], "dir": str(directory), "url": keycloak.url, "user": user}

    plan = docs_examples.build_plan(mapping, examples, placeholders)
    client_id, secret = admin_account
    # Pipelining: each module is handed to its Python on stdin, without a temporary file (local connection only).
    env = ansible_env(None, KEYCLOAK_URL=keycloak.url, KEYCLOAK_REALM="master", KEYCLOAK_CLIENT_ID=client_id,
                      KEYCLOAK_CLIENT_SECRET=secret, ANSIBLE_PIPELINING="1")
    runs = [("main", mapping["inventory"], plan.main)] + plan.own_inventory
    outputs, problems = [], []
    for label, inventory, plays in runs:
        run_dir = tmp_path / ("run-%d" % len(outputs))
        run_dir.mkdir()
        (run_dir / "inventory.yml").write_text(yaml.safe_dump(inventory, sort_keys=False))
        (run_dir / "playbook.yml").write_text(yaml.safe_dump(plays, sort_keys=False, width=120))
        run = run_playbook(str(run_dir / "playbook.yml"), env, inventory=str(run_dir / "inventory.yml"))
        outputs.append(run.output)
        if run.rc != 0:
            problems.append("%s: ansible-playbook exited %d (a failure outside an example's block):\n%s"
                            % (label, run.rc, run.output[-3000:]))
    output = "\n".join(outputs)
    failures, done = docs_examples.results(output)
    problems += ["%s: %s" % (name, "; ".join(lines)) for name, lines in failures.items()]
    problems += ["%s: the output shows the secret of client %s" % (realm, client["clientId"])
                 for realm in realm_of.values() for client in admin_client(keycloak, realm).get_clients()
                 if len(client.get("secret") or "") >= 8 and client["secret"] in output]
    problems += ["%s: did not run (no host, or a failure before it)" % name
                 for name in plan.run if name not in done and name not in failures]
    elapsed = time.monotonic() - started

    not_run = [e for e in examples if e.not_run]
    with capsys.disabled():
        print("\nexamples: %d found, %d run (and %d inventories), %d not run; %d ansible-playbook runs took %.0f s, "
              "the %d realms %.0f s to make"
              % (len(examples), len(plan.run) - sum(1 for n in plan.run if n.startswith("setup of ")),
                 len(plan.used_as_inventory), len(not_run), len(runs), elapsed, len(realm_of), realms_time))
        for example in not_run:
            print("  not run: %s: %s" % (example.name, example.not_run))
    assert not problems, "\n".join(problems)
