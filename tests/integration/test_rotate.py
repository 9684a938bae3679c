"""rotate role: rotate -> redeliver -> verify -> retire, and no retirement when a destination lacks the secret."""
import os
import sys

import yaml

from tests.integration import oidc
from tests.integration.conftest import admin_client
from tests.integration.runner import ansible_env, run_playbook

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PLAYBOOK = os.path.join(REPO, "playbooks", "rotate.yml")


def inventory(tmp_path, realm, broken_host=False):
    hosts = {}
    for name in ("app1", "app2"):
        (tmp_path / name).mkdir(exist_ok=True)
        path = tmp_path / name / "oidc.env"
        if broken_host and name == "app2":
            path = tmp_path / name / "missing-dir" / "oidc.env"  # copy cannot create the directory: delivery fails
        hosts[name] = dict(ansible_connection="local", ansible_python_interpreter=sys.executable,
                           deliver_files=[dict(client_id="worker", path=str(path), preset="mlflow")])
    data = {"all": {"hosts": {"localhost": dict(ansible_connection="local", ansible_python_interpreter=sys.executable)},
                    "vars": dict(rotate_realm=realm, rotate_clients=["worker"], rotate_grace_period="10m"),
                    "children": {"keycloak_consumers": {"hosts": hosts}}}}
    path = tmp_path / ("broken.yml" if broken_host else "inventory.yml")
    path.write_text(yaml.safe_dump(data))
    return str(path)


def delivered_secret(path):
    return dict(line.split("=", 1) for line in path.read_text().splitlines())["OIDC_CLIENT_SECRET"]


def test_rotation_redelivers_verifies_and_retires(keycloak, realm, oracle, tmp_path):
    oracle.create_client({"clientId": "worker", "publicClient": False, "serviceAccountsEnabled": True,
                          "standardFlowEnabled": False})
    old = oracle.get_client_secrets(oracle.get_client_id("worker"))["value"]
    env = ansible_env(keycloak)
    run = run_playbook(PLAYBOOK, env, inventory=inventory(tmp_path, realm), verbosity=3)
    assert run.rc == 0, run.output[-4000:]
    new = delivered_secret(tmp_path / "app1" / "oidc.env")
    assert new != old and delivered_secret(tmp_path / "app2" / "oidc.env") == new
    assert old not in run.output and new not in run.output
    assert oidc.client_credentials(keycloak, realm, "worker", new)[0] == 200
    assert oidc.client_credentials(keycloak, realm, "worker", old)[1]["error"] == "unauthorized_client", "retired"


def test_failed_delivery_stops_before_retiring(keycloak, realm, oracle, tmp_path):
    oracle.create_client({"clientId": "worker2", "publicClient": False, "serviceAccountsEnabled": True,
                          "standardFlowEnabled": False})
    inv = inventory(tmp_path, realm, broken_host=True).replace("broken", "broken")
    text = open(inv).read().replace("worker", "worker2")
    open(inv, "w").write(text)
    old = oracle.get_client_secrets(oracle.get_client_id("worker2"))["value"]
    run = run_playbook(PLAYBOOK, ansible_env(keycloak), inventory=inv)
    assert run.rc != 0
    assert "The new secret did not reach app2" in run.output and "NOT retired" in run.output, run.output[-3000:]
    new = delivered_secret(tmp_path / "app1" / "oidc.env")
    assert oidc.client_credentials(keycloak, realm, "worker2", new)[0] == 200
    assert oidc.client_credentials(keycloak, realm, "worker2", old)[0] == 200, "the old secret stays valid"
    admin_client(keycloak)  # the server is still fine
