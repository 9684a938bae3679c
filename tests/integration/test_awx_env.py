"""The AWX credential type of extensions/awx, as AWX validates and injects it, driving our playbooks.

AWX checks a custom credential type with the JSON schemas and Jinja rules of awx/main/fields.py
(CredentialTypeInputField, CredentialTypeInjectorField), and at job launch renders its injectors with
CredentialType.inject_credential (awx/main/models/credential.py): a sandboxed Jinja environment over the
credential's non-empty inputs, file injectors first (each written to a 0600 file whose path goes to
``tower.filename.<name>``), then the environment variables. Both are reproduced here, and playbooks run with
only the variables so rendered, against the real Keycloak, as an AWX job would. The playbook that creates the
credential type runs with awx.awx against a stand-in of the controller API that applies the same validation.
"""
import json
import os
import re
import stat
import sys
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import jsonschema
import pytest
import yaml
from jinja2 import StrictUndefined, UndefinedError
from jinja2.exceptions import SecurityError, TemplateSyntaxError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from tests.collection_path import collections_root
from tests.integration.conftest import admin_client, new_realm
from tests.integration.runner import ansible_env, run_playbook

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CREDENTIAL_TYPE_FILE = os.path.join(REPO, "extensions", "awx", "keycloak_credential_type.yml")
PROVISION = os.path.join(REPO, "playbooks", "provision.yml")
CREDENTIAL_TYPE_PLAYBOOK = os.path.join(REPO, "playbooks", "awx_credential_type.yml")
SECRET_MASK = "**********"

# awx/main/fields.py: CredentialTypeInputField.schema and CredentialTypeInjectorField.schema.
AWX_INPUTS_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "required": {"type": "array", "items": {"type": "string"}},
        "fields": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "type": {"enum": ["string", "boolean"]},
                    "format": {"enum": ["ssh_private_key", "url"]},
                    "choices": {"type": "array", "minItems": 1, "items": {"type": "string"}, "uniqueItems": True},
                    "id": {"type": "string", "pattern": "^[a-zA-Z_]+[a-zA-Z0-9_]*$"},
                    "label": {"type": "string"},
                    "help_text": {"type": "string"},
                    "multiline": {"type": "boolean"},
                    "secret": {"type": "boolean"},
                    "ask_at_runtime": {"type": "boolean"},
                    "default": {},
                },
                "additionalProperties": False,
                "required": ["id", "label"],
            },
        },
    },
}
AWX_INJECTORS_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "file": {
            "type": "object",
            "patternProperties": {r"^template(\.[a-zA-Z_]+[a-zA-Z0-9_]*)?$": {"type": "string"}},
            "additionalProperties": False,
        },
        "env": {
            "type": "object",
            "patternProperties": {"^[a-zA-Z_]+[a-zA-Z0-9_]*$": {"type": "string", "pattern": "^[\x00-\x7F]*$"}},
            "additionalProperties": False,
        },
        "extra_vars": {
            "type": "object",
            "patternProperties": {"^[a-zA-Z_]+[a-zA-Z0-9_]*$": {"type": "string"}},
            "additionalProperties": False,
        },
    },
}
# awx/main/constants.py ENV_BLOCKLIST (variables AWX sets itself); ANSIBLE_* is refused as well.
AWX_ENV_BLOCKLIST = frozenset((
    "VIRTUAL_ENV", "PATH", "PYTHONPATH", "JOB_ID", "INVENTORY_ID", "INVENTORY_SOURCE_ID", "INVENTORY_UPDATE_ID",
    "AD_HOC_COMMAND_ID", "REST_API_URL", "REST_API_TOKEN", "MAX_EVENT_RES", "CALLBACK_QUEUE", "CALLBACK_CONNECTION",
    "CACHE", "JOB_CALLBACK_DEBUG", "INVENTORY_HOSTVARS", "AWX_HOST", "PROJECT_REVISION", "SUPERVISOR_CONFIG_PATH",
))


class AWXValidationError(ValueError):
    pass


def load_credential_type():
    with open(CREDENTIAL_TYPE_FILE) as handle:
        return yaml.safe_load(handle)


def validate_like_awx(inputs, injectors):
    """Raise AWXValidationError where AWX would refuse the credential type (HTTP 400)."""
    try:
        jsonschema.validate(inputs, AWX_INPUTS_SCHEMA)
        jsonschema.validate(injectors, AWX_INJECTORS_SCHEMA)
    except jsonschema.ValidationError as exc:
        raise AWXValidationError(exc.message) from exc
    ids = [field["id"] for field in inputs.get("fields", [])]
    if "tower" in ids:
        raise AWXValidationError('"tower" is a reserved field name')
    if len(set(ids)) != len(ids):
        raise AWXValidationError("field IDs must be unique")
    for field in inputs.get("fields", []):
        for key in ("choices", "multiline", "format", "secret"):
            if key in field and field.get("type", "string") != "string":
                raise AWXValidationError("%s not allowed for %s" % (key, field["type"]))
    for name in inputs.get("required", []):
        if name not in ids:
            raise AWXValidationError("required field %s is not defined" % name)

    class ExplodingNamespace:
        def __str__(self):
            raise UndefinedError("Must define unnamed file injector in order to reference `tower.filename`.")

    class TowerNamespace:
        def __init__(self):
            self.filename = ExplodingNamespace()

        def __str__(self):
            raise UndefinedError("Cannot directly reference reserved `tower` namespace container.")

    valid_namespace = dict.fromkeys(ids, "EXAMPLE")
    valid_namespace["tower"] = TowerNamespace()
    templates = [name for name in injectors.get("file", {}) if name.startswith("template")]
    if "template" in templates:
        if len(templates) > 1:
            raise AWXValidationError("Must use multi-file syntax when injecting multiple files")
        valid_namespace["tower"].filename = "EXAMPLE_FILENAME"
    else:
        for name in templates:
            setattr(valid_namespace["tower"].filename, name.split(".")[1], "EXAMPLE_FILENAME")
    for kind, injector in injectors.items():
        if kind == "env":
            for variable in injector:
                if variable.startswith("ANSIBLE_") or variable in AWX_ENV_BLOCKLIST:
                    raise AWXValidationError("Environment variable %s is not allowed" % variable)
        for key, template in injector.items():
            try:
                ImmutableSandboxedEnvironment(undefined=StrictUndefined).from_string(template).render(valid_namespace)
            except UndefinedError as exc:
                raise AWXValidationError("%s uses an undefined field (%s)" % (key, exc)) from exc
            except (SecurityError, TemplateSyntaxError) as exc:
                raise AWXValidationError("%s: %s" % (key, exc)) from exc


def render_injectors(credential_type, inputs, private_data_dir):
    """(env, safe_env) of a job using a credential with these inputs, as AWX's inject_credential makes them.

    safe_env is what AWX stores with the job (secret inputs masked); files go to private_data_dir/env.
    """
    fields = credential_type["inputs"].get("fields", [])
    secret_fields = {field["id"] for field in fields if field.get("secret")}

    class TowerNamespace:
        pass

    tower = TowerNamespace()
    namespace, safe_namespace = {"tower": tower}, {"tower": tower}
    for name, value in inputs.items():
        if isinstance(value, bool):
            namespace[name] = safe_namespace[name] = value
            continue
        if name in secret_fields:
            safe_namespace[name] = SECRET_MASK
        elif len(value):
            safe_namespace[name] = value
        if len(value):
            namespace[name] = value
    for field in fields:
        if field.get("type") == "boolean" and field["id"] not in inputs:
            namespace[field["id"]] = safe_namespace[field["id"]] = False

    sandbox = ImmutableSandboxedEnvironment()
    env_dir = os.path.join(private_data_dir, "env")
    os.makedirs(env_dir, exist_ok=True)
    for label, template in credential_type["injectors"].get("file", {}).items():
        data = sandbox.from_string(template).render(**namespace)
        handle, path = tempfile.mkstemp(dir=env_dir)
        with os.fdopen(handle, "w") as out:
            out.write(data)
        os.chmod(path, stat.S_IRUSR | stat.S_IWUSR)
        if "." not in label:
            tower.filename = path
        else:
            if not hasattr(tower, "filename"):
                tower.filename = TowerNamespace()
            setattr(tower.filename, label.split(".")[1], path)

    env, safe_env = {}, {}
    for variable, template in credential_type["injectors"].get("env", {}).items():
        if variable.startswith("ANSIBLE_") or variable in AWX_ENV_BLOCKLIST:
            continue  # AWX logs and ignores it
        env[variable] = sandbox.from_string(template).render(**namespace)
        safe_env[variable] = sandbox.from_string(template).render(**safe_namespace)
    return env, safe_env


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
    assert sorted(fields) == sorted(["url", "realm", "client_id", "client_secret", "username", "password", "ca_bundle"])
    assert [name for name, field in fields.items() if field.get("secret")] == ["client_secret", "password"]
    assert fields["ca_bundle"].get("multiline") is True
    assert credential_type["inputs"]["required"] == ["url"]
    assert sorted(credential_type["injectors"]["env"]) == sorted([
        "KEYCLOAK_URL", "KEYCLOAK_REALM", "KEYCLOAK_CLIENT_ID", "KEYCLOAK_CLIENT_SECRET",
        "KEYCLOAK_USER", "KEYCLOAK_PASSWORD", "KEYCLOAK_CA_PATH"])


def test_validation_refuses_what_awx_refuses():
    credential_type = load_credential_type()
    injectors = json.loads(json.dumps(credential_type["injectors"]))
    injectors["env"]["KEYCLOAK_TOKEN"] = "{{ token }}"
    with pytest.raises(AWXValidationError, match="undefined field"):
        validate_like_awx(credential_type["inputs"], injectors)
    with pytest.raises(AWXValidationError, match="not allowed"):
        validate_like_awx(credential_type["inputs"], {"env": {"ANSIBLE_CONFIG": "{{ url }}"}})
    with pytest.raises(AWXValidationError, match="reserved"):
        validate_like_awx({"fields": [{"id": "tower", "label": "x"}]}, {})


def test_injectors_render_the_keycloak_environment(tmp_path):
    credential_type = load_credential_type()
    pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
    inputs = dict(url="https://sso.example.com", realm="apps", client_id="awx", client_secret="s3cr3t-value",
                  username="automation", password="p4ss-value", ca_bundle=pem)
    env, safe_env = render_injectors(credential_type, inputs, str(tmp_path))
    ca_path = env.pop("KEYCLOAK_CA_PATH")
    assert env == dict(KEYCLOAK_URL="https://sso.example.com", KEYCLOAK_REALM="apps", KEYCLOAK_CLIENT_ID="awx",
                       KEYCLOAK_CLIENT_SECRET="s3cr3t-value", KEYCLOAK_USER="automation",
                       KEYCLOAK_PASSWORD="p4ss-value")
    assert os.path.dirname(ca_path) == str(tmp_path / "env")
    with open(ca_path) as handle:
        assert handle.read() == pem
    assert stat.S_IMODE(os.stat(ca_path).st_mode) == 0o600
    # What AWX stores with the job holds no secret.
    assert safe_env["KEYCLOAK_CLIENT_SECRET"] == SECRET_MASK and safe_env["KEYCLOAK_PASSWORD"] == SECRET_MASK
    assert "s3cr3t-value" not in json.dumps(safe_env) and "p4ss-value" not in json.dumps(safe_env)


def test_empty_fields_render_empty_and_no_ca_file_is_pointed_at(tmp_path):
    """AWX writes the CA file injector even when the field is empty: KEYCLOAK_CA_PATH must stay empty then,
    or every https connection would be verified against an empty bundle."""
    inputs = dict(url="https://sso.example.com", client_id="awx", client_secret="s3cr3t-value")
    env = render_injectors(load_credential_type(), inputs, str(tmp_path))[0]
    assert env["KEYCLOAK_CA_PATH"] == ""
    assert env["KEYCLOAK_USER"] == "" and env["KEYCLOAK_PASSWORD"] == "" and env["KEYCLOAK_REALM"] == ""
    assert len(os.listdir(tmp_path / "env")) == 1  # the (empty) file AWX writes anyway


# ---------------------------------------------------------------------------------------------------------
# Jobs running our playbooks with only the injected environment, against the real Keycloak


def service_account(oracle, client_id, roles):
    """A confidential client whose service account holds these realm-management roles; returns its secret."""
    oracle.create_client({"clientId": client_id, "publicClient": False, "serviceAccountsEnabled": True,
                          "standardFlowEnabled": False, "directAccessGrantsEnabled": False})
    uuid = oracle.get_client_id(client_id)
    user = oracle.get_client_service_account_user(uuid)
    realm_management = oracle.get_client_id("realm-management")
    oracle.assign_client_role(user["id"], realm_management,
                              [oracle.get_client_role(realm_management, name) for name in roles])
    return oracle.get_client_secrets(uuid)["value"]


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


class FakeController(object):
    """/api/v2/credential_types/ of AWX: list by name, create, update; validation as AWX applies it."""

    def __init__(self):
        self.items = {}
        self.requests = []
        controller = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def reply(self, status, body):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("X-API-Product-Name", "AWX")
                self.send_header("X-API-Product-Version", "24.6.1")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def body(self):
                return json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")

            def do_GET(self):
                url = urlsplit(self.path)
                controller.requests.append(("GET", url.path))
                if self.headers.get("Authorization") != "Bearer fake-token":
                    return self.reply(401, {"detail": "Authentication credentials were not provided."})
                if url.path != "/api/v2/credential_types/":
                    return self.reply(404, {"detail": "Not found."})
                name = parse_qs(url.query).get("name", [None])[0]
                results = [item for item in controller.items.values() if name is None or item["name"] == name]
                self.reply(200, {"count": len(results), "next": None, "previous": None, "results": results})

            def do_POST(self):
                controller.requests.append(("POST", self.path))
                data = self.body()
                try:
                    validate_like_awx(data.get("inputs", {}), data.get("injectors", {}))
                except AWXValidationError as exc:
                    return self.reply(400, {"injectors": [str(exc)]})
                ident = len(controller.items) + 1
                item = dict(data, id=ident, type="credential_type", url="/api/v2/credential_types/%d/" % ident)
                controller.items[ident] = item
                self.reply(201, item)

            def do_PATCH(self):
                controller.requests.append(("PATCH", self.path))
                ident = int(self.path.rstrip("/").rsplit("/", 1)[1])
                data = self.body()
                try:
                    validate_like_awx(data.get("inputs", {}), data.get("injectors", {}))
                except AWXValidationError as exc:
                    return self.reply(400, {"injectors": [str(exc)]})
                controller.items[ident].update(data)
                self.reply(200, controller.items[ident])

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


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
