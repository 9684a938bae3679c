"""The README's main job, run the way a user runs it, twice: real clients, a real token, no secret shown."""
import json
import os
import re
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
    admin_client(keycloak).delete_realm(realm)


def test_keycloak_dev_role_starts_reuses_and_stops(tmp_path):
    """The embedded Keycloak of the demo: started once, reused while it answers, stopped on request."""
    state_file = tmp_path / "keycloak-dev.json"
    playbook = os.path.join(REPO, "playbooks", "keycloak_dev.yml")
    env = ansible_env(None)
    extra = {"keycloak_dev_state_file": str(state_file)}
    started = run_playbook(playbook, env, extra_vars=extra)
    assert started.rc == 0 and "changed=1" in started.output, started.output[-2000:]
    assert oct(state_file.stat().st_mode & 0o777) == "0o600"
    health = json.loads(state_file.read_text())["management_url"] + "/health/ready"
    assert requests.get(health, timeout=10).status_code == 200
    reused = run_playbook(playbook, env, extra_vars=extra)
    assert reused.rc == 0 and "changed=0" in reused.output, reused.output[-2000:]
    stopped = run_playbook(playbook, env, extra_vars=dict(extra, keycloak_dev_state="stopped"))
    assert stopped.rc == 0, stopped.output[-2000:]
    with pytest.raises(requests.ConnectionError):
        requests.get(health, timeout=10)
