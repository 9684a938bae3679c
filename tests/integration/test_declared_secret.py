"""A secret given in the declaration (a secret migrated into Keycloak) is the secret that is delivered.

The given secret is a no_log value, and Ansible scrubs no_log values from a module's whole result: unless the module
lets its returned secret go, the provision role hands VALUE_SPECIFIED_IN_NO_LOG_PARAMETER to delivery, and every
destination gets that instead of the secret. Each test runs playbooks/provision.yml (provision, then deliver) at -vvv
with a declared secret, reads what each destination holds, and checks the output shows the secret nowhere.
"""
import base64
import json
import os
import re
import subprocess
import sys
import uuid

import yaml

from ansible_collections.keycloak_ops.clients.plugins.plugin_utils._delivery_presets import CONSUMER_PRESETS
from tests.collection_path import collections_root
from tests.integration import oidc
from tests.integration.conftest import admin_client
from tests.integration.runner import ansible_env, run_module, run_playbook

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PROVISION = os.path.join(REPO, "playbooks", "provision.yml")
SCRUBBED = "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"
FORMATS = ("env", "json", "yaml", "properties")


def declared_secret():
    return "migrated-" + uuid.uuid4().hex


def provision(tmp_path, env, realm, client_id, secret, **deliveries):
    """playbooks/provision.yml at -vvv: localhost provisions one service client with the given secret and delivers it."""
    localhost = dict(ansible_connection="local", ansible_python_interpreter=sys.executable, provision_realm=realm,
                     provision_clients=[dict(client_id=client_id, preset="service", secret=secret)], **deliveries)
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(yaml.safe_dump({"all": {"hosts": {"localhost": localhost}}}))
    inventory.chmod(0o600)
    return run_playbook(PROVISION, env, verbosity=3, inventory=str(inventory), extra_vars={"deliver_hosts": "localhost"})


def assert_declared_secret_in_keycloak(server, realm, client_id, secret):
    oracle = admin_client(server, realm)
    assert oracle.get_client_secrets(oracle.get_client_id(client_id))["value"] == secret
    status, body = oidc.client_credentials(server, realm, client_id, secret)
    assert status == 200, body


def assert_unseen(run, secret):
    assert run.rc == 0, run.output[-4000:]
    assert secret not in run.output and SCRUBBED not in run.output


def read_pairs(path, file_format):
    text = path.read_text()
    if file_format in ("json", "yaml"):
        return yaml.safe_load(text)
    return dict(line.split("=", 1) for line in text.splitlines() if line)


def test_module_returns_the_declared_secret_and_shows_it_only_there(realm, env):
    secret, item_secret = declared_secret(), declared_secret()
    single = run_module("confidential_client", dict(realm=realm, client_id="declared-single", preset="service",
                                                    secret=secret, return_secret=True), env, diff=True, verbosity=3)
    assert single.rc == 0, single.output[-3000:]
    assert single.result["secret"] == secret and single.result["clients"][0]["secret"] == secret
    assert single.output.count(secret) == 2, "the two places the result returns it, not the invocation"
    assert single.result.get("invocation", {}).get("module_args", {}).get("secret") in (None, SCRUBBED)

    many = run_module("confidential_client", dict(realm=realm, return_secret=True, clients=[
        dict(client_id="declared-item", preset="service", secret=item_secret),
        dict(client_id="generated-item", preset="service"),
    ]), env, verbosity=3)
    assert many.rc == 0, many.output[-3000:]
    assert many.result["clients"][0]["secret"] == item_secret and len(many.result["clients"][1]["secret"]) >= 32
    assert many.output.count(item_secret) == 1
    assert item_secret not in json.dumps(many.result.get("invocation"))

    # Without return_secret nothing is let go: the given secret stays scrubbed wherever it would show.
    quiet = run_module("confidential_client", dict(realm=realm, client_id="declared-single", preset="service",
                                                   secret=secret), env, verbosity=3)
    assert quiet.rc == 0 and quiet.result["changed"] is False and secret not in quiet.output, quiet.output[-3000:]


def test_files_in_every_format_and_preset_and_ansible_vault_hold_the_declared_secret(keycloak, realm, tmp_path):
    client_id, secret = "migrated-files", declared_secret()
    files = [dict(client_id=client_id, path=str(tmp_path / "out" / ("%s.%s" % (preset, file_format))),
                  format=file_format, preset=preset)
             for file_format in FORMATS for preset in sorted(CONSUMER_PRESETS)]
    files.append(dict(client_id=client_id, path=str(tmp_path / "out" / "custom.properties"), format="properties",
                      key_names={"client_secret": "app.client-secret", "token_url": "", "issuer_url": ""}))
    (tmp_path / "vault-pass").write_text("declared-secret-vault-password\n")
    vault_file = tmp_path / "credentials.vault.yml"
    manifest = tmp_path / "secret.yml"
    deliveries = dict(
        deliver_files=files,
        deliver_ansible_vault=[dict(path=str(vault_file), vault_password_file=str(tmp_path / "vault-pass"))],
        deliver_kubernetes=[dict(client_id=client_id, name="migrated-oidc", namespace="apps", preset="mlflow",
                                 manifest_path=str(manifest))],
    )
    env = ansible_env(keycloak)
    first = provision(tmp_path, env, realm, client_id, secret, **deliveries)
    assert_unseen(first, secret)
    assert_declared_secret_in_keycloak(keycloak, realm, client_id, secret)

    for item in files:
        pairs = read_pairs(tmp_path / "out" / os.path.basename(item["path"]), item["format"])
        key = (item.get("key_names") or {}).get("client_secret") or CONSUMER_PRESETS[item["preset"]]["client_secret"]
        assert pairs[key] == secret, item["path"]

    decrypted = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-vault"), "view",
                                "--vault-password-file", str(tmp_path / "vault-pass"), str(vault_file)],
                               capture_output=True, text=True, check=True, env=env).stdout
    assert yaml.safe_load(decrypted)["keycloak_client_credentials"][client_id]["client_secret"] == secret
    data = yaml.safe_load(manifest.read_text())["data"]
    assert base64.b64decode(data["OIDC_CLIENT_SECRET"]).decode() == secret

    again = provision(tmp_path, env, realm, client_id, secret, **deliveries)
    assert_unseen(again, secret)
    assert re.search(r"localhost\s+: ok=\d+\s+changed=0 ", again.output), again.output[-3000:]


def test_hashi_vault_holds_the_declared_secret(keycloak, realm, hashi_vault, extra_collections, tmp_path):
    client_id, secret = "migrated-vault", declared_secret()
    path = "keycloak/%s/%s" % (realm, client_id)
    env = ansible_env(keycloak, ANSIBLE_COLLECTIONS_PATH=collections_root() + os.pathsep + extra_collections,
                      VAULT_ADDR=hashi_vault.addr, VAULT_TOKEN=hashi_vault.token)
    if hashi_vault.ca_path:  # the harness's OpenBao serves https with a CA of its own
        env["VAULT_CACERT"] = hashi_vault.ca_path
    run = provision(tmp_path, env, realm, client_id, secret,
                    deliver_hashi_vault=[dict(client_id=client_id, path=path, preset="generic")])
    assert run.rc == 0, run.output[-3000:]
    assert_unseen(run, secret)
    assert hashi_vault.read_kv2(path)["data"]["OIDC_CLIENT_SECRET"] == secret


def test_kubernetes_secret_holds_the_declared_secret(keycloak, realm, kube_apiserver, extra_collections, tmp_path):
    import kubernetes  # pylint: disable=import-outside-toplevel  # only where a cluster is there

    client_id, secret = "migrated-kube", declared_secret()
    core = kubernetes.client.CoreV1Api(kubernetes.config.new_client_from_config(config_file=kube_apiserver.kubeconfig))
    namespace = "declared-%s" % uuid.uuid4().hex[:8]
    core.create_namespace({"metadata": {"name": namespace}})
    try:
        env = ansible_env(keycloak, ANSIBLE_COLLECTIONS_PATH=collections_root() + os.pathsep + extra_collections,
                          K8S_AUTH_KUBECONFIG=kube_apiserver.kubeconfig)
        run = provision(tmp_path, env, realm, client_id, secret, deliver_kubernetes=[dict(
            client_id=client_id, name="migrated-oidc", namespace=namespace, preset="otel_collector")])
        assert_unseen(run, secret)
        data = core.read_namespaced_secret("migrated-oidc", namespace).data
        assert base64.b64decode(data["MLFLOW_CLIENT_SECRET"]).decode() == secret
    finally:
        core.delete_namespace(namespace)
