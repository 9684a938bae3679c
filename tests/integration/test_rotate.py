"""rotate role: rotate -> redeliver -> verify -> retire, and no retirement when a destination lacks the secret."""
import hashlib
import os
import sys
import threading
import time

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
            (tmp_path / name / "blocker").write_text("a file where a directory should be\n")
            path = tmp_path / name / "blocker" / "oidc.env"  # the directory cannot be created: delivery fails
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
    assert "Cannot create directory %s" % (tmp_path / "app2" / "blocker") in run.output, "path and reason named"
    new = delivered_secret(tmp_path / "app1" / "oidc.env")
    assert oidc.client_credentials(keycloak, realm, "worker2", new)[0] == 200
    assert oidc.client_credentials(keycloak, realm, "worker2", old)[0] == 200, "the old secret stays valid"
    admin_client(keycloak)  # the server is still fine


# -- reload styles under load --------------------------------------------------------------------

CONSUMER_RATE = 20  # token requests per second per consumer
CONSUMER_MAX_SECONDS = 300


class Consumer(threading.Thread):
    """A consumer of a client at CONSUMER_RATE token requests/s, holding the secret of its credentials file.

    reread: reads the file again whenever it changed; otherwise it keeps the secret it loaded until its reload
    trigger file is touched (a restart, by the handler or later). After each successful request it records the
    sha256 of the file content it used, which the rotate role's consumer check compares with the file.
    """

    def __init__(self, keycloak, realm, client_id, credentials, style):
        super().__init__(daemon=True)
        self.keycloak, self.realm, self.client_id, self.credentials, self.style = keycloak, realm, client_id, credentials, style
        self.trigger = credentials.parent / "reload"
        self.status = credentials.parent / "in-use.sha256"
        self.requests, self.failures = 0, 0
        self._stop_event = threading.Event()
        self._load()

    def _load(self):
        self.loaded = self.credentials.read_bytes()
        self.loaded_mtime = self.credentials.stat().st_mtime_ns
        self.trigger_mtime = self.trigger.stat().st_mtime_ns if self.trigger.exists() else None

    def _maybe_reload(self):
        if self.style == "reread":
            if self.credentials.stat().st_mtime_ns != self.loaded_mtime:
                self._load()
        elif self.trigger.exists() and self.trigger.stat().st_mtime_ns != self.trigger_mtime:
            self._load()

    def run(self):
        deadline = time.monotonic() + CONSUMER_MAX_SECONDS
        while not self._stop_event.is_set() and time.monotonic() < deadline:
            started = time.monotonic()
            self._maybe_reload()
            secret = dict(line.split("=", 1) for line in self.loaded.decode().splitlines())["OIDC_CLIENT_SECRET"]
            status, _body = oidc.client_credentials(self.keycloak, self.realm, self.client_id, secret)
            self.requests += 1
            if status == 200:
                self.status.write_text(hashlib.sha256(self.loaded).hexdigest())
            else:
                self.failures += 1
            time.sleep(max(0.0, 1.0 / CONSUMER_RATE - (time.monotonic() - started)))

    def stop(self):
        self._stop_event.set()
        self.join(timeout=60)


RELOAD_PLAY = """
- hosts: keycloak_consumers
  gather_facts: false
  roles:
    - role: keycloak_ops.clients.rotate
  handlers:
    - name: Restart the consumer
      ansible.builtin.file:
        path: "{{ reload_trigger }}"
        state: touch
        mode: "0600"
      when: reload_trigger is defined
      listen: keycloak credentials changed
"""


def test_no_consumer_fails_a_request_when_it_reloads_before_the_old_secret_is_retired(keycloak, realm, oracle, tmp_path):
    styles = {"reread": "rl-reread", "handler": "rl-handler", "late": "rl-late"}
    hosts = {}
    for style, client_id in styles.items():
        oracle.create_client({"clientId": client_id, "publicClient": False, "serviceAccountsEnabled": True,
                              "standardFlowEnabled": False})
        home = tmp_path / style
        home.mkdir()
        credentials = home / "oidc.env"
        credentials.write_text("OIDC_CLIENT_SECRET=%s\n" % oracle.get_client_secrets(oracle.get_client_id(client_id))["value"])
        host = dict(ansible_connection="local", ansible_python_interpreter=sys.executable,
                    deliver_files=[dict(client_id=client_id, path=str(credentials), preset="mlflow")])
        if style == "handler":
            host["reload_trigger"] = str(home / "reload")
        if style != "late":  # a late restart cannot pass the check before the play ends
            host["rotate_consumer_checks"] = [{"command": [
                "sh", "-c", 'test "$(cat %s)" = "$(sha256sum < %s | cut -c1-64)"' % (home / "in-use.sha256", credentials)]}]
        hosts[style] = host
    data = {"all": {"hosts": {"localhost": dict(ansible_connection="local", ansible_python_interpreter=sys.executable)},
                    "vars": dict(rotate_realm=realm, rotate_clients=sorted(styles.values()), rotate_grace_period="10m"),
                    "children": {"keycloak_consumers": {"hosts": hosts}}}}
    inventory_path = tmp_path / "inventory.yml"
    inventory_path.write_text(yaml.safe_dump(data))
    playbook = tmp_path / "rotate.yml"
    playbook.write_text(RELOAD_PLAY)

    consumers = {style: Consumer(keycloak, realm, client_id, tmp_path / style / "oidc.env", style)
                 for style, client_id in styles.items()}
    for consumer in consumers.values():
        consumer.start()
    try:
        time.sleep(2)
        run = run_playbook(str(playbook), ansible_env(keycloak), inventory=str(inventory_path))
        time.sleep(2)
        (tmp_path / "late" / "reload").touch()  # the late consumer restarts after the play
        time.sleep(2)
    finally:
        for consumer in consumers.values():
            consumer.stop()
    assert run.rc == 0, run.output[-4000:]
    for style, consumer in consumers.items():
        print("\nreload style %-7s: %d token requests, %d failed" % (style, consumer.requests, consumer.failures))
    assert consumers["reread"].failures == 0 and consumers["reread"].requests > 100
    assert consumers["handler"].failures == 0 and consumers["handler"].requests > 100
    # Restarted after the play: between retirement and restart it holds the retired secret.
    assert consumers["late"].failures > 0
