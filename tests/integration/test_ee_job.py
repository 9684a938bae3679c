"""The execution environment image running the collection's playbooks as AWX runs a job.

AWX hands a job to its execution node as ``ansible-runner transmit`` (the private data directory, streamed),
runs ``ansible-runner worker`` inside the EE container, and reads the event stream back with
``ansible-runner process``. The same three processes run here, with the image scripts/check-ee.sh --build makes
(KEYCLOAK_OPS_EE_IMAGE), the Keycloak credential type's injectors rendered as AWX renders them into the job's
environment, and the harness Keycloak on 127.0.0.1 (the container shares the host's network).

Provision and rotate run twice, once as a normal job and once as a Check job; the second reports changed=0,
and no secret (the credential's, any client's, old or new) appears in any job event (stdout or event_data).
The job templates of extensions/awx/job_templates.yml run with their survey answers as the job's extra variables
(a Check job, answered jobs, blank answers), and one job reaches a Keycloak that requires a client certificate
with only what the credential injects. Each job costs a container start: they are kept few.
"""
import json
import os

import pytest
import yaml

from tests.harness.awx import RunnerJob, load_credential_type, render_injectors, survey_extra_vars, template
from tests.integration.conftest import admin_client, new_realm, service_account

EE_IMAGE = os.environ.get("KEYCLOAK_OPS_EE_IMAGE")
RUNNER = os.path.join(os.environ.get("KEYCLOAK_OPS_CACHE", os.path.expanduser("~/.cache/keycloak_ops")),
                      "venv-ee", "bin", "ansible-runner")
# Where the consumer host's files go: a host directory exposed to the job (AWX: "Paths to expose to isolated jobs").
CONSUMER_DIR = "/srv/keycloak-ops-consumer"

if not EE_IMAGE:
    if os.environ.get("KEYCLOAK_REQUIRED") == "1":
        raise RuntimeError("KEYCLOAK_OPS_EE_IMAGE is not set: scripts/test builds the image with "
                           "scripts/check-ee.sh --build")
    pytest.skip("no execution environment image (KEYCLOAK_OPS_EE_IMAGE; scripts/check-ee.sh --build makes one)",
                allow_module_level=True)


def run_job(job, consumer_dir):
    """The job in the image, the consumer host's directory exposed to it (AWX: "Paths to expose to isolated jobs")."""
    return job.run(RUNNER, EE_IMAGE, {str(consumer_dir): CONSUMER_DIR})


@pytest.fixture(scope="module")
def automation_credential(keycloak, realm, oracle):
    """The service account docs/awx.md recommends, with what provisioning and graceful rotation need."""
    secret = service_account(oracle, "awx-ee", ("manage-clients", "view-realm", "manage-realm"))
    return dict(url=keycloak.url, realm=realm, client_id="awx-ee", client_secret=secret)


def client_secrets(oracle, client_ids):
    return {cid: oracle.get_client_secrets(oracle.get_client_id(cid))["value"] for cid in client_ids}


def test_provision_and_rotate_jobs_in_the_execution_environment(
        keycloak, realm, oracle, automation_credential, tmp_path):
    envvars = render_injectors(load_credential_type(), automation_credential, str(tmp_path / "awx"))[0]
    consumer_dir = tmp_path / "consumer"
    consumer_dir.mkdir()
    os.chown(consumer_dir, 1000, 0)  # the image's user (ansible-builder's default, uid 1000)
    clients = ["ee-billing", "ee-reports"]
    local = {"ansible_connection": "local", "ansible_python_interpreter": "{{ ansible_playbook_python }}"}
    controller = dict(local, provision_realm=realm,
                      provision_clients=[{"client_id": c, "preset": "service"} for c in clients])
    consumer = dict(local, deliver_files=[{"client_id": c, "path": "%s/%s.env" % (CONSUMER_DIR, c)} for c in clients])
    inventory = {"all": {"hosts": {"localhost": controller},
                         "children": {"keycloak_consumers": {"hosts": {"app1": consumer}}}}}
    # The rotate job template's survey: max age empty rotates now (launched by hand); the scheduled Check job
    # rotates secrets older than a day, which none is right after the rotation.
    rotate_now = {"rotate_realm": realm, "rotate_clients": clients, "rotate_max_age": "", "rotate_grace_period": "10m"}
    rotate_due = dict(rotate_now, rotate_max_age="1d")
    secrets = [automation_credential["client_secret"], keycloak.admin_password]

    def job(name, playbook, extravars, check=False):
        return run_job(RunnerJob(tmp_path, name, playbook, inventory, envvars, extravars, check=check), consumer_dir)

    provision = job("provision", "provision", {})
    assert provision.changed > 0
    first = client_secrets(oracle, clients)
    for client_id, secret in first.items():
        held = (consumer_dir / ("%s.env" % client_id)).read_text()
        assert secret in held and oracle.get_client(oracle.get_client_id(client_id))["serviceAccountsEnabled"]
    provision_check = job("provision-check", "provision", {}, check=True)
    assert provision_check.changed == 0, provision_check.stdout[-3000:]

    # Rotated, redelivered, verified, the previous secret retired.
    rotate = job("rotate", "rotate", rotate_now)
    assert rotate.changed > 0
    second = client_secrets(oracle, clients)
    for client_id in clients:
        assert second[client_id] != first[client_id]
        assert second[client_id] in (consumer_dir / ("%s.env" % client_id)).read_text()
    rotate_check = job("rotate-check", "rotate", rotate_due, check=True)
    assert rotate_check.changed == 0, rotate_check.stdout[-3000:]
    assert client_secrets(oracle, clients) == second

    secrets += list(first.values()) + list(second.values())
    for ran in (provision, provision_check, rotate, rotate_check):
        assert ran.events, "job %s produced no event" % ran.name
        assert ran.leaked(secrets) == [], "job %s: secrets %s appear in its events" % (ran.name, ran.leaked(secrets))


# ---------------------------------------------------------------------------------------------------------
# The job templates of extensions/awx/job_templates.yml, with survey answers as AWX passes them


def template_job(tmp_path, name, playbook, inventory, credential, answers, check=False, credential_type=None):
    extravars = survey_extra_vars(template(playbook)["survey_spec"], answers)
    job = RunnerJob(tmp_path, name, playbook, inventory, {}, extravars, check=check)
    job.inject(credential_type or load_credential_type(), credential)
    return job


def realm_clients(oracle):
    return sorted((c["clientId"], c.get("secret")) for c in oracle.get_clients())


def test_job_templates_with_survey_answers_blank_answers_and_a_check_job(
        keycloak, realm, oracle, automation_credential, tmp_path):
    consumer_dir = tmp_path / "consumer"
    consumer_dir.mkdir()
    os.chown(consumer_dir, 1000, 0)
    local = {"ansible_connection": "local", "ansible_python_interpreter": "{{ ansible_playbook_python }}"}
    clients = ["tpl-billing", "tpl-reports"]
    inventory = {"all": {
        "hosts": {"localhost": dict(local, provision_realm="no-such-realm",
                                    provision_clients=[{"client_id": c, "preset": "service"} for c in clients])},
        "vars": {"rotate_realm": realm, "rotate_clients": clients, "rotate_grace_period": "10m",
                 "self_register_realm": realm, "self_register_client_prefix": "tpl-"},
        "children": {
            "keycloak_consumers": {"hosts": {"app1": dict(local, deliver_files=[
                {"client_id": c, "path": "%s/%s.env" % (CONSUMER_DIR, c)} for c in clients])}},
            "self_register": {"hosts": {name: dict(local, self_register_credentials_file="%s/%s.json"
                                                   % (CONSUMER_DIR, name)) for name in ("node1", "node2")}}}}}

    def run(job):
        return run_job(job, consumer_dir)

    # A Check job of provision reports the clients it would create and changes nothing.
    before = realm_clients(oracle)
    check = run(template_job(tmp_path, "tpl-provision-check", "provision", inventory, automation_credential,
                             {"survey_realm": realm}, check=True))
    assert "would create client tpl-billing" in check.stdout and realm_clients(oracle) == before
    provision = run(template_job(tmp_path, "tpl-provision", "provision", inventory, automation_credential,
                                 {"survey_realm": realm, "survey_dry_run": "no"}))
    assert provision.changed > 0 and oracle.get_client_id("tpl-billing")
    first = client_secrets(oracle, clients)

    rotate = run(template_job(tmp_path, "tpl-rotate", "rotate", inventory, automation_credential,
                              {"survey_clients": "tpl-billing", "survey_max_age": "none", "survey_retire": "yes"}))
    second = client_secrets(oracle, clients)
    assert rotate.changed > 0 and second["tpl-billing"] != first["tpl-billing"]
    assert second["tpl-reports"] == first["tpl-reports"]
    assert second["tpl-billing"] in (consumer_dir / "tpl-billing.env").read_text()

    # Blank answers: the inventory's hosts and prefix.
    register = run(template_job(tmp_path, "tpl-self-register", "self_register", inventory, automation_credential,
                                {"survey_limit": "", "survey_client_prefix": ""}))
    registered = json.loads((consumer_dir / "node2.json").read_text())
    assert register.changed > 0 and registered["client_id"] == "tpl-node2"

    secrets = [automation_credential["client_secret"], registered["secret"]]
    secrets += list(first.values()) + list(second.values())
    for ran in (check, provision, rotate, register):
        assert ran.leaked(secrets) == [], "job %s: secrets %s appear in its events" % (ran.name, ran.leaked(secrets))


def test_mtls_job_with_the_credentials_client_certificate(keycloak_mtls, tmp_path):
    """Keycloak requires a client certificate: the credential's CA bundle, certificate and key, injected as
    files of the job, are all the job has."""
    realm = new_realm(keycloak_mtls, prefix="ee-mtls")
    try:
        pem = {name: open(path).read() for name, path in (("ca", keycloak_mtls.ca_path),
                                                          ("cert", keycloak_mtls.client_cert),
                                                          ("key", keycloak_mtls.client_key))}
        credential = dict(url=keycloak_mtls.url, realm=keycloak_mtls.admin_realm, username=keycloak_mtls.admin_user,
                          password=keycloak_mtls.admin_password, ca_bundle=pem["ca"], client_certificate=pem["cert"],
                          client_key=pem["key"])
        consumer_dir = tmp_path / "consumer"
        consumer_dir.mkdir()
        os.chown(consumer_dir, 1000, 0)
        local = {"ansible_connection": "local", "ansible_python_interpreter": "{{ ansible_playbook_python }}"}
        inventory = {"all": {"hosts": {"localhost": dict(local, provision_realm=realm, provision_clients=[
            {"client_id": "mtls-app", "preset": "service"}])}}}
        job = template_job(tmp_path, "tpl-mtls", "provision", inventory, credential, {})
        envvars = yaml.safe_load((job.source / "env" / "envvars").read_text())
        assert envvars["KEYCLOAK_CLIENT_CERT"].startswith("/runner/env/")
        ran = run_job(job, consumer_dir)
        assert ran.changed > 0 and admin_client(keycloak_mtls, realm).get_client_id("mtls-app")
        assert ran.leaked([keycloak_mtls.admin_password, "PRIVATE KEY"]) == []
    finally:
        admin_client(keycloak_mtls).delete_realm(realm)
