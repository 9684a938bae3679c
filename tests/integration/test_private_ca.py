"""The collection against a Keycloak behind a private CA, the CA given only through KEYCLOAK_CA_PATH.

Keycloak serves https only, with a certificate of a CA made for the run (``keycloak_tls``), and again with a client
certificate required on every connection (``keycloak_mtls``, given through KEYCLOAK_CLIENT_CERT/KEYCLOAK_CLIENT_KEY).
The ansible runs get no system trust for that CA: SSL_CERT_FILE, SSL_CERT_DIR, REQUESTS_CA_BUNDLE and CURL_CA_BUNDLE
are removed from their environment, and the CA is in no system store. The Vault (OpenBao) and the Kubernetes API
server serve https with CAs of their own too, handed to the deliver role by its options.

One playbook run provisions, delivers to a file, an Ansible Vault file, HashiCorp Vault and a Kubernetes Secret, and
reads the secret with the lookup; self_register registers a host; a rotation runs with a consumer under token load.
"""
import base64
import json
import os
import socket
import ssl
import sys

import kubernetes
import pytest
import yaml

from tests.collection_path import collections_root
from tests.integration import oidc
from tests.integration.conftest import admin_client, new_realm
from tests.integration.runner import ansible_env, run_playbook
from tests.integration.test_rotate import RELOAD_PLAY, Consumer

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PROVISION = os.path.join(REPO, "playbooks", "provision.yml")
SELF_REGISTER = os.path.join(REPO, "playbooks", "self_register.yml")
# The variables through which Python, requests and curl would find a CA bundle other than the one given.
SYSTEM_TRUST_VARIABLES = ("SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")
SERVERS = ["keycloak_tls", "keycloak_mtls"]

LOOKUP_PLAY = """
- name: The secret, read at template time
  hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: Write what the lookup returns
      ansible.builtin.copy:
        content: "{{ lookup('keycloak_ops.clients.client_secret', client_id, realm=realm) }}"
        dest: "{{ dest }}"
        mode: "0600"
      no_log: true
"""


@pytest.fixture(params=SERVERS)
def server(request):
    """keycloak_tls (a client certificate asked for, not required) or keycloak_mtls (required)."""
    return request.getfixturevalue(request.param)


def private_ca_env(server, **extra):
    """An ansible run that knows the CA only from KEYCLOAK_CA_PATH (and the client certificate from
    KEYCLOAK_CLIENT_CERT/KEYCLOAK_CLIENT_KEY where Keycloak requires one)."""
    env = ansible_env(server, KEYCLOAK_CA_PATH=server.ca_path, **extra)
    if server.requests_cert:
        env.update(KEYCLOAK_CLIENT_CERT=server.client_cert, KEYCLOAK_CLIENT_KEY=server.client_key)
    for name in SYSTEM_TRUST_VARIABLES:
        env.pop(name, None)
    return env


def assert_ca_not_trusted_by_the_system(server):
    """The system's trust store (with or without the variables above) does not verify the server."""
    with open(server.ca_path) as handle:
        ca = handle.read().strip()
    for bundle in ("/etc/ssl/certs/ca-certificates.crt", os.environ.get("SSL_CERT_FILE") or ""):
        if bundle and os.path.exists(bundle):
            with open(bundle) as handle:
                assert ca not in handle.read(), "the test CA is in %s" % bundle
    host, port = server.url.split("//", 1)[1].split("/", 1)[0].rsplit(":", 1)
    context = ssl.create_default_context()
    with socket.create_connection((host, int(port)), timeout=10) as raw:
        with pytest.raises(ssl.SSLCertVerificationError):
            context.wrap_socket(raw, server_hostname=host).close()


def realm_for(server, prefix):
    return new_realm(server, prefix=prefix)


def kube_admin_token(kube_apiserver):
    with open(kube_apiserver.kubeconfig) as handle:
        return json.load(handle)["users"][0]["user"]["token"]


def test_provision_deliver_everywhere_lookup_and_self_register(
        server, hashi_vault, kube_apiserver, extra_collections, tmp_path):
    assert_ca_not_trusted_by_the_system(server)
    realm = realm_for(server, "pca")
    kube = kubernetes.client.CoreV1Api(kubernetes.config.new_client_from_config(config_file=kube_apiserver.kubeconfig))
    namespace = "pca-" + realm.rsplit("-", 1)[1]
    kube.create_namespace({"metadata": {"name": namespace}})
    try:
        vault_password = tmp_path / "vault-password"
        vault_password.write_text("correct horse battery staple\n")
        consumer_file = tmp_path / "app1" / "oidc.env"
        vault_file = tmp_path / "controller" / "credentials.vault.yml"
        vault_path = "pca/%s/app" % realm
        localhost = dict(
            ansible_connection="local", ansible_python_interpreter=sys.executable, provision_realm=realm,
            provision_clients=[dict(client_id="pca-app", preset="service")],
            deliver_files=[dict(client_id="pca-app", path=str(consumer_file), preset="mlflow")],
            deliver_ansible_vault=[dict(path=str(vault_file), vault_password_file=str(vault_password),
                                        client_ids=["pca-app"])],
            deliver_hashi_vault=[dict(client_id="pca-app", path=vault_path, preset="mlflow")],
            deliver_hashi_vault_ca_cert=hashi_vault.ca_path,
            deliver_kubernetes=[dict(client_id="pca-app", name="pca-app-oidc", namespace=namespace, preset="mlflow")],
            deliver_kubernetes_ca_cert=kube_apiserver.ca_path)
        inventory = tmp_path / "inventory.yml"
        inventory.write_text(yaml.safe_dump({"all": {"hosts": {"localhost": localhost}}}))
        # Vault and Kubernetes as AWX's credentials hand them over: address and token in the environment, the
        # CA through the role's options (no VAULT_CACERT, no kubeconfig).
        env = private_ca_env(
            server, ANSIBLE_COLLECTIONS_PATH=collections_root() + os.pathsep + extra_collections,
            VAULT_ADDR=hashi_vault.addr, VAULT_TOKEN=hashi_vault.token,
            K8S_AUTH_HOST=kube_apiserver.url, K8S_AUTH_API_KEY=kube_admin_token(kube_apiserver))
        for name in ("VAULT_CACERT", "KUBECONFIG", "K8S_AUTH_KUBECONFIG"):
            env.pop(name, None)

        run = run_playbook(PROVISION, env, inventory=str(inventory), verbosity=3,
                           extra_vars={"deliver_hosts": "localhost"})
        assert run.rc == 0, run.output[-4000:]
        oracle = admin_client(server, realm)
        secret = oracle.get_client_secrets(oracle.get_client_id("pca-app"))["value"]
        assert "OIDC_CLIENT_SECRET=%s" % secret in consumer_file.read_text()
        assert server.url + "/realms/%s/protocol/openid-connect/token" % realm in consumer_file.read_text()
        assert vault_file.read_text().startswith("$ANSIBLE_VAULT;")
        assert hashi_vault.read_kv2(vault_path)["data"]["OIDC_CLIENT_SECRET"] == secret
        stored = kube.read_namespaced_secret("pca-app-oidc", namespace).data
        assert base64.b64decode(stored["OIDC_CLIENT_SECRET"]).decode() == secret
        assert oidc.client_credentials(server, realm, "pca-app", secret)[0] == 200
        assert secret not in run.output and server.admin_password not in run.output

        again = run_playbook(PROVISION, env, inventory=str(inventory), extra_vars={"deliver_hosts": "localhost"})
        assert again.rc == 0 and "changed=0" in again.output, again.output[-3000:]

        playbook = tmp_path / "lookup.yml"
        playbook.write_text(LOOKUP_PLAY)
        looked_up = tmp_path / "looked-up"
        lookup = run_playbook(str(playbook), env, verbosity=3,
                              extra_vars=dict(client_id="pca-app", realm=realm, dest=str(looked_up)))
        assert lookup.rc == 0, lookup.output[-3000:]
        assert looked_up.read_text() == secret and secret not in lookup.output

        # A host registers itself with the controller's TLS settings (the role's defaults).
        registered = tmp_path / "node1" / "client.json"
        hosts = tmp_path / "hosts.ini"
        hosts.write_text("[self_register]\nnode1 ansible_connection=local ansible_python_interpreter=%s "
                         "self_register_credentials_file=%s\n" % (sys.executable, registered))
        joined = run_playbook(SELF_REGISTER, env, inventory=str(hosts), verbosity=3,
                              extra_vars=dict(self_register_realm=realm, self_register_client_prefix="pca-"))
        assert joined.rc == 0, joined.output[-4000:]
        credentials = json.loads(registered.read_text())
        assert credentials["client_id"] == "pca-node1"
        assert oidc.client_credentials(server, realm, "pca-node1", credentials["secret"])[0] == 200
        assert credentials["secret"] not in joined.output
    finally:
        kube.delete_namespace(namespace)
        admin_client(server).delete_realm(realm)


def test_without_the_ca_the_run_fails_naming_the_option(keycloak_tls, tmp_path):
    """The proof that nothing else trusts the CA: the same run without KEYCLOAK_CA_PATH fails, and says why."""
    env = private_ca_env(keycloak_tls)
    del env["KEYCLOAK_CA_PATH"]
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(yaml.safe_dump({"all": {"hosts": {"localhost": dict(
        ansible_connection="local", ansible_python_interpreter=sys.executable, provision_realm="master",
        provision_clients=[dict(client_id="never-created", preset="service")])}}}))
    run = run_playbook(PROVISION, env, inventory=str(inventory))
    assert run.rc != 0
    assert "TLS verification failed" in run.output and "KEYCLOAK_CA_PATH" in run.output, run.output[-3000:]


def test_rotation_under_token_load_fails_no_request(server, tmp_path):
    realm = realm_for(server, "pca-rot")
    try:
        oracle = admin_client(server, realm)
        oracle.create_client({"clientId": "pca-worker", "publicClient": False, "serviceAccountsEnabled": True,
                              "standardFlowEnabled": False})
        old = oracle.get_client_secrets(oracle.get_client_id("pca-worker"))["value"]
        home = tmp_path / "reread"
        home.mkdir()
        credentials = home / "oidc.env"
        credentials.write_text("OIDC_CLIENT_SECRET=%s\n" % old)
        host = dict(ansible_connection="local", ansible_python_interpreter=sys.executable,
                    deliver_files=[dict(client_id="pca-worker", path=str(credentials), preset="mlflow")])
        inventory = tmp_path / "inventory.yml"
        inventory.write_text(yaml.safe_dump({"all": {
            "hosts": {"localhost": dict(ansible_connection="local", ansible_python_interpreter=sys.executable)},
            "vars": dict(rotate_realm=realm, rotate_clients=["pca-worker"], rotate_grace_period="10m"),
            "children": {"keycloak_consumers": {"hosts": {"app1": host}}}}}))
        playbook = tmp_path / "rotate.yml"
        playbook.write_text(RELOAD_PLAY)
        consumer = Consumer(server, realm, "pca-worker", credentials, "reread")
        consumer.start()
        try:
            run = run_playbook(str(playbook), private_ca_env(server), inventory=str(inventory), verbosity=3)
        finally:
            consumer.stop()
        assert run.rc == 0, run.output[-4000:]
        new = oracle.get_client_secrets(oracle.get_client_id("pca-worker"))["value"]
        assert new != old and old not in run.output and new not in run.output
        assert consumer.failures == 0 and consumer.requests > 20, (consumer.requests, consumer.failures)
        assert oidc.client_credentials(server, realm, "pca-worker", old)[1]["error"] == "unauthorized_client"
    finally:
        admin_client(server).delete_realm(realm)
