"""Deliveries to HashiCorp Vault (KV v2) and to Kubernetes Secrets, against real servers.

Vault: the harness's dev server (OpenBao, tests/harness/vault_server.py) or VAULT_ADDR/VAULT_TOKEN. Kubernetes: the
harness's API server (etcd + kube-apiserver with RBAC, tests/harness/kube_server.py) or the cluster of KUBECONFIG.
Most tests run the deliver role alone with credentials given to it (no Keycloak needed); one per destination runs
playbooks/provision.yml end to end, and playbooks/rotate.yml proves that a rotation whose new secret does not reach
a Vault or a Kubernetes destination stops before retiring the previous secret. Every run is at -vvv and no secret
may appear in its output.
"""
import base64
import json
import os
import re
import sys
import uuid

import hvac
import kubernetes
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


def credentials_and_secret():
    """Credentials as provision hands them over, and the one secret in them."""
    given = credentials()
    return given, given[CLIENT_ID]["client_secret"]


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
    return hvac.Client(url=hashi_vault.addr, token=hashi_vault.token, verify=hashi_vault.ca_path or True)


@pytest.fixture
def vault_env(hashi_vault, extra_collections):
    def make(token=None):
        env = ansible_env(None, ANSIBLE_COLLECTIONS_PATH=collections_root() + os.pathsep + extra_collections,
                          VAULT_ADDR=hashi_vault.addr)
        env.pop("VAULT_TOKEN", None)
        if hashi_vault.ca_path:  # the harness's Vault serves https with a CA of its own
            env["VAULT_CACERT"] = hashi_vault.ca_path
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
    (first_credentials, first_secret), (rotated_credentials, rotated_secret) = credentials_and_secret(), credentials_and_secret()

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
# Kubernetes
# --------------------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def kube_core(kube_apiserver):
    return kubernetes.client.CoreV1Api(kubernetes.config.new_client_from_config(config_file=kube_apiserver.kubeconfig))


@pytest.fixture
def namespace(kube_core):
    name = unique("keycloak-ops")
    kube_core.create_namespace({"metadata": {"name": name}})
    yield name
    kube_core.delete_namespace(name)  # without a controller manager it stays Terminating: names are unique


@pytest.fixture
def kube_env(extra_collections):
    def make(kubeconfig):
        return ansible_env(None, ANSIBLE_COLLECTIONS_PATH=collections_root() + os.pathsep + extra_collections,
                           K8S_AUTH_KUBECONFIG=kubeconfig)
    return make


def secret_values(kube_core, name, namespace):
    secret = kube_core.read_namespaced_secret(name, namespace)
    return {key: base64.b64decode(value).decode() for key, value in secret.data.items()}, secret


def test_kubernetes_secret_created_unchanged_updated_and_check(kube_apiserver, kube_core, namespace, kube_env,
                                                               tmp_path):
    target = [dict(client_id=CLIENT_ID, name="mlflow-oidc", namespace=namespace, preset="mlflow",
                   labels={"app": "mlflow"}, annotations={"reloader.stakater.com/match": "true"})]
    env = kube_env(kube_apiserver.kubeconfig)
    (first_credentials, first_secret), (rotated_credentials, rotated_secret) = credentials_and_secret(), credentials_and_secret()

    created = deliver(tmp_path, env, deliver_credentials=first_credentials, deliver_kubernetes=target)
    assert created.rc == 0, created.output[-4000:]
    assert changed_count(created) == 1
    values, applied = secret_values(kube_core, "mlflow-oidc", namespace)
    assert set(values) == MLFLOW_KEYS and values["OIDC_CLIENT_SECRET"] == first_secret
    assert applied.type == "Opaque" and applied.metadata.labels == {"app": "mlflow"}
    assert applied.metadata.annotations["reloader.stakater.com/match"] == "true"

    unchanged = deliver(tmp_path, env, deliver_credentials=first_credentials, deliver_kubernetes=target)
    assert unchanged.rc == 0, unchanged.output[-4000:]
    assert changed_count(unchanged) == 0
    assert secret_values(kube_core, "mlflow-oidc", namespace)[1].metadata.resource_version == \
        applied.metadata.resource_version

    checked = deliver(tmp_path, env, check=True, deliver_credentials=rotated_credentials, deliver_kubernetes=target)
    assert checked.rc == 0, checked.output[-4000:]
    assert changed_count(checked) == 1, "check mode reports the change it would make"
    values, still = secret_values(kube_core, "mlflow-oidc", namespace)
    assert values["OIDC_CLIENT_SECRET"] == first_secret
    assert still.metadata.resource_version == applied.metadata.resource_version

    updated = deliver(tmp_path, env, deliver_credentials=rotated_credentials, deliver_kubernetes=target)
    assert updated.rc == 0, updated.output[-4000:]
    assert changed_count(updated) == 1
    assert secret_values(kube_core, "mlflow-oidc", namespace)[0]["OIDC_CLIENT_SECRET"] == rotated_secret
    assert_no_leak((created, unchanged, checked, updated), first_secret, rotated_secret,
                   base64.b64encode(first_secret.encode()).decode(), base64.b64encode(rotated_secret.encode()).decode())


def test_kubernetes_namespace_that_does_not_exist(kube_apiserver, kube_core, kube_env, tmp_path):
    missing = unique("no-such-namespace")
    creds = credentials()
    run = deliver(tmp_path, kube_env(kube_apiserver.kubeconfig), deliver_credentials=creds,
                  deliver_kubernetes=[dict(client_id=CLIENT_ID, name="mlflow-oidc", namespace=missing)])
    assert run.rc != 0
    assert error_line(run) == (
        'Kubernetes: cannot apply Secret %s/mlflow-oidc (NotFound: namespaces "%s" not found). '
        "The role creates no namespaces: create it first." % (missing, missing)), run.output[-3000:]
    assert missing not in [ns.metadata.name for ns in kube_core.list_namespace().items]
    assert_no_leak((run,), creds[CLIENT_ID]["client_secret"])


def service_account_limited_to(kube_apiserver, namespace, tmp_path):
    """A kubeconfig of a service account whose Role allows Secrets in this namespace only (the Job pattern),
    with a token from the TokenRequest API, as a projected token in the Job's pod would be."""
    api = kubernetes.config.new_client_from_config(config_file=kube_apiserver.kubeconfig)
    core, rbac = kubernetes.client.CoreV1Api(api), kubernetes.client.RbacAuthorizationV1Api(api)
    core.create_namespaced_service_account(namespace, {"metadata": {"name": "keycloak-deliver"}})
    rbac.create_namespaced_role(namespace, {
        "metadata": {"name": "keycloak-deliver"},
        "rules": [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "list", "create", "patch", "update"]}]})
    rbac.create_namespaced_role_binding(namespace, {
        "metadata": {"name": "keycloak-deliver"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "keycloak-deliver"},
        "subjects": [{"kind": "ServiceAccount", "name": "keycloak-deliver", "namespace": namespace}]})
    token = core.create_namespaced_service_account_token(
        "keycloak-deliver", namespace, {"spec": {"expirationSeconds": 600}}).status.token
    return kube_apiserver.write_kubeconfig(tmp_path / "job.kubeconfig", token, namespace), token


def test_kubernetes_service_account_allowed_in_its_namespace_only(kube_apiserver, kube_core, kube_env, tmp_path):
    if not kube_apiserver.started_by_us:
        pytest.skip("needs the harness's API server to make a service account with its own token")
    allowed, elsewhere = unique("job-ns"), unique("other-ns")
    for name in (allowed, elsewhere):
        kube_core.create_namespace({"metadata": {"name": name}})
    kubeconfig, token = service_account_limited_to(kube_apiserver, allowed, tmp_path)
    env = kube_env(kubeconfig)
    creds = credentials()

    delivered = deliver(tmp_path, env, deliver_credentials=creds,
                        deliver_kubernetes=[dict(client_id=CLIENT_ID, name="app-oidc", namespace=allowed)])
    assert delivered.rc == 0, delivered.output[-4000:]
    assert secret_values(kube_core, "app-oidc", allowed)[0]["OIDC_CLIENT_SECRET"] == creds[CLIENT_ID]["client_secret"]

    denied = deliver(tmp_path, env, deliver_credentials=creds,
                     deliver_kubernetes=[dict(client_id=CLIENT_ID, name="app-oidc", namespace=elsewhere)])
    assert denied.rc != 0
    assert error_line(denied) == (
        'Kubernetes: cannot apply Secret %s/app-oidc (Forbidden: secrets "app-oidc" is forbidden: User '
        '"system:serviceaccount:%s:keycloak-deliver" cannot get resource "secrets" in API group "" in the namespace '
        '"%s"). The credentials need get, create and patch on secrets in that namespace (RBAC Role and RoleBinding).'
        % (elsewhere, allowed, elsewhere)), denied.output[-3000:]
    assert kube_core.list_namespaced_secret(elsewhere).items == []
    assert_no_leak((delivered, denied), creds[CLIENT_ID]["client_secret"], token)
    for name in (allowed, elsewhere):
        kube_core.delete_namespace(name)


def test_provision_to_kubernetes_applied_once(keycloak, realm, kube_apiserver, kube_core, namespace, kube_env,
                                              tmp_path):
    inventory = write_inventory(tmp_path, realm, deliver_kubernetes=[dict(
        client_id=CLIENT_ID, name="mlflow-oidc", namespace=namespace, preset="mlflow")])
    env = dict(kube_env(kube_apiserver.kubeconfig), **keycloak_variables(keycloak))

    first = provision_and_deliver(env, inventory)
    assert first.rc == 0, first.output[-4000:]
    secret = current_secret(keycloak, realm)
    values, applied = secret_values(kube_core, "mlflow-oidc", namespace)
    assert values["OIDC_CLIENT_SECRET"] == secret

    second = provision_and_deliver(env, inventory)
    assert second.rc == 0, second.output[-4000:]
    assert changed_count(second) == 0
    assert secret_values(kube_core, "mlflow-oidc", namespace)[1].metadata.resource_version == \
        applied.metadata.resource_version
    assert_no_leak((first, second), secret)


# --------------------------------------------------------------------------------------------------------------
# Rotation: redelivered to Vault and Kubernetes, and no retirement while one of them lacks the new secret
# --------------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("broken", [None, "hashi_vault", "kubernetes"])
def test_rotation_to_vault_and_kubernetes_retires_only_when_both_hold_the_new_secret(
        broken, keycloak, realm, oracle, hashi_vault, vault_admin, vault_env, kube_apiserver, kube_core, namespace,
        kube_env, tmp_path):
    client_id = unique("worker")
    oracle.create_client({"clientId": client_id, "publicClient": False, "serviceAccountsEnabled": True,
                          "standardFlowEnabled": False})
    old = oracle.get_client_secrets(oracle.get_client_id(client_id))["value"]
    path = "apps/%s/oidc" % client_id
    vault_token = hashi_vault.token
    if broken == "hashi_vault":  # a token that may read the path but not write it
        vault_token = vault_admin.auth.token.create(policies=[path_policy(vault_admin, path, ["read"])],
                                                    ttl="10m")["auth"]["client_token"]
    kube_namespace = unique("no-such-namespace") if broken == "kubernetes" else namespace
    app = dict(ansible_connection="local", ansible_python_interpreter=sys.executable,
               deliver_hashi_vault=[dict(client_id=client_id, path=path, preset="mlflow")],
               deliver_kubernetes=[dict(client_id=client_id, name="worker-oidc", namespace=kube_namespace,
                                        preset="mlflow")])
    inventory = tmp_path / "rotate.yml"
    inventory.write_text(yaml.safe_dump({"all": {
        "vars": dict(rotate_realm=realm, rotate_clients=[client_id], rotate_grace_period="10m"),
        "children": {"keycloak_consumers": {"hosts": {"app1": app}}}}}))
    env = dict(vault_env(vault_token), K8S_AUTH_KUBECONFIG=kube_apiserver.kubeconfig,
               **keycloak_variables(keycloak))

    run = run_playbook(ROTATE, env, verbosity=3, inventory=str(inventory))
    new = oracle.get_client_secrets(oracle.get_client_id(client_id))["value"]
    assert new != old
    assert_no_leak((run,), old, new)
    if broken != "hashi_vault":
        assert kv2_data(vault_admin, path)["OIDC_CLIENT_SECRET"] == new
    if broken is None:  # a failed Vault delivery stops the role before Kubernetes
        assert secret_values(kube_core, "worker-oidc", namespace)[0]["OIDC_CLIENT_SECRET"] == new
    assert oidc.client_credentials(keycloak, realm, client_id, new)[0] == 200
    if broken is None:
        assert run.rc == 0, run.output[-4000:]
        assert oidc.client_credentials(keycloak, realm, client_id, old)[1]["error"] == "unauthorized_client", "retired"
    else:
        assert run.rc != 0
        assert "The new secret did not reach app1" in run.output and "NOT retired" in run.output, run.output[-3000:]
        assert oidc.client_credentials(keycloak, realm, client_id, old)[0] == 200, "the old secret stays valid"
