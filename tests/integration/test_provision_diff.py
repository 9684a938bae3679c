"""--diff through the provision role: Ansible's own +/- lines of what changes in each client, no secret of any
client at -vvv, and what the role costs in admin requests (the client tasks return no secret; one no_log read of
the secrets follows them)."""
import json
import re

import pytest
import yaml

from tests.integration.runner import ansible_env, run_playbook

CONFIDENTIAL = 10  # clients of a realm small enough to be listed in one request


def declaration(description, redirect):
    clients = [dict(client_id="diff-%02d" % i, preset="service", description="service %d" % i)
               for i in range(CONFIDENTIAL)]
    clients[3]["description"] = description
    clients.append(dict(client_id="diff-spa", kind="public", preset="spa", redirect_uris=[redirect]))
    return clients


@pytest.fixture
def provision(tmp_path, realm, keycloak, counting_proxy):
    """Runs the provision role through the counting proxy; the credentials it hands on land in a private file."""
    credentials = tmp_path / "credentials.json"
    playbook = tmp_path / "provision.yml"
    playbook.write_text(yaml.safe_dump([{
        "hosts": "localhost", "connection": "local", "gather_facts": False,
        "roles": [{"role": "keycloak_ops.clients.provision"}],
        "post_tasks": [{
            "name": "The credentials handed on", "no_log": True, "check_mode": False,
            "keycloak_ops.clients.secret_file": {
                "path": str(credentials), "content": "{{ provision_credentials | to_json }}", "mode": "0600"}}],
    }]))
    env = ansible_env(keycloak, KEYCLOAK_URL=counting_proxy.url)

    def run(description, redirect, spa_kind="public", **options):
        counting_proxy.reset()
        clients = declaration(description, redirect)
        clients[-1].update(kind=spa_kind, preset="spa" if spa_kind == "public" else "web")
        extra = dict(provision_realm=realm, provision_clients=clients)
        completed = run_playbook(str(playbook), env, extra_vars=extra, **options)
        assert completed.rc == 0, completed.output[-4000:]
        return completed, json.loads(credentials.read_text())
    return run


def admin_requests(proxy):
    return dict(proxy.counts("admin"), token=proxy.total("token"))


def test_diff_shows_each_changed_client_and_no_secret(provision, oracle, counting_proxy):
    first, credentials = provision("first", "https://spa.example/first/*")
    created = admin_requests(counting_proxy)
    secrets = {c["clientId"]: oracle.get_client_secrets(c["id"])["value"]
               for c in oracle.get_clients() if c["clientId"].startswith("diff-") and not c.get("publicClient")}
    assert len(secrets) == CONFIDENTIAL
    assert {k: v["client_secret"] for k, v in credentials.items() if "client_secret" in v} == secrets
    assert "client_secret" not in credentials["diff-spa"]

    again, _credentials = provision("first", "https://spa.example/first/*")
    assert re.search(r"localhost\s+: ok=\d+\s+changed=0 ", again.output), again.output[-3000:]
    assert counting_proxy.writes("admin") == 0, counting_proxy.calls
    unchanged = admin_requests(counting_proxy)
    # The confidential clients are listed by their check before the public client's write and by their own task;
    # the secret read lists them once more (one page, the secrets in it): no request per client.
    listings = [p for m, p in counting_proxy.calls if m == "GET" and re.search(r"/clients\?first=", p)]
    per_client = [p for m, p in counting_proxy.calls if "/client-secret" in p or "clientId=diff-0" in p]
    assert len(listings) == 3 and not per_client, counting_proxy.calls

    changed, credentials = provision("second", "https://spa.example/second/*", diff=True, verbosity=3)
    print("\nadmin requests of the provision role, %d confidential clients and a public one: first run %s, "
          "second run %s, a run changing two clients %s" % (CONFIDENTIAL, created, unchanged, admin_requests(counting_proxy)))
    output = changed.output
    # Ansible's own diff of each changed client, headed realm/client_id.
    assert re.search(r'^-\s+"description": "first",?$', output, re.M), output[-6000:]
    assert re.search(r'^\+\s+"description": "second",?$', output, re.M), output[-6000:]
    assert re.search(r'^-\s+"https://spa.example/first/\*"', output, re.M), output[-6000:]
    assert re.search(r'^\+\s+"https://spa.example/second/\*"', output, re.M), output[-6000:]
    assert "/diff-03" in output and "/diff-spa" in output
    assert not re.search(r"^[-+].*diff-0[0-24-9]", output, re.M), "unchanged clients show no diff"
    assert re.search(r"localhost\s+: ok=\d+\s+changed=2 ", output), output[-3000:]
    for client_id, secret in secrets.items():
        assert secret not in output, client_id
    assert {k: v.get("client_secret") for k, v in credentials.items() if k in secrets} == secrets


def test_check_mode_leaves_a_client_made_confidential_pending(provision, oracle, counting_proxy):
    """Its secret exists only after a real run: the secret read leaves it out and delivery predicts it."""
    provision("first", "https://spa.example/first/*")
    preview, credentials = provision("first", "https://spa.example/first/*", spa_kind="confidential", check=True,
                                     diff=True)
    assert credentials["diff-spa"].get("pending") is True and "client_secret" not in credentials["diff-spa"]
    assert re.search(r'^-\s+"publicClient": true,?$', preview.output, re.M), preview.output[-4000:]
    assert counting_proxy.writes("admin") == 0
    assert oracle.get_client(oracle.get_client_id("diff-spa"))["publicClient"] is True
