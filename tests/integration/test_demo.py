"""The README's main job, run the way a user runs it, twice: real clients, a real token, no secret shown."""
import os
import re
import uuid

from tests.integration.conftest import admin_client
from tests.integration.runner import ansible_env, run_playbook

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_demo_playbook_converges_and_keeps_secrets_out_of_output(keycloak, tmp_path):
    realm = "demo-%s" % uuid.uuid4().hex[:6]
    output = tmp_path / "delivered"
    env = ansible_env(keycloak, DEMO_REALM=realm, DEMO_OUTPUT=str(output))
    playbook = os.path.join(REPO, "playbooks", "demo.yml")
    first = run_playbook(playbook, env, verbosity=3)
    assert first.rc == 0, first.output[-3000:]
    assert "token obtained with the delivered secret: yes" in first.output
    secret = admin_client(keycloak, realm).get_client_secrets(
        admin_client(keycloak, realm).get_client_id("mlflow-tracking"))["value"]
    assert secret not in first.output
    delivered = output / "mlflow-tracking.env"
    assert oct(delivered.stat().st_mode & 0o777) == "0o600"
    assert "OIDC_CLIENT_SECRET=%s" % secret in delivered.read_text()

    second = run_playbook(playbook, env, verbosity=3)
    assert second.rc == 0, second.output[-3000:]
    assert re.search(r"localhost\s+: ok=\d+\s+changed=0 ", second.output), second.output[-1500:]
    assert secret not in second.output
    admin_client(keycloak).delete_realm(realm)
