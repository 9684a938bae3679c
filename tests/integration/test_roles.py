"""provision + deliver roles through playbooks/provision.yml, with two consumer hosts, twice."""
import os
import pwd
import re
import shutil
import stat
import subprocess
import sys
import tempfile

import pytest
import yaml

from ansible_collections.keycloak_ops.clients.plugins.module_utils._files.private_file import write_private
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


ROTATE_PLAYBOOK = os.path.join(REPO, "playbooks", "rotate.yml")


def keycloak_snapshot(oracle):
    """Everything provision and rotate could change in the realm: clients, secrets, scopes, service-account roles."""
    snapshot = {}
    for client in oracle.get_clients():
        uuid = client["id"]
        for field in ("defaultClientScopes", "optionalClientScopes"):  # the server's order is not stable
            client[field] = sorted(client.get(field) or [])
        entry = dict(rep=client, default_scopes=sorted(s["name"] for s in oracle.get_client_default_client_scopes(uuid)))
        if not client.get("publicClient") and not client.get("bearerOnly"):
            entry["secret"] = oracle.get_client_secrets(uuid).get("value")
            entry["rotated"] = oracle.connection.raw_get(
                "admin/realms/%s/clients/%s/client-secret/rotated" % (oracle.connection.realm_name, uuid)).text
        if client.get("serviceAccountsEnabled"):
            user = oracle.get_client_service_account_user(uuid)
            entry["realm_roles"] = sorted(r["name"] for r in oracle.get_realm_roles_of_user(user["id"]))
        snapshot[client["clientId"]] = entry
    return snapshot


def differences(before, after, where=""):
    """Paths whose values differ between two snapshots (to name what changed)."""
    if isinstance(before, dict) and isinstance(after, dict):
        return [d for k in sorted(set(before) | set(after), key=str)
                for d in differences(before.get(k), after.get(k), "%s/%s" % (where, k))]
    return [] if before == after else [where]


def tree_snapshot(base):
    """Every file and directory under base with its mode and content."""
    return {str(p): (stat.S_IMODE(p.stat().st_mode), p.read_bytes() if p.is_file() else None)
            for p in sorted(base.rglob("*"))}


def test_check_diff_through_provision_deliver_and_rotate_writes_nothing(keycloak, realm, oracle, inventory):
    base, inventory_path = inventory
    env = ansible_env(keycloak)
    first = run_playbook(PLAYBOOK, env, inventory=inventory_path)
    assert first.rc == 0, first.output[-4000:]

    # A declaration that adds a client (delivered into a directory that does not exist yet), changes one (a
    # service-account role) and, in the rotate run, rotates one.
    data = yaml.safe_load(open(inventory_path))
    data["all"]["hosts"]["localhost"]["provision_clients"] += [dict(client_id="newbie", preset="service")]
    for item in data["all"]["hosts"]["localhost"]["provision_clients"]:
        if item["client_id"] == "otel":
            item["service_account_realm_roles"] = ["offline_access"]
    newbie_file = base / "app1" / "new" / "newbie.env"
    data["all"]["children"]["keycloak_consumers"]["hosts"]["app1"]["deliver_files"].append(
        dict(client_id="newbie", path=str(newbie_file)))
    data["all"]["vars"] = dict(rotate_realm=realm, rotate_clients=["mlflow-tracking"])
    with open(inventory_path, "w") as stream:
        yaml.safe_dump(data, stream)

    site = base / "site-check.yml"
    site.write_text("- ansible.builtin.import_playbook: %s\n- ansible.builtin.import_playbook: %s\n"
                    % (PLAYBOOK, ROTATE_PLAYBOOK))
    keycloak_before, tree_before = keycloak_snapshot(oracle), tree_snapshot(base)
    provision = rotate = run_playbook(str(site), env, check=True, diff=True, verbosity=3, inventory=inventory_path)
    assert provision.rc == 0, provision.output[-6000:]
    keycloak_after = keycloak_snapshot(oracle)
    assert keycloak_after == keycloak_before, "check mode changed Keycloak: %s" % differences(keycloak_before, keycloak_after)
    assert tree_snapshot(base) == tree_before, "check mode changed a destination"

    assert "would create client newbie" in provision.output
    assert "would write file %s for client newbie" % newbie_file in provision.output
    assert "serviceAccountRoles" in provision.output and "offline_access" in provision.output, provision.output[-6000:]
    assert "would write file %s for client mlflow-tracking" % (base / "app1" / "mlflow.env") in rotate.output
    assert "would write Ansible Vault file %s" % (base / "credentials.vault.yml") in rotate.output
    assert "would retire the previous secret of mlflow-tracking" in rotate.output
    for entry in keycloak_before.values():
        for value in (entry.get("secret"), entry.get("rotated")):
            if value and len(value) > 8 and value not in ('{"error":"unknown_error"}',):
                assert value not in provision.output and value not in rotate.output

    # A destination whose content differs shows its diff, secret masked (the file of an existing client).
    (base / "app2" / "otel.yaml").write_text("MLFLOW_CLIENT_ID: \"otel\"\nMLFLOW_CLIENT_SECRET: \"stale-value\"\n")
    diff_run = run_playbook(PLAYBOOK, env, check=True, diff=True, inventory=inventory_path)
    assert diff_run.rc == 0, diff_run.output[-4000:]
    assert "-MLFLOW_CLIENT_SECRET: \"******** (previous)\"" in diff_run.output, diff_run.output[-6000:]
    assert "+MLFLOW_CLIENT_SECRET: \"********\"" in diff_run.output and "stale-value" not in diff_run.output


def start_poller_as_nobody(directory, stop):
    """A forked child that drops to nobody and tries to read every file of directory until stop exists.

    Forked rather than executed: the interpreter of the test venv is not readable by nobody. Returns a function
    that waits for the child and gives (reads with content, files opened, sweeps of the directory)."""
    nobody = pwd.getpwnam("nobody")
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: only os calls from here on
        os.close(read_end)
        reads = opened = sweeps = 0
        try:
            os.setgroups([])
            os.setgid(nobody.pw_gid)
            os.setuid(nobody.pw_uid)
            while not os.path.exists(stop):
                sweeps += 1
                for name in os.listdir(directory):
                    try:
                        handle = os.open(os.path.join(directory, name), os.O_RDONLY)
                    except OSError:
                        continue
                    opened += 1
                    if os.read(handle, 4096):
                        reads += 1
                    os.close(handle)
            os.write(write_end, ("%d %d %d" % (reads, opened, sweeps)).encode())
        finally:
            os._exit(0)
    os.close(write_end)

    def result():
        os.waitpid(pid, 0)
        with os.fdopen(read_end) as stream:
            return tuple(int(n) for n in stream.read().split())
    return result


def test_secret_files_are_never_readable_by_another_user(tmp_path):
    """A process running as nobody tries to read every file of the directory while secret files are written:
    100 creates and 100 updates through secret_file's write (in-process, so the poller sees many writes in little
    time), then 5 creates and 5 updates through the module in a playbook."""
    directory = tempfile.mkdtemp(prefix="keycloak-ops-poller-", dir="/tmp")
    try:
        os.chmod(directory, 0o755)  # nobody may list the directory: only the files must stay closed
        stop = os.path.join(tempfile.gettempdir(), os.path.basename(directory) + ".stop")
        playbook = tmp_path / "write.yml"
        playbook.write_text("""
- hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: Create
      keycloak_ops.clients.secret_file:
        path: "%(d)s/module{{ item }}.env"
        content: "SECRET=created-{{ item }}\\n"
        mode: "0600"
      loop: "{{ range(5) | list }}"
    - name: Update
      keycloak_ops.clients.secret_file:
        path: "%(d)s/module{{ item }}.env"
        content: "SECRET=updated-{{ item }}\\n"
        mode: "0640"
      loop: "{{ range(5) | list }}"
""" % {"d": directory})
        poller = start_poller_as_nobody(directory, stop)
        try:
            for phase, mode in (("created", 0o600), ("updated", 0o640)):
                for index in range(100):
                    write_private(os.path.join(directory, "f%d.env" % index),
                                  ("SECRET=%s-%d\n" % (phase, index)).encode(), mode, os.geteuid(), os.getegid())
            run = run_playbook(str(playbook), ansible_env(None))
        finally:
            open(stop, "w").close()
            reads, opened, sweeps = poller()
            os.unlink(stop)
        assert run.rc == 0, run.output[-3000:]
        assert re.search(r"localhost\s+: ok=2\s+changed=2 ", run.output), run.output[-2000:]
        print("\npoller as nobody: %s sweeps of the directory, %s files opened, %s reads with content"
              % (sweeps, opened, reads))
        assert sweeps > 100, "the poller ran all along"
        assert reads == 0 and opened == 0
        assert len(os.listdir(directory)) == 105 and all(
            stat.S_IMODE(os.stat(os.path.join(directory, n)).st_mode) == 0o640 for n in os.listdir(directory))
    finally:
        shutil.rmtree(directory)


def test_missing_directories_are_created_private_and_failures_name_the_path(keycloak, realm, inventory):
    base, inventory_path = inventory
    env = ansible_env(keycloak)
    nested = base / "app1" / "a" / "b" / "mlflow.env"
    (base / "app1" / "blocker").write_text("not a directory\n")
    blocked = base / "app1" / "blocker" / "x.env"
    run = run_playbook(PLAYBOOK, env, verbosity=3, inventory=inventory_path, extra_vars={"deliver_files": [
        {"client_id": "mlflow-tracking", "path": str(nested)}]})
    assert run.rc == 0, run.output[-3000:]
    assert stat.S_IMODE((base / "app1" / "a").stat().st_mode) == 0o700
    assert stat.S_IMODE((base / "app1" / "a" / "b").stat().st_mode) == 0o700
    assert stat.S_IMODE(nested.stat().st_mode) == 0o600
    failed = run_playbook(PLAYBOOK, env, verbosity=3, inventory=inventory_path, extra_vars={"deliver_files": [
        {"client_id": "mlflow-tracking", "path": str(blocked)}]})
    assert failed.rc != 0
    assert "Cannot create directory %s: " % blocked.parent in failed.output, failed.output[-3000:]
    assert "censored due to no_log" not in failed.output
    assert secret_of(keycloak, realm, "mlflow-tracking") not in run.output + failed.output
