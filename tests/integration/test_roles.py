"""provision + deliver roles through playbooks/provision.yml, with two consumer hosts, twice."""
import os
import re
import stat
import subprocess
import sys

import pytest
import yaml

from tests.integration import oidc
from tests.integration.conftest import admin_client
from tests.integration.runner import ansible_env, run_playbook

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PLAYBOOK = os.path.join(REPO, "playbooks", "provision.yml")


@pytest.fixture
def inventory(tmp_path, realm):
    hosts = {}
    for name in ("app1", "app2"):
        (tmp_path / name).mkdir()
        hosts[name] = dict(ansible_connection="local", ansible_python_interpreter=sys.executable)
    hosts["app1"]["deliver_files"] = [
        dict(client_id="mlflow-tracking", path=str(tmp_path / "app1" / "mlflow.env"), preset="mlflow"),
        dict(client_id="phoenix", path=str(tmp_path / "app1" / "phoenix.json"), preset="phoenix", format="json"),
    ]
    hosts["app2"]["deliver_files"] = [
        dict(client_id="otel", path=str(tmp_path / "app2" / "otel.yaml"), preset="otel_collector", format="yaml", mode="0640"),
        dict(client_id="mlflow-tracking", path=str(tmp_path / "app2" / "app.properties"), format="properties",
             key_names={"client_id": "app.client-id", "client_secret": "app.client-secret", "token_url": "", "issuer_url": ""}),
    ]
    (tmp_path / "vault-pass").write_text("demo-vault-password\n")
    localhost = dict(
        ansible_connection="local", ansible_python_interpreter=sys.executable,
        provision_realm=realm,
        provision_clients=[
            dict(client_id="mlflow-tracking", preset="service", default_client_scopes=["profile", "email"]),
            dict(client_id="phoenix", preset="service"),
            dict(client_id="otel", preset="service"),
            dict(client_id="spa", kind="public", preset="spa", redirect_uris=["http://localhost:3000/*"]),
        ],
    )
    consumers_vars = dict(
        deliver_ansible_vault=[dict(path=str(tmp_path / "credentials.vault.yml"),
                                    vault_password_file=str(tmp_path / "vault-pass"), vault_id="keycloak",
                                    client_ids=["mlflow-tracking", "otel"])],
        deliver_kubernetes=[dict(client_id="otel", name="otel-oidc", namespace="observability",
                                 preset="otel_collector", annotations={"reloader.stakater.com/match": "true"},
                                 manifest_path=str(tmp_path / "otel-secret.yml"))],
    )
    data = {"all": {"hosts": {"localhost": localhost},
                    "children": {"keycloak_consumers": {"hosts": hosts, "vars": consumers_vars}}}}
    path = tmp_path / "inventory.yml"
    path.write_text(yaml.safe_dump(data))
    return tmp_path, str(path)


def secret_of(server, realm, client_id):
    oracle = admin_client(server, realm)
    return oracle.get_client_secrets(oracle.get_client_id(client_id))["value"]


def test_provision_and_deliver_twice_with_no_secret_shown(keycloak, realm, inventory, tmp_path):
    base, inventory_path = inventory
    handler_log = base / "restarts.log"
    playbook = base / "site.yml"
    # A consumer's own handler on the delivery topic: it must run only when the content changed.
    # A consumer's own play: its handler listens on the delivery topic and must run only when content changed.
    playbook.write_text("""
- ansible.builtin.import_playbook: %s
- hosts: keycloak_consumers
  gather_facts: false
  roles:
    - role: keycloak_ops.clients.deliver
      vars:
        deliver_credentials: "{{ hostvars['localhost'].provision_credentials }}"
        deliver_ansible_vault: []
        deliver_kubernetes: []
        deliver_files:
          - {client_id: phoenix, path: "{{ restart_probe_dir }}/{{ inventory_hostname }}-phoenix.env", preset: phoenix}
  handlers:
    - name: Restart the consumer
      ansible.builtin.shell: echo "{{ inventory_hostname }}" >> %s
      listen: keycloak credentials changed
      changed_when: true
""" % (PLAYBOOK, handler_log))
    env = ansible_env(keycloak)
    first = run_playbook(str(playbook), env, verbosity=3, inventory=inventory_path,
                         extra_vars={"restart_probe_dir": str(base)})
    assert first.rc == 0, first.output[-4000:]
    secrets = {c: secret_of(keycloak, realm, c) for c in ("mlflow-tracking", "phoenix", "otel")}
    for secret in secrets.values():
        assert secret not in first.output

    mlflow_env = (base / "app1" / "mlflow.env").read_text()
    assert "OIDC_CLIENT_SECRET=%s" % secrets["mlflow-tracking"] in mlflow_env
    assert "OIDC_TOKEN_URL=%s/realms/%s/protocol/openid-connect/token" % (keycloak.url, realm) in mlflow_env
    assert "PHOENIX_OAUTH2_CLIENT_SECRET" in (base / "app1" / "phoenix.json").read_text()
    assert yaml.safe_load((base / "app2" / "otel.yaml").read_text())["MLFLOW_CLIENT_SECRET"] == secrets["otel"]
    assert "app.client-secret=%s" % secrets["mlflow-tracking"] in (base / "app2" / "app.properties").read_text()
    assert stat.S_IMODE((base / "app1" / "mlflow.env").stat().st_mode) == 0o600
    assert stat.S_IMODE((base / "app2" / "otel.yaml").stat().st_mode) == 0o640
    assert not list(base.glob("app*/*~")) and not [p for p in base.glob("app*/*") if ".20" in p.name], "no backups"

    status, body = oidc.client_credentials(keycloak, realm, "mlflow-tracking", secrets["mlflow-tracking"])
    assert status == 200, body

    vault_file = base / "credentials.vault.yml"
    assert vault_file.read_text().startswith("$ANSIBLE_VAULT;1.2;AES256;keycloak")
    assert stat.S_IMODE(vault_file.stat().st_mode) == 0o600
    decrypted = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-vault"), "view",
                                "--vault-id", "keycloak@%s" % (base / "vault-pass"), str(vault_file)],
                               capture_output=True, text=True, check=True, env=env).stdout
    assert yaml.safe_load(decrypted)["keycloak_client_credentials"]["otel"]["client_secret"] == secrets["otel"]

    manifest = yaml.safe_load((base / "otel-secret.yml").read_text())
    assert manifest["kind"] == "Secret" and manifest["metadata"]["annotations"]["reloader.stakater.com/match"] == "true"
    assert set(manifest["data"]) == {"MLFLOW_CLIENT_ID", "MLFLOW_CLIENT_SECRET"}
    assert sorted(handler_log.read_text().split()) == ["app1", "app2"]
    vault_before = vault_file.read_text()

    second = run_playbook(str(playbook), env, verbosity=3, inventory=inventory_path,
                          extra_vars={"restart_probe_dir": str(base)})
    assert second.rc == 0, second.output[-4000:]
    for host in ("localhost", "app1", "app2"):
        assert re.search(r"%s\s+: ok=\d+\s+changed=0 " % host, second.output), second.output[-2000:]
    assert vault_file.read_text() == vault_before, "vault file untouched when content is the same"
    assert sorted(handler_log.read_text().split()) == ["app1", "app2"], "no restart without a change"
    for secret in secrets.values():
        assert secret not in second.output


def test_delivery_of_an_unknown_client_fails_clearly(keycloak, realm, inventory):
    base, inventory_path = inventory
    env = ansible_env(keycloak)
    run = run_playbook(PLAYBOOK, env, inventory=inventory_path,
                       extra_vars={"deliver_files": [{"client_id": "nobody", "path": str(base / "x.env")}]})
    assert run.rc != 0 and "No credentials for client(s) nobody" in run.output, run.output[-3000:]
