"""The AWX material of extensions/awx (the credential types, the job templates with their surveys and schedule),
as AWX validates and uses it, driving our playbooks.

AWX's validation and injection of credential types and its handling of surveys are emulated by
tests/harness/awx.py, the controller API that awx.awx talks to by tests/harness/awx_controller.py. Here the
collection's files pass that validation, and playbooks run with only the variables AWX would inject (and the extra
variables a survey makes), against the real Keycloak, as an AWX job would.
"""
import base64
import json
import os
import re
import stat
import sys

import pytest
import yaml

from tests.collection_path import REPO, collections_root
from tests.harness.awx import (
    SECRET_MASK, VAULT_CREDENTIAL_TYPE_FILE, AWXValidationError, job_templates, kubernetes_bearer_token_env,
    load_credential_type, render_injectors, survey_extra_vars, template, validate_like_awx, validate_survey_like_awx,
)
from tests.harness.awx_controller import FakeController, FakeJobTemplateAPI
from tests.integration.conftest import admin_client, new_realm, service_account
from tests.integration.runner import ansible_env, run_playbook

PROVISION = os.path.join(REPO, "playbooks", "provision.yml")
CREDENTIAL_TYPE_PLAYBOOK = os.path.join(REPO, "playbooks", "awx_credential_type.yml")


def job_env(injected, **extra):
    """The environment of an AWX job: Ansible settings and the injected variables, no other KEYCLOAK_*."""
    env = ansible_env(None, **extra)
    env.update(injected)
    return env


def write_inventory(tmp_path, realm, clients, consumer_file=None):
    """An AWX inventory: provision_realm/provision_clients on localhost, one consumer host receiving a file."""
    # As docs/awx.md writes it: the interpreter running the job (the EE's, with python-keycloak).
    localhost = dict(ansible_connection="local", ansible_python_interpreter="{{ ansible_playbook_python }}",
                     provision_realm=realm, provision_clients=clients)
    data = {"all": {"hosts": {"localhost": localhost}}}
    if consumer_file:
        consumer = dict(ansible_connection="local", ansible_python_interpreter=sys.executable,
                        deliver_files=[dict(client_id=clients[0]["client_id"], path=str(consumer_file))])
        data["all"]["children"] = {"keycloak_consumers": {"hosts": {"app1": consumer}}}
    path = tmp_path / "inventory.yml"
    path.write_text(yaml.safe_dump(data))
    return str(path)


def project_playbook(tmp_path):
    """The job template's playbook of docs/awx.md: a project file importing the collection's playbook."""
    path = tmp_path / "site.yml"
    path.write_text("---\n- name: Provision the Keycloak clients of the inventory, then deliver their credentials\n"
                    "  ansible.builtin.import_playbook: keycloak_ops.clients.provision\n")
    return str(path)


def unchanged(run):
    return all(count == "0" for count in re.findall(r"changed=(\d+)", run.output)) and "changed=" in run.output


# ---------------------------------------------------------------------------------------------------------
# The credential type itself


def test_credential_type_passes_awx_validation():
    credential_type = load_credential_type()
    assert credential_type["kind"] == "cloud"
    validate_like_awx(credential_type["inputs"], credential_type["injectors"])
    fields = {field["id"]: field for field in credential_type["inputs"]["fields"]}
    assert sorted(fields) == sorted(["url", "realm", "client_id", "client_secret", "username", "password", "ca_bundle",
                                     "client_certificate", "client_key", "access_token", "skip_tls_verify"])
    assert [name for name, field in fields.items() if field.get("secret")] == [
        "client_secret", "password", "client_key", "access_token"]
    assert all(fields[name].get("multiline") is True for name in ("ca_bundle", "client_certificate", "client_key"))
    assert fields["skip_tls_verify"]["type"] == "boolean"
    assert credential_type["inputs"]["required"] == ["url"]
    assert sorted(credential_type["injectors"]["env"]) == sorted([
        "KEYCLOAK_URL", "KEYCLOAK_REALM", "KEYCLOAK_CLIENT_ID", "KEYCLOAK_CLIENT_SECRET", "KEYCLOAK_USER",
        "KEYCLOAK_PASSWORD", "KEYCLOAK_CA_PATH", "KEYCLOAK_CLIENT_CERT", "KEYCLOAK_CLIENT_KEY",
        "KEYCLOAK_ACCESS_TOKEN", "KEYCLOAK_VALIDATE_CERTS"])


def test_validation_refuses_what_awx_refuses():
    credential_type = load_credential_type()
    injectors = json.loads(json.dumps(credential_type["injectors"]))
    injectors["env"]["KEYCLOAK_TOKEN"] = "{{ no_such_field }}"
    with pytest.raises(AWXValidationError, match="undefined field"):
        validate_like_awx(credential_type["inputs"], injectors)
    with pytest.raises(AWXValidationError, match="not allowed"):
        validate_like_awx(credential_type["inputs"], {"env": {"ANSIBLE_CONFIG": "{{ url }}"}})
    with pytest.raises(AWXValidationError, match="reserved"):
        validate_like_awx({"fields": [{"id": "tower", "label": "x"}]}, {})


def test_injectors_render_the_keycloak_environment(tmp_path):
    credential_type = load_credential_type()
    pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
    key = "-----BEGIN PRIVATE KEY-----\nMIIE-key-value\n-----END PRIVATE KEY-----\n"
    inputs = dict(url="https://sso.example.com", realm="apps", client_id="awx", client_secret="s3cr3t-value",
                  username="automation", password="p4ss-value", ca_bundle=pem, client_certificate=pem,
                  client_key=key, access_token="t0ken-value")
    env, safe_env = render_injectors(credential_type, inputs, str(tmp_path))
    files = {name: env.pop(name) for name in ("KEYCLOAK_CA_PATH", "KEYCLOAK_CLIENT_CERT", "KEYCLOAK_CLIENT_KEY")}
    assert env == dict(KEYCLOAK_URL="https://sso.example.com", KEYCLOAK_REALM="apps", KEYCLOAK_CLIENT_ID="awx",
                       KEYCLOAK_CLIENT_SECRET="s3cr3t-value", KEYCLOAK_USER="automation",
                       KEYCLOAK_PASSWORD="p4ss-value", KEYCLOAK_ACCESS_TOKEN="t0ken-value",
                       KEYCLOAK_VALIDATE_CERTS="true")
    for name, content in (("KEYCLOAK_CA_PATH", pem), ("KEYCLOAK_CLIENT_CERT", pem), ("KEYCLOAK_CLIENT_KEY", key)):
        assert os.path.dirname(files[name]) == str(tmp_path / "env")
        with open(files[name]) as handle:
            assert handle.read() == content
        assert stat.S_IMODE(os.stat(files[name]).st_mode) == 0o600
    assert len(set(files.values())) == 3
    # What AWX stores with the job holds no secret.
    assert safe_env["KEYCLOAK_CLIENT_SECRET"] == SECRET_MASK and safe_env["KEYCLOAK_PASSWORD"] == SECRET_MASK
    assert safe_env["KEYCLOAK_ACCESS_TOKEN"] == SECRET_MASK
    for secret in ("s3cr3t-value", "p4ss-value", "t0ken-value", "MIIE-key-value"):
        assert secret not in json.dumps(safe_env)
    # Verification is switched off only by checking the box; an unset boolean (false in AWX) keeps it on.
    assert render_injectors(credential_type, dict(inputs, skip_tls_verify=True), str(tmp_path / "off"))[0][
        "KEYCLOAK_VALIDATE_CERTS"] == "false"


def test_empty_fields_render_empty_and_no_ca_file_is_pointed_at(tmp_path):
    """AWX writes the CA file injector even when the field is empty: KEYCLOAK_CA_PATH must stay empty then,
    or every https connection would be verified against an empty bundle."""
    inputs = dict(url="https://sso.example.com", client_id="awx", client_secret="s3cr3t-value")
    env = render_injectors(load_credential_type(), inputs, str(tmp_path))[0]
    assert env["KEYCLOAK_CA_PATH"] == "" and env["KEYCLOAK_CLIENT_CERT"] == "" and env["KEYCLOAK_CLIENT_KEY"] == ""
    assert env["KEYCLOAK_USER"] == "" and env["KEYCLOAK_PASSWORD"] == "" and env["KEYCLOAK_REALM"] == ""
    assert env["KEYCLOAK_ACCESS_TOKEN"] == "" and env["KEYCLOAK_VALIDATE_CERTS"] == "true"
    assert len(os.listdir(tmp_path / "env")) == 3  # the (empty) files AWX writes anyway


# ---------------------------------------------------------------------------------------------------------
# Jobs running our playbooks with only the injected environment, against the real Keycloak


@pytest.fixture(scope="module")
def automation_client(keycloak, realm, oracle):
    """The service account the docs recommend for AWX: manage-clients and view-realm in the managed realm."""
    return "awx-automation", service_account(oracle, "awx-automation", ("manage-clients", "view-realm"))


def test_job_with_service_account_credential_provisions_and_delivers(
        keycloak, realm, oracle, automation_client, tmp_path):
    client_id, client_secret = automation_client
    inputs = dict(url=keycloak.url, realm=realm, client_id=client_id, client_secret=client_secret)
    injected, safe_env = render_injectors(load_credential_type(), inputs, str(tmp_path / "private"))
    assert injected["KEYCLOAK_USER"] == "" and injected["KEYCLOAK_CA_PATH"] == ""
    delivered = tmp_path / "app1" / "billing-worker.env"
    delivered.parent.mkdir()
    inventory = write_inventory(tmp_path, realm, [
        dict(client_id="billing-worker", preset="service", default_client_scopes=["profile", "email"]),
        dict(client_id="awx-dashboard", kind="public", preset="spa", redirect_uris=["https://dash.example.com/*"]),
    ], consumer_file=delivered)
    env = job_env(injected)
    site = project_playbook(tmp_path)

    first = run_playbook(site, env, inventory=inventory, verbosity=3)
    assert first.rc == 0, first.output[-3000:]
    worker = oracle.get_client(oracle.get_client_id("billing-worker"))
    assert worker["serviceAccountsEnabled"] is True and worker["publicClient"] is False
    assert oracle.get_client(oracle.get_client_id("awx-dashboard"))["publicClient"] is True
    worker_secret = oracle.get_client_secrets(worker["id"])["value"]
    text = delivered.read_text()
    assert "OIDC_CLIENT_ID=billing-worker" in text and worker_secret in text
    # The role's token URL comes from the injected KEYCLOAK_URL.
    assert "%s/realms/%s/protocol/openid-connect/token" % (keycloak.url.rstrip("/"), realm) in text
    assert stat.S_IMODE(delivered.stat().st_mode) == 0o600
    for secret in (client_secret, worker_secret):
        assert secret not in first.output
    assert client_secret not in json.dumps(safe_env)

    second = run_playbook(site, env, inventory=inventory)
    assert second.rc == 0, second.output[-3000:]
    assert unchanged(second), second.output[-2000:]


def test_job_with_user_credential_and_ca_bundle_against_tls_keycloak(keycloak_tls, tmp_path):
    realm = new_realm(keycloak_tls, prefix="awx-tls")
    try:
        with open(keycloak_tls.ca_path) as handle:
            pem = handle.read()
        inputs = dict(url=keycloak_tls.url, realm=keycloak_tls.admin_realm, username=keycloak_tls.admin_user,
                      password=keycloak_tls.admin_password, ca_bundle=pem)
        injected = render_injectors(load_credential_type(), inputs, str(tmp_path / "private"))[0]
        assert injected["KEYCLOAK_CA_PATH"].startswith(str(tmp_path / "private" / "env"))
        inventory = write_inventory(tmp_path, realm, [dict(client_id="tls-service", preset="service")])

        run = run_playbook(PROVISION, job_env(injected), inventory=inventory, verbosity=3)
        assert run.rc == 0, run.output[-3000:]
        assert keycloak_tls.admin_password not in run.output
        oracle = admin_client(keycloak_tls, realm)
        assert oracle.get_client_id("tls-service")

        # The same credential without its CA bundle: the private CA is not trusted, and the job says why.
        del inputs["ca_bundle"]
        injected = render_injectors(load_credential_type(), inputs, str(tmp_path / "private2"))[0]
        failed = run_playbook(PROVISION, job_env(injected), inventory=inventory)
        assert failed.rc != 0
        assert "TLS verification failed" in failed.output and "KEYCLOAK_CA_PATH" in failed.output
    finally:
        admin_client(keycloak_tls).delete_realm(realm)


# ---------------------------------------------------------------------------------------------------------
# playbooks/awx_credential_type.yml with awx.awx, against a stand-in of the controller API


def test_credential_type_playbook_creates_it_in_awx_once(extra_collections, keycloak, tmp_path):
    with FakeController() as controller:
        env = job_env({}, ANSIBLE_COLLECTIONS_PATH=collections_root() + os.pathsep + extra_collections,
                      CONTROLLER_HOST=controller.url, CONTROLLER_OAUTH_TOKEN="fake-token",
                      CONTROLLER_VERIFY_SSL="false")
        first = run_playbook(CREDENTIAL_TYPE_PLAYBOOK, env)
        assert first.rc == 0, first.output[-3000:]
        assert [request[0] for request in controller.requests] == ["GET", "POST"], controller.requests
        assert len(controller.items) == 1, controller.items
        stored = list(controller.items.values())[0]
        expected = load_credential_type()
        for key in ("name", "description", "kind", "inputs", "injectors"):
            assert stored[key] == expected[key], key
        assert stored["managed"] is False

        second = run_playbook(CREDENTIAL_TYPE_PLAYBOOK, env)
        assert second.rc == 0, second.output[-3000:]
        assert [request[0] for request in controller.requests] == ["GET", "POST", "GET"], controller.requests
        assert unchanged(second), second.output[-2000:]

    # What AWX now holds drives a job against the real Keycloak.
    inputs = dict(url=keycloak.url, realm=keycloak.admin_realm, username=keycloak.admin_user,
                  password=keycloak.admin_password)
    injected = render_injectors(stored, inputs, str(tmp_path / "private"))[0]
    realm = new_realm(keycloak, prefix="awx-stored")
    try:
        inventory = write_inventory(tmp_path, realm, [dict(client_id="from-stored-type", preset="service")])
        run = run_playbook(PROVISION, job_env(injected), inventory=inventory)
        assert run.rc == 0, run.output[-3000:]
        assert admin_client(keycloak, realm).get_client_id("from-stored-type")
    finally:
        admin_client(keycloak).delete_realm(realm)


# ---------------------------------------------------------------------------------------------------------
# The deliver role's destinations: AWX's built-in Kubernetes credential and the Vault credential type


def test_vault_credential_type_passes_awx_validation_and_no_injected_name_collides(tmp_path):
    vault_type = load_credential_type(VAULT_CREDENTIAL_TYPE_FILE)
    validate_like_awx(vault_type["inputs"], vault_type["injectors"])
    assert [f["id"] for f in vault_type["inputs"]["fields"] if f.get("secret")] == ["token"]
    # A job holds the Keycloak credential, the Vault one and AWX's Kubernetes one at once: each variable has one source.
    keycloak_names = set(load_credential_type()["injectors"]["env"])
    vault_names = set(vault_type["injectors"]["env"])
    kubernetes_names = set(kubernetes_bearer_token_env(dict(host="h", bearer_token="t", verify_ssl=True,
                                                            ssl_ca_cert="pem"), str(tmp_path)))
    assert not keycloak_names & vault_names and not keycloak_names & kubernetes_names
    assert not vault_names & kubernetes_names
    assert vault_names == {"VAULT_ADDR", "VAULT_TOKEN", "VAULT_CACERT"}


def test_vault_and_kubernetes_credentials_feed_the_deliver_role(hashi_vault, kube_apiserver, extra_collections,
                                                                tmp_path):
    """Only what the two credentials inject (CA bundles as files of the job) reaches the deliver role."""
    from tests.integration.test_external_deliveries import (  # pylint: disable=import-outside-toplevel
        CLIENT_ID, credentials, deliver)
    import kubernetes  # pylint: disable=import-outside-toplevel
    private = tmp_path / "private" / "env"
    private.mkdir(parents=True)
    with open(hashi_vault.ca_path) as handle:
        vault_ca = handle.read()
    vault_env = render_injectors(load_credential_type(VAULT_CREDENTIAL_TYPE_FILE),
                                 dict(url=hashi_vault.addr, token=hashi_vault.token, ca_bundle=vault_ca),
                                 str(tmp_path / "private"))[0]
    with open(kube_apiserver.kubeconfig) as handle:
        admin_token = json.load(handle)["users"][0]["user"]["token"]
    with open(kube_apiserver.ca_path) as handle:
        kube_ca = handle.read()
    kube_env = kubernetes_bearer_token_env(dict(host=kube_apiserver.url, bearer_token=admin_token, verify_ssl=True,
                                                ssl_ca_cert=kube_ca), str(private))
    env = job_env(dict(vault_env, **kube_env),
                  ANSIBLE_COLLECTIONS_PATH=collections_root() + os.pathsep + extra_collections)
    for name in ("KUBECONFIG", "K8S_AUTH_KUBECONFIG", "REQUESTS_CA_BUNDLE", "SSL_CERT_FILE", "SSL_CERT_DIR"):
        env.pop(name, None)
    core = kubernetes.client.CoreV1Api(kubernetes.config.new_client_from_config(config_file=kube_apiserver.kubeconfig))
    namespace = "awx-cred-" + os.urandom(4).hex()
    core.create_namespace({"metadata": {"name": namespace}})
    given = credentials()
    path = "awx/%s/oidc" % namespace
    try:
        run = deliver(tmp_path, env, deliver_credentials=given,
                      deliver_hashi_vault=[dict(client_id=CLIENT_ID, path=path, preset="mlflow")],
                      deliver_kubernetes=[dict(client_id=CLIENT_ID, name="oidc", namespace=namespace, preset="mlflow")])
        assert run.rc == 0, run.output[-4000:]
        secret = given[CLIENT_ID]["client_secret"]
        assert hashi_vault.read_kv2(path)["data"]["OIDC_CLIENT_SECRET"] == secret
        stored = core.read_namespaced_secret("oidc", namespace).data["OIDC_CLIENT_SECRET"]
        assert base64.b64decode(stored).decode() == secret
        assert secret not in run.output and hashi_vault.token not in run.output and admin_token not in run.output
    finally:
        core.delete_namespace(namespace)


# ---------------------------------------------------------------------------------------------------------
# Job templates and their surveys (extensions/awx/job_templates.yml)


def test_job_templates_and_their_surveys_pass_awx_validation():
    data = job_templates()
    assert [t["playbook"] for t in data["job_templates"]] == ["provision.yml", "rotate.yml", "self_register.yml"]
    expected = {"provision.yml": ["survey_realm", "survey_dry_run"],
                "rotate.yml": ["survey_clients", "survey_grace_period", "survey_max_age", "survey_retire"],
                "self_register.yml": ["survey_limit", "survey_client_prefix"]}
    for item in data["job_templates"]:
        validate_survey_like_awx(item["survey_spec"])
        assert [q["variable"] for q in item["survey_spec"]["spec"]] == expected[item["playbook"]]
        assert os.path.exists(os.path.join(REPO, "playbooks", item["playbook"]))
        assert item["ask_job_type_on_launch"] is True  # a Check job can be launched
        # Blank answers are accepted: every question is optional.
        survey_extra_vars(item["survey_spec"], {q["variable"]: "" for q in item["survey_spec"]["spec"]})
    schedule = data["schedules"][0]
    assert schedule["job_template"] == "Keycloak rotate" and "FREQ=DAILY" in schedule["rrule"]
    survey_extra_vars(template("rotate")["survey_spec"], schedule["extra_data"])


def test_survey_validation_refuses_what_awx_refuses():
    good = template("rotate")["survey_spec"]
    cases = [
        ({k: v for k, v in good.items() if k != "description"}, "missing"),
        (dict(good, spec=[]), "doesn't contain"),
        (dict(good, spec=[dict(good["spec"][0], type="date")]), "not an allowed"),
        (dict(good, spec=[good["spec"][0], good["spec"][0]]), "duplicated"),
        (dict(good, spec=[dict(good["spec"][3], default="maybe")]), "Default choice"),
        (dict(good, spec=[{k: v for k, v in good["spec"][3].items() if k != "choices"}]), "must specify choices"),
        (dict(good, spec=[dict(good["spec"][0], min="1")]), "expected to be integer"),
        (dict(good, spec=[dict(good["spec"][0], type="integer", default="1")]), "expected to be integer"),
        (dict(good, spec=[dict(good["spec"][0], required="no")]), "wrong type"),
    ]
    for spec, message in cases:
        with pytest.raises(AWXValidationError, match=message):
            validate_survey_like_awx(spec)
    with pytest.raises(AWXValidationError, match="not one of"):
        survey_extra_vars(good, {"survey_retire": "maybe"})
    with pytest.raises(AWXValidationError, match="too long"):
        survey_extra_vars(good, {"survey_grace_period": "1" * 40})
    required = dict(good, spec=[dict(good["spec"][0], required=True)])
    with pytest.raises(AWXValidationError, match="value missing"):
        survey_extra_vars(required, {"survey_clients": ""})


def realm_snapshot(server, realm):
    """What a Check job must not change: every client with its secret, and the initial access tokens."""
    oracle = admin_client(server, realm)
    clients = sorted((c["clientId"], c.get("secret")) for c in oracle.get_clients())
    tokens = oracle.connection.raw_get("admin/realms/%s/clients-initial-access" % realm).json()
    return clients, sorted(t["id"] for t in tokens)


def run_template(name, env, inventory, answers, check=False):
    """A job of the template: its playbook with the survey's extra variables (answers, or defaults)."""
    extra = survey_extra_vars(template(name)["survey_spec"], answers)
    return run_playbook(os.path.join(REPO, "playbooks", name + ".yml"), env, inventory=inventory, check=check,
                        extra_vars=extra, verbosity=3)


def test_provision_template_answers_blank_answers_and_check_jobs(keycloak, realm, tmp_path):
    env = ansible_env(keycloak)
    other = new_realm(keycloak, prefix="awx-survey")
    try:
        # The inventory names one realm; the survey's answer another.
        inventory = write_inventory(tmp_path, realm, [dict(client_id="survey-app", preset="service")])
        before = realm_snapshot(keycloak, other)
        check = run_template("provision", env, inventory, {"survey_realm": other}, check=True)
        dry = run_template("provision", env, inventory, {"survey_realm": other, "survey_dry_run": "yes"})
        for job in (check, dry):
            assert job.rc == 0, job.output[-3000:]
            assert "would create client survey-app" in job.output, job.output[-3000:]
        assert realm_snapshot(keycloak, other) == before, "a Check job or a dry run changed the realm"

        answered = run_template("provision", env, inventory, {"survey_realm": other, "survey_dry_run": "no"})
        assert answered.rc == 0, answered.output[-3000:]
        assert admin_client(keycloak, other).get_client_id("survey-app")
        assert not admin_client(keycloak, realm).get_client_id("survey-app"), "the answer, not the inventory"

        blank = run_template("provision", env, inventory, {"survey_realm": "", "survey_dry_run": ""})
        assert blank.rc == 0, blank.output[-3000:]
        assert admin_client(keycloak, realm).get_client_id("survey-app"), "blank: the inventory's realm"
    finally:
        admin_client(keycloak).delete_realm(other)


def test_rotate_template_answers_blank_answers_and_check_jobs(keycloak, realm, oracle, tmp_path):
    env = ansible_env(keycloak)
    for client_id in ("survey-r1", "survey-r2"):
        oracle.create_client({"clientId": client_id, "publicClient": False, "serviceAccountsEnabled": True,
                              "standardFlowEnabled": False})
    files = {c: tmp_path / "app1" / ("%s.env" % c) for c in ("survey-r1", "survey-r2")}
    consumer = dict(ansible_connection="local", ansible_python_interpreter=sys.executable,
                    deliver_files=[dict(client_id=c, path=str(p)) for c, p in files.items()])
    inventory = tmp_path / "rotate.yml"
    inventory.write_text(yaml.safe_dump({"all": {
        "hosts": {"localhost": dict(ansible_connection="local", ansible_python_interpreter=sys.executable)},
        # The schedule's grace period: the nightly job then finds nothing to change.
        "vars": dict(rotate_realm=realm, rotate_clients=["survey-r1", "survey-r2"], rotate_grace_period="1d"),
        "children": {"keycloak_consumers": {"hosts": {"app1": consumer}}}}}))

    def secrets():
        return {c: oracle.get_client_secrets(oracle.get_client_id(c))["value"] for c in files}

    first = secrets()
    before = realm_snapshot(keycloak, realm)
    check = run_template("rotate", env, str(inventory), {"survey_clients": "survey-r1"}, check=True)
    assert check.rc == 0, check.output[-3000:]
    assert "would retire the previous secret of survey-r1" in check.output, check.output[-3000:]
    assert realm_snapshot(keycloak, realm) == before, "a Check job changed the realm"

    # Answered: one client, kept the previous secret (no retirement), rotated now whatever its age.
    answers = {"survey_clients": " survey-r1 ", "survey_max_age": "none", "survey_grace_period": "5m",
               "survey_retire": "no"}
    answered = run_template("rotate", env, str(inventory), answers)
    assert answered.rc == 0, answered.output[-3000:]
    second = secrets()
    assert second["survey-r1"] != first["survey-r1"] and second["survey-r2"] == first["survey-r2"]
    assert second["survey-r1"] in files["survey-r1"].read_text()
    from tests.integration import oidc  # pylint: disable=import-outside-toplevel
    assert oidc.client_credentials(keycloak, realm, "survey-r1", first["survey-r1"])[0] == 200, "not retired"

    # Blank: the inventory's clients, rotated and retired; then the schedule's answers find none due.
    blank = run_template("rotate", env, str(inventory), dict.fromkeys(
        ("survey_clients", "survey_grace_period", "survey_max_age", "survey_retire"), ""))
    assert blank.rc == 0, blank.output[-3000:]
    third = secrets()
    assert all(third[c] != second[c] for c in files)
    assert oidc.client_credentials(keycloak, realm, "survey-r2", second["survey-r2"])[1]["error"] == \
        "unauthorized_client", "retired"
    nightly = run_template("rotate", env, str(inventory), job_templates()["schedules"][0]["extra_data"])
    assert nightly.rc == 0 and unchanged(nightly), nightly.output[-3000:]
    assert secrets() == third
    for secret in list(first.values()) + list(second.values()) + list(third.values()):
        for job in (check, answered, blank, nightly):
            assert secret not in job.output


def test_self_register_template_answers_blank_answers_and_check_jobs(keycloak, realm, tmp_path):
    env = ansible_env(keycloak)
    paths = {host: tmp_path / host / "client.json" for host in ("node1", "node2")}
    inventory = tmp_path / "hosts.yml"

    def write_hosts(hosts):
        inventory.write_text(yaml.safe_dump({"all": {"children": {"self_register": {
            "vars": dict(self_register_realm=realm, self_register_client_prefix="inv-"),
            "hosts": {host: dict(ansible_connection="local", ansible_python_interpreter=sys.executable,
                                 self_register_credentials_file=str(paths[host])) for host in hosts}}}}}))

    write_hosts(paths)

    before = realm_snapshot(keycloak, realm)
    check = run_template("self_register", env, str(inventory), {}, check=True)
    assert check.rc == 0, check.output[-3000:]
    assert realm_snapshot(keycloak, realm) == before, "a Check job changed the realm"
    assert not any(path.exists() for path in paths.values())

    answers = {"survey_limit": "node1", "survey_client_prefix": "awx-"}
    answered = run_template("self_register", env, str(inventory), answers)
    assert answered.rc == 0, answered.output[-3000:]
    assert json.loads(paths["node1"].read_text())["client_id"] == "awx-node1" and not paths["node2"].exists()

    # Blank answers: the whole group and the inventory's prefix (node1, registered under another client id by the
    # answered job, has left the group: the role refuses to rename a registered client).
    write_hosts(["node2"])
    blank = run_template("self_register", env, str(inventory), {"survey_limit": "", "survey_client_prefix": ""})
    assert blank.rc == 0, blank.output[-3000:]
    assert json.loads(paths["node2"].read_text())["client_id"] == "inv-node2"


def test_job_templates_playbook_creates_them_with_surveys_and_the_schedule_once(extra_collections):
    playbook = os.path.join(REPO, "playbooks", "awx_job_templates.yml")
    variables = dict(keycloak_awx_project="Keycloak", keycloak_awx_inventory="Apps",
                     keycloak_awx_credentials=["Keycloak apps", "Vault apps"],
                     keycloak_awx_execution_environment="keycloak-ops-ee")
    with FakeJobTemplateAPI() as controller:
        env = job_env({}, ANSIBLE_COLLECTIONS_PATH=collections_root() + os.pathsep + extra_collections,
                      CONTROLLER_HOST=controller.url, CONTROLLER_OAUTH_TOKEN="fake-token",
                      CONTROLLER_VERIFY_SSL="false")
        first = run_playbook(playbook, env, extra_vars=variables)
        assert first.rc == 0, first.output[-3000:]
        created = controller.named("job_templates")
        assert sorted(created) == ["Keycloak provision", "Keycloak rotate", "Keycloak self-register"]
        for declared in job_templates()["job_templates"]:
            item = created[declared["name"]]
            assert item["playbook"] == declared["playbook"] and item["survey_enabled"] is True
            assert controller.surveys[item["id"]] == declared["survey_spec"]
            assert sorted(controller.credentials[item["id"]]) == [1, 2]
        schedule = controller.named("schedules")["Keycloak rotate - nightly"]
        assert schedule["unified_job_template"] == created["Keycloak rotate"]["id"]
        assert schedule["extra_data"]["survey_max_age"] == "30d"

        writes = len(controller.writes)
        second = run_playbook(playbook, env, extra_vars=variables)
        assert second.rc == 0, second.output[-3000:]
        assert unchanged(second) and len(controller.writes) == writes, controller.writes[writes:]
