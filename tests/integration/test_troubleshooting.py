"""docs/troubleshooting.md, entry by entry: each error is provoked against the real Keycloak (and, for the
Kubernetes entry, the harness's API server) and the text the page shows must appear as written.

The expected texts are read from the page itself (its ```text blocks, `<...>` standing for a varying part), so
the page and the test cannot drift apart. Each entry carries a `<!-- check: name -->` marker; every marker has a
test here and every test a marker.
"""
import json
import os
import re
import time
import uuid

import kubernetes
import pytest
import requests

from tests.collection_path import REPO
from tests.integration import oidc
from tests.integration.conftest import limited_user
from tests.integration.runner import ansible_env, run_module
# The Kubernetes fixtures and helpers of the delivery tests: the same API server, namespaces and deliver runs.
from tests.integration.test_external_deliveries import (  # noqa: F401 pylint: disable=unused-import
    CLIENT_ID, credentials, deliver, error_line, kube_core, kube_env, namespace)

PAGE = os.path.join(REPO, "docs", "troubleshooting.md")
PLACEHOLDER = re.compile(r"<[^<>\s]+(?: [^<>\s]+)*>")


def page_entries():
    """{check name: [the text of each ```text block of its entry]}."""
    entries, current = {}, None
    text = open(PAGE, encoding="utf-8").read()
    for part in re.split(r"^## ", text, flags=re.M)[1:]:
        marker = re.search(r"<!-- check: ([\w-]+) -->", part)
        assert marker, "troubleshooting entry without a check marker: " + part.splitlines()[0]
        current = marker.group(1)
        entries[current] = re.findall(r"^```text\n(.*?)\n```", part, flags=re.M | re.S)
        assert entries[current], "entry %s shows no message" % current
    return entries


ENTRIES = page_entries()


def pattern(block):
    """The regular expression of a documented text: literal, `<...>` any text, whitespace as any whitespace."""
    pieces, last = [], 0
    for found in PLACEHOLDER.finditer(block):
        pieces.append(re.escape(block[last:found.start()]))
        pieces.append(".+?")
        last = found.end()
    pieces.append(re.escape(block[last:]))
    return re.compile(r"\s+".join("".join(pieces).replace("\\ ", " ").split(" ")), re.S)


def assert_shows(check, index, seen):
    """The entry's index-th documented text appears in what was seen."""
    expected = ENTRIES[check][index]
    assert pattern(expected).search(seen), "docs/troubleshooting.md (%s) shows:\n%s\nbut the error was:\n%s" % (
        check, expected, seen[-3000:])


def test_every_entry_has_a_test():
    tests = {name[len("test_entry_"):].replace("_", "-") for name in globals() if name.startswith("test_entry_")}
    assert set(ENTRIES) == tests


def unique(prefix):
    return "%s-%s" % (prefix, uuid.uuid4().hex[:8])


def raw_token_request(server, realm, data, auth=None):
    response = requests.post(oidc.token_url(server, realm), data=data, auth=auth, timeout=30,
                             verify=server.ca_path or True)
    return response.status_code, response.text


def test_entry_service_accounts_off(keycloak, realm, env):
    client_id, secret = unique("no-sa"), "Secret-" + uuid.uuid4().hex
    created = run_module("confidential_client", dict(realm=realm, client_id=client_id, secret=secret), env)
    assert created.rc == 0, created.output[-3000:]
    assert_shows("service-accounts-off", 1, created.output)
    status, body = oidc.client_credentials(keycloak, realm, client_id, secret)
    assert status == 401
    assert_shows("service-accounts-off", 0, json.dumps(body, separators=(",", ":")))
    fixed = run_module("confidential_client", dict(realm=realm, client_id=client_id, secret=secret,
                                                   service_accounts=True), env)
    assert fixed.rc == 0, fixed.output[-3000:]
    assert oidc.client_credentials(keycloak, realm, client_id, secret)[0] == 200


def test_entry_after_rotation(keycloak, realm, oracle, env):
    client_id, previous = unique("rotated"), "Secret-" + uuid.uuid4().hex
    oracle.create_client({"clientId": client_id, "publicClient": False, "serviceAccountsEnabled": True,
                          "secret": previous})
    assert oidc.client_credentials(keycloak, realm, client_id, previous)[0] == 200
    rotated = run_module("client_secret", dict(realm=realm, client_id=client_id, state="regenerated"), env)
    assert rotated.rc == 0, rotated.output[-3000:]
    assert raw_token_request(keycloak, realm, dict(grant_type="client_credentials", client_id=client_id,
                                                   client_secret=previous))[0] == 401
    assert_shows("after-rotation", 0, raw_token_request(
        keycloak, realm, dict(grant_type="client_credentials", client_id=client_id, client_secret=previous))[1])


def test_entry_auth_method(keycloak, realm, oracle):
    initial = oracle.connection.raw_post("admin/realms/%s/clients-initial-access" % realm,
                                         data=json.dumps({"count": 1, "expiration": 600})).json()["token"]
    response = requests.post("%s/realms/%s/clients-registrations/openid-connect" % (keycloak.url, realm),
                             headers={"Authorization": "Bearer " + initial}, timeout=30, verify=keycloak.ca_path or True,
                             json={"client_name": unique("basic"), "grant_types": ["client_credentials"],
                                   "token_endpoint_auth_method": "client_secret_basic"})
    assert response.status_code == 201, response.text
    client_id, secret = response.json()["client_id"], response.json()["client_secret"]
    status, body = raw_token_request(keycloak, realm, dict(grant_type="client_credentials", client_id=client_id,
                                                           client_secret=secret))
    assert status == 401
    assert_shows("auth-method", 0, body)
    # The documented fix on the consumer's side: the same secret with HTTP Basic.
    assert raw_token_request(keycloak, realm, dict(grant_type="client_credentials"), auth=(client_id, secret))[0] == 200


def test_entry_invalid_scope(keycloak, realm, oracle, env):
    client_id, secret, scope = unique("scoped"), "Secret-" + uuid.uuid4().hex, unique("reports")
    oracle.create_client_scope({"name": scope, "protocol": "openid-connect"})
    created = run_module("confidential_client", dict(realm=realm, client_id=client_id, secret=secret,
                                                     preset="service"), env)
    assert created.rc == 0, created.output[-3000:]
    request = dict(grant_type="client_credentials", client_id=client_id, client_secret=secret, scope=scope)
    status, body = raw_token_request(keycloak, realm, request)
    assert status == 400
    assert_shows("invalid-scope", 0, body)
    fixed = run_module("confidential_client", dict(realm=realm, client_id=client_id, secret=secret, preset="service",
                                                   optional_client_scopes=[scope]), env)
    assert fixed.rc == 0, fixed.output[-3000:]
    assert raw_token_request(keycloak, realm, request)[0] == 200


def test_entry_tls_issuer(keycloak_tls):
    # The server's CA is not given: the Python of the module does not trust it.
    failed = run_module("confidential_client", dict(realm="master", client_id=unique("tls")),
                        ansible_env(keycloak_tls))
    assert failed.rc != 0
    assert_shows("tls-issuer", 0, failed.result["msg"])


def test_entry_admin_403(realm, oracle, env):
    for index, roles in enumerate((["view-clients"], ["view-clients", "view-users"])):
        client_id = unique("denied")
        denied = run_module("confidential_client", dict(realm=realm, client_id=client_id,
                                                        **limited_user(oracle, roles)), env)
        assert denied.rc != 0
        assert_shows("admin-403", index, denied.result["msg"])
        assert oracle.get_client_id(client_id) is None


def test_entry_kubernetes_rbac(kube_apiserver, kube_core, namespace, kube_env, tmp_path):  # noqa: F811
    # pylint: disable=redefined-outer-name
    if not kube_apiserver.started_by_us:
        pytest.skip("needs the harness's API server to make a service account with its own token")
    creds = credentials()
    delivered = deliver(tmp_path, kube_env(kube_apiserver.kubeconfig), deliver_credentials=creds,
                        deliver_kubernetes=[dict(client_id=CLIENT_ID, name="app-oidc", namespace=namespace)])
    assert delivered.rc == 0, delivered.output[-3000:]

    # The Job's service account, with no Role yet.
    kube_core.create_namespaced_service_account(namespace, {"metadata": {"name": "report-job"}})
    token = kube_core.create_namespaced_service_account_token(
        "report-job", namespace, {"spec": {"expirationSeconds": 600}}).status.token
    kubeconfig = kube_apiserver.write_kubeconfig(tmp_path / "job.kubeconfig", token, namespace)
    job = kubernetes.client.CoreV1Api(kubernetes.config.new_client_from_config(config_file=str(kubeconfig)))
    with pytest.raises(kubernetes.client.ApiException) as refused:
        job.read_namespaced_secret("app-oidc", namespace)
    assert refused.value.status == 403
    assert_shows("kubernetes-rbac", 0, json.loads(refused.value.body)["message"])

    # The same credentials cannot deliver either: the role's own message.
    denied = deliver(tmp_path, kube_env(str(kubeconfig)), deliver_credentials=creds,
                     deliver_kubernetes=[dict(client_id=CLIENT_ID, name="app-oidc", namespace=namespace)])
    assert denied.rc != 0
    assert_shows("kubernetes-rbac", 1, error_line(denied))

    # The documented fix: get on that one Secret, bound to the Job's service account.
    rbac = kubernetes.client.RbacAuthorizationV1Api(
        kubernetes.config.new_client_from_config(config_file=kube_apiserver.kubeconfig))
    rbac.create_namespaced_role(namespace, {"metadata": {"name": "read-app-oidc"}, "rules": [
        {"apiGroups": [""], "resources": ["secrets"], "resourceNames": ["app-oidc"], "verbs": ["get"]}]})
    rbac.create_namespaced_role_binding(namespace, {
        "metadata": {"name": "read-app-oidc"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "read-app-oidc"},
        "subjects": [{"kind": "ServiceAccount", "name": "report-job", "namespace": namespace}]})
    for _attempt in range(20):  # the API server's RBAC cache takes the binding in within moments
        try:
            assert job.read_namespaced_secret("app-oidc", namespace).data
            break
        except kubernetes.client.ApiException as exc:
            assert exc.status == 403
            time.sleep(0.5)
    else:
        pytest.fail("the Role and RoleBinding of docs/troubleshooting.md did not let the Job read the Secret")
