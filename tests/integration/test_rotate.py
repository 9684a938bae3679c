"""rotate role: rotate -> redeliver -> verify -> retire, and no retirement when a destination lacks the secret."""
import hashlib
import os
import sys
import threading
import time

import pytest
import yaml

from tests.integration import oidc
from tests.integration.conftest import admin_client
from tests.integration.runner import ansible_env, oldest_python, run_playbook
from tests.integration.test_client_secret import RefusingProxy

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


def many_clients_inventory(tmp_path, realm, names, name="many.yml"):
    """names delivered to files split over two hosts (as the benchmark does)."""
    hosts = {}
    for index, host in enumerate(("app1", "app2")):
        hosts[host] = dict(ansible_connection="local", ansible_python_interpreter=sys.executable,
                           deliver_files=[dict(client_id=n, path=str(tmp_path / host / ("%s.env" % n)))
                                          for n in names[index::2]])
    data = {"all": {"hosts": {"localhost": dict(ansible_connection="local", ansible_python_interpreter=sys.executable)},
                    "vars": dict(rotate_realm=realm, rotate_clients=names, rotate_grace_period="10m"),
                    "children": {"keycloak_consumers": {"hosts": hosts}}}}
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data))
    return str(path)


def delivered(tmp_path, names):
    return {n: delivered_secret(next(tmp_path.glob("app*/%s.env" % n))) for n in names
            if list(tmp_path.glob("app*/%s.env" % n))}


def test_many_clients_rotate_within_the_request_budget_and_a_run_with_nothing_due_does_nothing(
        keycloak, realm, oracle, tmp_path, counting_proxy):
    names = ["budget-%02d" % i for i in range(12)]
    for name in names:
        oracle.create_client({"clientId": name, "publicClient": False, "serviceAccountsEnabled": True,
                              "standardFlowEnabled": False})
    old = {n: oracle.get_client_secrets(oracle.get_client_id(n))["value"] for n in names}
    inv = many_clients_inventory(tmp_path, realm, names)
    env = ansible_env(keycloak, KEYCLOAK_URL=counting_proxy.url)
    counting_proxy.reset()
    run = run_playbook(PLAYBOOK, env, inventory=inv)
    assert run.rc == 0, run.output[-4000:]
    reads, writes, tokens = counting_proxy.reads("admin"), counting_proxy.writes("admin"), counting_proxy.total("token")
    new = delivered(tmp_path, names)
    assert set(new) == set(names)
    for name in names:
        assert new[name] != old[name] and oidc.client_credentials(keycloak, realm, name, new[name])[0] == 200
        assert oidc.client_credentials(keycloak, realm, name, old[name])[1]["error"] == "unauthorized_client", "retired"

    stamps = {p: p.stat().st_mtime_ns for p in tmp_path.glob("app*/*.env")}
    counting_proxy.reset()
    again = run_playbook(PLAYBOOK, env, inventory=inv, extra_vars={"rotate_max_age": "1d"})
    assert again.rc == 0, again.output[-4000:]
    print("\nrotate role, %d clients on 2 hosts: %d admin reads, %d admin writes, %d token requests; nothing due: "
          "%d admin reads, %d admin writes" % (len(names), reads, writes, tokens, counting_proxy.reads("admin"),
                                               counting_proxy.writes("admin")))
    n = len(names)
    assert reads <= 2 * n + 20 and writes <= 3 * n + 2
    # The rotation's results carry the new secrets: no read of them afterwards.
    assert tokens == n + 2, "one check per client in one task, and one login per admin task (rotate, retire)"
    assert counting_proxy.reads("admin") + counting_proxy.writes("admin") <= 5 and counting_proxy.writes("admin") == 0
    assert {p: p.stat().st_mtime_ns for p in tmp_path.glob("app*/*.env")} == stamps, "nothing delivered"
    assert delivered(tmp_path, names) == new


@pytest.mark.parametrize("ansible_core", ["newest", "oldest"])
def test_a_refused_rotation_delivers_the_new_secrets_it_made_and_retires_nothing(keycloak, realm, oracle, tmp_path,
                                                                                 ansible_core):
    """The rotation task is no_log: its registered failure stops the play with the module's message, on the oldest
    supported ansible-core as on the newest."""
    python = oldest_python() if ansible_core == "oldest" else None
    names = ["partial-%s-%02d" % (ansible_core, i) for i in range(8)]
    for name in names:
        oracle.create_client({"clientId": name, "publicClient": False, "serviceAccountsEnabled": True,
                              "standardFlowEnabled": False})
    old = {n: oracle.get_client_secrets(oracle.get_client_id(n))["value"] for n in names}
    for index, host in enumerate(("app1", "app2")):
        (tmp_path / host).mkdir()
        for name in names[index::2]:
            (tmp_path / host / ("%s.env" % name)).write_text("OIDC_CLIENT_SECRET=%s\n" % old[name])
    inv = many_clients_inventory(tmp_path, realm, names)
    refused = names[3]
    proxy = RefusingProxy(keycloak, "POST", "/clients/%s/client-secret" % oracle.get_client_id(refused)).start()
    try:
        run = run_playbook(PLAYBOOK, ansible_env(keycloak, KEYCLOAK_URL=proxy.url), inventory=inv, verbosity=3,
                           python=python)
    finally:
        proxy.stop()
    assert run.rc != 0
    assert "clients[3] (client '%s'): Keycloak answered HTTP 400" % refused in run.output, run.output[-4000:]
    assert "were delivered; the previous secrets were NOT retired" in run.output, run.output[-4000:]
    files = delivered(tmp_path, names)
    current = {n: oracle.get_client_secrets(oracle.get_client_id(n))["value"] for n in names}
    rotated = [n for n in names if current[n] != old[n]]
    assert rotated and refused not in rotated
    for name in names:
        assert files[name] == current[name], "every destination holds the client's current secret"
        assert oidc.client_credentials(keycloak, realm, name, old[name])[0] == 200, "nothing retired"
    for secret in list(old.values()) + list(current.values()):
        assert secret not in run.output


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


BULK_PLAY = """
- hosts: keycloak_consumers
  gather_facts: false
  roles:
    - role: keycloak_ops.clients.rotate
  handlers:
    - name: Restart the consumers
      ansible.builtin.file:
        path: "{{ item }}"
        state: touch
        mode: "0600"
      loop: "{{ reload_triggers | default([]) }}"
      listen: keycloak credentials changed
"""


@pytest.mark.slow
def test_a_bulk_rotation_opens_no_window_for_consumers_of_any_of_its_clients(keycloak, realm, oracle, tmp_path):
    """200 clients rotated in one run while five consumers of five of them (three re-reading their file, two restarted
    by the handler) ask for a token 20 times a second each: not one request fails."""
    names = ["bulk-%03d" % i for i in range(200)]
    for name in names:
        oracle.create_client({"clientId": name, "publicClient": False, "serviceAccountsEnabled": True,
                              "standardFlowEnabled": False})
    watched = {names[index]: ("reread" if index < 120 else "handler") for index in (0, 40, 80, 120, 199)}
    hosts = {"app1": dict(deliver_files=[], rotate_consumer_checks=[]),
             "app2": dict(deliver_files=[], rotate_consumer_checks=[], reload_triggers=[])}
    old = {}
    for name in names:
        host = "app2" if watched.get(name) == "handler" or (name not in watched and name[-1] in "13579") else "app1"
        home = tmp_path / host / name
        home.mkdir(parents=True)
        credentials = home / "oidc.env"
        if name in watched:
            old[name] = oracle.get_client_secrets(oracle.get_client_id(name))["value"]
            credentials.write_text("OIDC_CLIENT_SECRET=%s\n" % old[name])
        hosts[host]["deliver_files"].append(dict(client_id=name, path=str(credentials), preset="mlflow"))
        if name in watched:
            hosts[host]["rotate_consumer_checks"].append({"command": [
                "sh", "-c", 'test "$(cat %s)" = "$(sha256sum < %s | cut -c1-64)"' % (home / "in-use.sha256", credentials)]})
            if watched[name] == "handler":
                hosts[host]["reload_triggers"].append(str(home / "reload"))
    for host in hosts.values():
        host.update(ansible_connection="local", ansible_python_interpreter=sys.executable)
    data = {"all": {"hosts": {"localhost": dict(ansible_connection="local", ansible_python_interpreter=sys.executable)},
                    "vars": dict(rotate_realm=realm, rotate_clients=names, rotate_grace_period="10m"),
                    "children": {"keycloak_consumers": {"hosts": hosts}}}}
    inventory_path = tmp_path / "inventory.yml"
    inventory_path.write_text(yaml.safe_dump(data))
    playbook = tmp_path / "rotate.yml"
    playbook.write_text(BULK_PLAY)
    consumers = [Consumer(keycloak, realm, name, next(tmp_path.glob("app*/%s/oidc.env" % name)), style)
                 for name, style in watched.items()]
    for consumer in consumers:
        consumer.start()
    try:
        time.sleep(2)
        started = time.monotonic()
        run = run_playbook(str(playbook), ansible_env(keycloak), inventory=str(inventory_path))
        took = time.monotonic() - started
        time.sleep(2)
    finally:
        for consumer in consumers:
            consumer.stop()
    assert run.rc == 0, run.output[-4000:]
    print("\nbulk rotation of %d clients: %.1f s" % (len(names), took))
    for consumer in consumers:
        print("\nbulk rotation, %s (%s): %d token requests, %d failed"
              % (consumer.client_id, consumer.style, consumer.requests, consumer.failures))
    assert all(consumer.failures == 0 for consumer in consumers)
    assert all(consumer.requests > 40 for consumer in consumers)
    for consumer in consumers:
        new = dict(line.split("=", 1) for line in consumer.loaded.decode().splitlines())["OIDC_CLIENT_SECRET"]
        assert new != old[consumer.client_id], "each consumer ended on the new secret"
        assert oidc.client_credentials(keycloak, realm, consumer.client_id, old[consumer.client_id])[0] != 200, "retired"
