"""The README's main job, run the way a user runs it, twice: real clients, a real token, no secret shown."""
import json
import os
import re
import subprocess
import uuid

import pytest
import requests

from tests.integration.conftest import admin_client
from tests.integration.runner import ansible_env, run_playbook

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_demo_playbook_converges_and_keeps_secrets_out_of_output(keycloak, tmp_path):
    realm = "demo-%s" % uuid.uuid4().hex[:6]
    output = tmp_path / "delivered"
    env = ansible_env(keycloak, DEMO_REALM=realm, DEMO_OUTPUT=str(output))
    playbook = os.path.join(REPO, "playbooks", "demo.yml")
    inventory = os.path.join(REPO, "playbooks", "inventory", "demo.yml")
    first = run_playbook(playbook, env, verbosity=3, inventory=inventory)
    assert first.rc == 0, first.output[-3000:]
    assert "token obtained with the delivered secret: yes" in first.output
    secret = admin_client(keycloak, realm).get_client_secrets(
        admin_client(keycloak, realm).get_client_id("mlflow-tracking"))["value"]
    assert secret not in first.output
    delivered = output / "mlflow-server" / "oidc.env"
    assert oct(delivered.stat().st_mode & 0o777) == "0o600"
    assert "OIDC_CLIENT_SECRET=%s" % secret in delivered.read_text()

    second = run_playbook(playbook, env, verbosity=3, inventory=inventory)
    assert second.rc == 0, second.output[-3000:]
    for host in ("localhost", "mlflow-server", "webapp"):
        assert re.search(r"%s\s+: ok=\d+\s+changed=0 " % host, second.output), second.output[-1500:]
    assert (output / "credentials.vault.yml").read_text().startswith("$ANSIBLE_VAULT;1.2;AES256;demo")
    assert secret not in second.output
    assert_secrets_stay_out_of_git_and_owner_only(keycloak, realm, output)
    admin_client(keycloak).delete_realm(realm)


def assert_secrets_stay_out_of_git_and_owner_only(keycloak, realm, output):
    """Every secret the demo handled is only in owner-only files outside what git would commit."""
    oracle = admin_client(keycloak, realm)
    secrets = [oracle.get_client_secrets(oracle.get_client_id(c))["value"]
               for c in ("mlflow-tracking", "flask-app", "open-metadata")]
    holders = []
    for directory, _dirs, files in os.walk(str(output)):
        for name in files:
            path = os.path.join(directory, name)
            with open(path, errors="replace") as handle:
                content = handle.read()
            if name == "vault-password" or any(secret in content for secret in secrets):
                holders.append(path)
                assert os.stat(path).st_mode & 0o077 == 0, "%s is readable by others" % path
    assert len(holders) == 4, holders  # three credential files and the vault password
    # ./scripts/demo writes to demo-output/ in the checkout: git must ignore it...
    ignored = subprocess.run(["git", "-C", REPO, "check-ignore", "-q", "demo-output/mlflow-server/oidc.env"],
                             check=False)
    assert ignored.returncode == 0, "demo-output/ is not ignored by git"
    # ...and nothing git would commit (tracked or not ignored) holds a secret of the run.
    listed = subprocess.run(["git", "-C", REPO, "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            capture_output=True, check=True).stdout.decode().split("\0")
    for relative in filter(None, listed):
        path = os.path.join(REPO, relative)
        if os.path.isfile(path):
            with open(path, "rb") as handle:
                content = handle.read()
            assert not any(secret.encode() in content for secret in secrets), "a secret in %s" % relative


def test_keycloak_dev_role_starts_reuses_and_stops(tmp_path):
    """The embedded Keycloak of the demo: started once, reused while it answers, stopped on request."""
    state_file = tmp_path / "keycloak-dev.json"
    playbook = os.path.join(REPO, "playbooks", "keycloak_dev.yml")
    env = ansible_env(None)
    extra = {"keycloak_dev_state_file": str(state_file)}
    started = run_playbook(playbook, env, extra_vars=extra)
    # A first start on a machine without the build of this version also unpacks and builds it: more tasks change.
    assert started.rc == 0 and re.search(r"changed=[1-9]", started.output), started.output[-2000:]
    assert oct(state_file.stat().st_mode & 0o777) == "0o600"
    health = json.loads(state_file.read_text())["management_url"] + "/health/ready"
    assert requests.get(health, timeout=10).status_code == 200
    reused = run_playbook(playbook, env, extra_vars=extra)
    assert reused.rc == 0 and "changed=0" in reused.output, reused.output[-2000:]
    stopped = run_playbook(playbook, env, extra_vars=dict(extra, keycloak_dev_state="stopped"))
    assert stopped.rc == 0, stopped.output[-2000:]
    with pytest.raises(requests.ConnectionError):
        requests.get(health, timeout=10)

    # A server recorded earlier that no longer answers: its leftovers go before a new one starts.
    stale_instance = tmp_path / "keycloak-ops-stale"
    stale_instance.mkdir()
    state_file.write_text(json.dumps({"management_url": "http://127.0.0.1:9", "instance_dir": str(stale_instance)}))
    replaced = run_playbook(playbook, env, extra_vars=extra)
    assert replaced.rc == 0 and "changed=2" in replaced.output, replaced.output[-2000:]
    assert not stale_instance.exists()
    assert run_playbook(playbook, env, extra_vars=dict(extra, keycloak_dev_state="stopped")).rc == 0
