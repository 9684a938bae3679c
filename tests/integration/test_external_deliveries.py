"""Deliveries to HashiCorp Vault and to a Kubernetes cluster, through playbooks/provision.yml, against real servers.

Vault: the harness's dev server (tests/harness/vault_server.py), or VAULT_ADDR/VAULT_TOKEN. Kubernetes: the cluster
of KUBECONFIG (or ~/.kube/config). Each test skips, with the reason, when its server cannot be had; the manifest-file
path of the Kubernetes delivery needs no cluster and is tested in test_roles.py.
"""
import base64
import os
import re
import sys
import uuid

import pytest
import yaml

from tests.collection_path import collections_root
from tests.integration.conftest import admin_client
from tests.integration.runner import ansible_env, run_playbook

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PLAYBOOK = os.path.join(REPO, "playbooks", "provision.yml")
CLIENT_ID = "mlflow-tracking"


def write_inventory(tmp_path, realm, **deliveries):
    """localhost provisions one service client and, as the only consumer, delivers it where it is told."""
    localhost = dict(ansible_connection="local", ansible_python_interpreter=sys.executable, provision_realm=realm,
                     provision_clients=[dict(client_id=CLIENT_ID, preset="service")], **deliveries)
    path = tmp_path / "inventory.yml"
    path.write_text(yaml.safe_dump({"all": {"hosts": {"localhost": localhost}}}))
    return str(path)


def provision_and_deliver(env, inventory):
    return run_playbook(PLAYBOOK, env, verbosity=3, inventory=inventory, extra_vars={"deliver_hosts": "localhost"})


def changed_count(run):
    counts = re.findall(r"localhost\s+: ok=\d+\s+changed=(\d+)", run.output)
    assert counts, run.output[-3000:]
    return int(counts[-1])


def current_secret(server, realm):
    oracle = admin_client(server, realm)
    return oracle.get_client_secrets(oracle.get_client_id(CLIENT_ID))["value"]


def test_hashi_vault_kv2_written_once_with_check_and_set(keycloak, realm, hashi_vault, extra_collections, tmp_path):
    path = "keycloak/%s/%s" % (realm, CLIENT_ID)
    inventory = write_inventory(tmp_path, realm, deliver_hashi_vault=[dict(client_id=CLIENT_ID, path=path,
                                                                           preset="mlflow")])
    env = ansible_env(keycloak, ANSIBLE_COLLECTIONS_PATH=collections_root() + os.pathsep + extra_collections,
                      VAULT_ADDR=hashi_vault.addr, VAULT_TOKEN=hashi_vault.token)

    first = provision_and_deliver(env, inventory)
    assert first.rc == 0, first.output[-4000:]
    secret = current_secret(keycloak, realm)
    stored = hashi_vault.read_kv2(path)
    assert stored["data"]["OIDC_CLIENT_SECRET"] == secret
    assert stored["data"]["OIDC_CLIENT_ID"] == CLIENT_ID
    assert stored["data"]["OIDC_TOKEN_URL"].endswith("/realms/%s/protocol/openid-connect/token" % realm)
    assert stored["metadata"]["version"] == 1
    assert secret not in first.output

    second = provision_and_deliver(env, inventory)
    assert second.rc == 0, second.output[-4000:]
    assert changed_count(second) == 0
    assert hashi_vault.read_kv2(path)["metadata"]["version"] == 1, "no new version when nothing changed"

    # Someone edited the secret in Vault: the next run puts the credentials back, as a new version.
    hashi_vault.write_kv2(path, dict(stored["data"], OIDC_CLIENT_SECRET="edited-by-hand"))
    third = provision_and_deliver(env, inventory)
    assert third.rc == 0, third.output[-4000:]
    assert changed_count(third) == 1
    repaired = hashi_vault.read_kv2(path)
    assert repaired["data"]["OIDC_CLIENT_SECRET"] == secret and repaired["metadata"]["version"] == 3
    for run in (second, third):
        assert secret not in run.output


def kubeconfig():
    path = os.environ.get("KUBECONFIG") or os.path.expanduser("~/.kube/config")
    return path if os.path.isfile(path) else None


@pytest.fixture
def kubernetes_namespace():
    if kubeconfig() is None:
        pytest.skip("Kubernetes unavailable: no KUBECONFIG and no ~/.kube/config "
                    "(the Secret manifest delivery is tested without a cluster in test_roles.py)")
    kubernetes = pytest.importorskip("kubernetes")
    kubernetes.config.load_kube_config(config_file=kubeconfig())
    core = kubernetes.client.CoreV1Api()
    name = "keycloak-ops-test-%s" % uuid.uuid4().hex[:8]
    core.create_namespace({"metadata": {"name": name}})
    yield core, name
    core.delete_namespace(name)


def test_kubernetes_secret_applied_once(keycloak, realm, kubernetes_namespace, extra_collections, tmp_path):
    core, namespace = kubernetes_namespace
    inventory = write_inventory(tmp_path, realm, deliver_kubernetes=[dict(
        client_id=CLIENT_ID, name="mlflow-oidc", namespace=namespace, preset="mlflow",
        labels={"app": "mlflow"}, annotations={"reloader.stakater.com/match": "true"})])
    env = ansible_env(keycloak, ANSIBLE_COLLECTIONS_PATH=collections_root() + os.pathsep + extra_collections,
                      K8S_AUTH_KUBECONFIG=kubeconfig())

    first = provision_and_deliver(env, inventory)
    assert first.rc == 0, first.output[-4000:]
    secret = current_secret(keycloak, realm)
    applied = core.read_namespaced_secret("mlflow-oidc", namespace)
    assert base64.b64decode(applied.data["OIDC_CLIENT_SECRET"]).decode() == secret
    assert applied.metadata.annotations["reloader.stakater.com/match"] == "true"
    assert applied.metadata.labels["app"] == "mlflow"
    assert secret not in first.output

    second = provision_and_deliver(env, inventory)
    assert second.rc == 0, second.output[-4000:]
    assert changed_count(second) == 0
    assert core.read_namespaced_secret("mlflow-oidc", namespace).metadata.resource_version == \
        applied.metadata.resource_version
    assert secret not in second.output
