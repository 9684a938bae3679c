"""Deliveries to HashiCorp Vault (KV v2) and to Kubernetes Secrets, against real servers.

Vault: the harness's dev server (OpenBao, tests/harness/vault_server.py) or VAULT_ADDR/VAULT_TOKEN. Most tests run
the deliver role alone with credentials given to it (no Keycloak needed); one runs playbooks/provision.yml end to
end, and playbooks/rotate.yml proves that a rotation whose new secret does not reach the Vault stops before retiring
the previous secret. Every run is at -vvv and no secret may appear in its output. Kubernetes: the cluster of
KUBECONFIG (or ~/.kube/config), skipped without one; the manifest-file path of the Kubernetes delivery needs no
cluster and is tested in test_roles.py.
"""
import base64
import json
import os
import re
import sys
import uuid

import hvac
import pytest
import yaml

from tests.collection_path import collections_root
from tests.integration import oidc
from tests.integration.conftest import admin_client
from tests.integration.runner import ansible_env, run_playbook

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PROVISION = os.path.join(REPO, "playbooks", "provision.yml")
ROTATE = os.path.join(REPO, "playbooks", "rotate.yml")
CLIENT_ID = "mlflow-tracking"
MLFLOW_KEYS = {"OIDC_CLIENT_ID", "OIDC_CLIENT_SECRET", "OIDC_TOKEN_URL"}


def credentials(secret=None):
    secret = secret or "s3cr3t-" + uuid.uuid4().hex
    return {CLIENT_ID: dict(client_id=CLIENT_ID, client_secret=secret,
                            token_url="http://127.0.0.1:1/realms/r/protocol/openid-connect/token",
                            issuer_url="http://127.0.0.1:1/realms/r")}


def unique(prefix):
    return "%s-%s" % (prefix, uuid.uuid4().hex[:8])


def changed_count(run, host="localhost"):
    counts = re.findall(r"%s\s+: ok=\d+\s+changed=(\d+)" % host, run.output)
    assert counts, run.output[-3000:]
    return int(counts[-1])


def error_line(run):
    """The one line a failed task shows: its msg."""
    messages = re.findall(r'"msg": ("(?:[^"\\]|\\.)*")', run.output)
    assert messages, run.output[-3000:]
    return json.loads(messages[-1])


def deliver(tmp_path, env, check=False, **host_vars):
    """Run the deliver role on localhost (the controller) with these variables, at -vvv."""
    localhost = dict(ansible_connection="local", ansible_python_interpreter=sys.executable, **host_vars)
    inventory = tmp_path / ("inventory-%s.yml" % uuid.uuid4().hex[:6])
    inventory.write_text(yaml.safe_dump({"all": {"hosts": {"localhost": localhost}}}))
    inventory.chmod(0o600)
    playbook = tmp_path / "deliver.yml"
    playbook.write_text(yaml.safe_dump([{"name": "Deliver", "hosts": "localhost", "gather_facts": False,
                                         "roles": [{"role": "keycloak_ops.clients.deliver"}]}]))
    return run_playbook(str(playbook), env, check=check, verbosity=3, inventory=str(inventory))


def assert_no_leak(runs, *secrets):
    for run in runs:
        for secret in secrets:
            assert secret not in run.output


# --------------------------------------------------------------------------------------------------------------
# HashiCorp Vault
# --------------------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def vault_admin(hashi_vault):
    return hvac.Client(url=hashi_vault.addr, token=hashi_vault.token)


@pytest.fixture
def vault_env(hashi_vault, extra_collections):
    def make(token=None):
        env = ansible_env(None, ANSIBLE_COLLECTIONS_PATH=collections_root() + os.pathsep + extra_collections,
                          VAULT_ADDR=hashi_vault.addr)
        env.pop("VAULT_TOKEN", None)
        if token:
            env["VAULT_TOKEN"] = token
        return env
    return make


def kv2_version(vault_admin, path):
    """metadata.current_version of a KV v2 secret, 0 when it does not exist."""
    try:
        return vault_admin.secrets.kv.v2.read_secret_metadata(path=path, mount_point="secret")["data"]["current_version"]
    except hvac.exceptions.InvalidPath:
        return 0


def kv2_data(vault_admin, path):
    kv2 = vault_admin.secrets.kv.v2
    return kv2.read_secret_version(path=path, mount_point="secret", raise_on_deleted_version=True)["data"]["data"]


def path_policy(vault_admin, path, capabilities):
    name = unique("deliver")
    vault_admin.sys.create_or_update_policy(name, 'path "secret/data/%s" { capabilities = %s }'
                                            % (path, str(list(capabilities)).replace("'", '"')))
    return name


def test_hashi_vault_create_unchanged_update_and_check(hashi_vault, vault_admin, vault_env, tmp_path):
    path = "apps/%s/oidc" % unique("mlflow")  # nothing exists under apps/<name>/ yet
    target = [dict(client_id=CLIENT_ID, path=path, preset="mlflow")]
    env = vault_env(hashi_vault.token)
    first_credentials, rotated_credentials = credentials(), credentials()
    first_secret = first_credentials[CLIENT_ID]["client_secret"]
    rotated_secret = rotated_credentials[CLIENT_ID]["client_secret"]

    created = deliver(tmp_path, env, deliver_credentials=first_credentials, deliver_hashi_vault=target)
    assert created.rc == 0, created.output[-4000:]
    assert changed_count(created) == 1
    stored = kv2_data(vault_admin, path)
    assert set(stored) == MLFLOW_KEYS and stored["OIDC_CLIENT_SECRET"] == first_secret
    assert kv2_version(vault_admin, path) == 1

    unchanged = deliver(tmp_path, env, deliver_credentials=first_credentials, deliver_hashi_vault=target)
    assert unchanged.rc == 0, unchanged.output[-4000:]
    assert changed_count(unchanged) == 0
    assert kv2_version(vault_admin, path) == 1, "no new version when nothing changed"

    checked = deliver(tmp_path, env, check=True, deliver_credentials=rotated_credentials, deliver_hashi_vault=target)
    assert checked.rc == 0, checked.output[-4000:]
    assert changed_count(checked) == 1, "check mode reports the write it would make"
    assert kv2_version(vault_admin, path) == 1 and kv2_data(vault_admin, path)["OIDC_CLIENT_SECRET"] == first_secret

    updated = deliver(tmp_path, env, deliver_credentials=rotated_credentials, deliver_hashi_vault=target)
    assert updated.rc == 0, updated.output[-4000:]
    assert changed_count(updated) == 1
    assert kv2_data(vault_admin, path)["OIDC_CLIENT_SECRET"] == rotated_secret
    assert kv2_version(vault_admin, path) == 2
    assert_no_leak((created, unchanged, checked, updated), first_secret, rotated_secret, hashi_vault.token)


def test_hashi_vault_token_without_write_rights_fails_in_one_line(hashi_vault, vault_admin, vault_env, tmp_path):
    path = "apps/%s/oidc" % unique("readonly")
    read_only = vault_admin.auth.token.create(policies=[path_policy(vault_admin, path, ["read"])],
                                              ttl="10m")["auth"]["client_token"]
    no_rights = vault_admin.auth.token.create(policies=["default"], ttl="10m")["auth"]["client_token"]
    target = [dict(client_id=CLIENT_ID, path=path, preset="mlflow")]
    creds = credentials()

    denied_write = deliver(tmp_path, vault_env(read_only), deliver_credentials=creds, deliver_hashi_vault=target)
    assert denied_write.rc != 0
    assert error_line(denied_write) == (
        "HashiCorp Vault: cannot write secret/%s (Permission denied writing to '%s'). The token (or AppRole) needs "
        "create and update on <mount>/data/<path>." % (path, path)), denied_write.output[-3000:]

    denied_read = deliver(tmp_path, vault_env(no_rights), deliver_credentials=creds, deliver_hashi_vault=target)
    assert denied_read.rc != 0
    assert error_line(denied_read).startswith(
        "HashiCorp Vault: cannot read secret/%s (Forbidden: Permission Denied to path ['%s'].)" % (path, path))
    assert "nothing was written" in error_line(denied_read)
    assert kv2_version(vault_admin, path) == 0, "nothing written"
    assert_no_leak((denied_write, denied_read), creds[CLIENT_ID]["client_secret"], read_only, no_rights)


def enable_approle(vault_admin):
    if "approle/" not in vault_admin.sys.list_auth_methods()["data"]:
        vault_admin.sys.enable_auth_method("approle")


def test_hashi_vault_approle_login_limited_to_its_path(hashi_vault, vault_admin, vault_env, tmp_path):
    """As in production: an AppRole whose policy allows the delivered path only; no token in the environment."""
    path = "apps/%s/oidc" % unique("approle")
    other = "apps/%s/oidc" % unique("elsewhere")
    enable_approle(vault_admin)
    role = unique("deliver")
    vault_admin.auth.approle.create_or_update_approle(
        role, token_policies=[path_policy(vault_admin, path, ["create", "read", "update"])], token_ttl="10m")
    role_id = vault_admin.auth.approle.read_role_id(role)["data"]["role_id"]
    secret_id = vault_admin.auth.approle.generate_secret_id(role)["data"]["secret_id"]
    login = dict(deliver_hashi_vault_auth_method="approle", deliver_hashi_vault_role_id=role_id,
                 deliver_hashi_vault_secret_id=secret_id)
    creds = credentials()

    delivered = deliver(tmp_path, vault_env(), deliver_credentials=creds, **login,
                        deliver_hashi_vault=[dict(client_id=CLIENT_ID, path=path, preset="mlflow")])
    assert delivered.rc == 0, delivered.output[-4000:]
    assert kv2_data(vault_admin, path)["OIDC_CLIENT_SECRET"] == creds[CLIENT_ID]["client_secret"]

    again = deliver(tmp_path, vault_env(), deliver_credentials=creds, **login,
                    deliver_hashi_vault=[dict(client_id=CLIENT_ID, path=path, preset="mlflow")])
    assert again.rc == 0 and changed_count(again) == 0, again.output[-4000:]
    assert kv2_version(vault_admin, path) == 1

    denied = deliver(tmp_path, vault_env(), deliver_credentials=creds, **login,
                     deliver_hashi_vault=[dict(client_id=CLIENT_ID, path=other, preset="mlflow")])
    assert denied.rc != 0
    assert error_line(denied).startswith("HashiCorp Vault: cannot read secret/%s (Forbidden" % other)
    assert kv2_version(vault_admin, other) == 0
    assert_no_leak((delivered, again, denied), creds[CLIENT_ID]["client_secret"], secret_id)


def write_inventory(tmp_path, realm, **deliveries):
    """localhost provisions one service client and, as the only consumer, delivers it where it is told."""
    localhost = dict(ansible_connection="local", ansible_python_interpreter=sys.executable, provision_realm=realm,
                     provision_clients=[dict(client_id=CLIENT_ID, preset="service")], **deliveries)
    path = tmp_path / "inventory.yml"
    path.write_text(yaml.safe_dump({"all": {"hosts": {"localhost": localhost}}}))
    return str(path)


def provision_and_deliver(env, inventory):
    return run_playbook(PROVISION, env, verbosity=3, inventory=inventory, extra_vars={"deliver_hosts": "localhost"})


def keycloak_variables(server):
    """The KEYCLOAK_* admin credentials of an ansible run, to add to another environment."""
    return {name: value for name, value in ansible_env(server).items() if name.startswith("KEYCLOAK_")}


def current_secret(server, realm):
    oracle = admin_client(server, realm)
    return oracle.get_client_secrets(oracle.get_client_id(CLIENT_ID))["value"]


def test_provision_to_hashi_vault_written_once_and_repaired(keycloak, realm, hashi_vault, vault_admin, vault_env,
                                                            tmp_path):
    path = "keycloak/%s/%s" % (realm, CLIENT_ID)
    inventory = write_inventory(tmp_path, realm, deliver_hashi_vault=[dict(client_id=CLIENT_ID, path=path,
                                                                           preset="mlflow")])
    env = dict(vault_env(hashi_vault.token), **keycloak_variables(keycloak))

    first = provision_and_deliver(env, inventory)
    assert first.rc == 0, first.output[-4000:]
    secret = current_secret(keycloak, realm)
    stored = kv2_data(vault_admin, path)
    assert stored["OIDC_CLIENT_SECRET"] == secret and stored["OIDC_CLIENT_ID"] == CLIENT_ID
    assert stored["OIDC_TOKEN_URL"].endswith("/realms/%s/protocol/openid-connect/token" % realm)
    assert kv2_version(vault_admin, path) == 1

    second = provision_and_deliver(env, inventory)
    assert second.rc == 0, second.output[-4000:]
    assert changed_count(second) == 0
    assert kv2_version(vault_admin, path) == 1, "no new version when nothing changed"

    # Someone edited the secret in Vault: the next run puts the credentials back, as a new version.
    hashi_vault.write_kv2(path, dict(stored, OIDC_CLIENT_SECRET="edited-by-hand"))
    third = provision_and_deliver(env, inventory)
    assert third.rc == 0, third.output[-4000:]
    assert changed_count(third) == 1
    assert kv2_data(vault_admin, path)["OIDC_CLIENT_SECRET"] == secret and kv2_version(vault_admin, path) == 3
    assert_no_leak((first, second, third), secret)


# --------------------------------------------------------------------------------------------------------------
# Kubernetes: the cluster of KUBECONFIG, when there is one
# --------------------------------------------------------------------------------------------------------------

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


def test_kubernetes_secret_applied_once(kubernetes_namespace, keycloak, realm, extra_collections, tmp_path):
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


# --------------------------------------------------------------------------------------------------------------
# Rotation: redelivered to Vault, and no retirement while it lacks the new secret
# --------------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("broken", [None, "hashi_vault"])
def test_rotation_to_vault_retires_only_when_it_holds_the_new_secret(
        broken, keycloak, realm, oracle, hashi_vault, vault_admin, vault_env, tmp_path):
    client_id = unique("worker")
    oracle.create_client({"clientId": client_id, "publicClient": False, "serviceAccountsEnabled": True,
                          "standardFlowEnabled": False})
    old = oracle.get_client_secrets(oracle.get_client_id(client_id))["value"]
    path = "apps/%s/oidc" % client_id
    vault_token = hashi_vault.token
    if broken == "hashi_vault":  # a token that may read the path but not write it
        vault_token = vault_admin.auth.token.create(policies=[path_policy(vault_admin, path, ["read"])],
                                                    ttl="10m")["auth"]["client_token"]
    app = dict(ansible_connection="local", ansible_python_interpreter=sys.executable,
               deliver_hashi_vault=[dict(client_id=client_id, path=path, preset="mlflow")])
    inventory = tmp_path / "rotate.yml"
    inventory.write_text(yaml.safe_dump({"all": {
        "vars": dict(rotate_realm=realm, rotate_clients=[client_id], rotate_grace_period="10m"),
        "children": {"keycloak_consumers": {"hosts": {"app1": app}}}}}))
    env = dict(vault_env(vault_token), **keycloak_variables(keycloak))

    run = run_playbook(ROTATE, env, verbosity=3, inventory=str(inventory))
    new = oracle.get_client_secrets(oracle.get_client_id(client_id))["value"]
    assert new != old
    assert_no_leak((run,), old, new)
    if broken != "hashi_vault":
        assert kv2_data(vault_admin, path)["OIDC_CLIENT_SECRET"] == new
    assert oidc.client_credentials(keycloak, realm, client_id, new)[0] == 200
    if broken is None:
        assert run.rc == 0, run.output[-4000:]
        assert oidc.client_credentials(keycloak, realm, client_id, old)[1]["error"] == "unauthorized_client", "retired"
    else:
        assert run.rc != 0
        assert "The new secret did not reach app1" in run.output and "NOT retired" in run.output, run.output[-3000:]
        assert oidc.client_credentials(keycloak, realm, client_id, old)[0] == 200, "the old secret stays valid"
