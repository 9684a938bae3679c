"""AWX (Automation Controller) as far as the collection's AWX material meets it, emulated for tests.

What is emulated, each from AWX's own source (the file is named where the code is):

* custom credential types: AWX's validation of ``inputs`` and ``injectors`` (JSON schemas, reserved names, the
  environment variables it refuses, the sandboxed Jinja rules: ``validate_like_awx``), and their injection at job
  launch (``render_injectors``): file injectors written to 0600 files of the job's private data directory
  (``tower.filename``), then environment variables (``env``) and extra variables (``extra_vars``), with what AWX
  stores with the job (secret inputs masked);
* the built-in "OpenShift or Kubernetes API Bearer Token" credential's injection (``kubernetes_bearer_token_env``);
* job templates' surveys: AWX's validation of a survey spec (``validate_survey_like_awx``) and the extra variables of
  a job launched with survey answers (``survey_extra_vars``: answers, defaults, blank answers);
* a job on an execution node (``RunnerJob``): the private data directory streamed by ``ansible-runner transmit``
  into ``ansible-runner worker`` in the execution environment's container, its events read back by
  ``ansible-runner process``.

The collection's own AWX files (extensions/awx: the credential types and the job templates with their surveys and
schedule) are read by ``load_credential_type`` and ``job_templates``. The controller's REST API, for the
playbooks that create those objects with awx.awx, is emulated by ``awx_controller.py``.
"""
import glob
import json
import os
import shlex
import stat
import subprocess
import tempfile
import uuid

import jsonschema
import yaml
from jinja2 import StrictUndefined, UndefinedError
from jinja2.exceptions import SecurityError, TemplateSyntaxError
from jinja2.sandbox import ImmutableSandboxedEnvironment

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CREDENTIAL_TYPE_FILE = os.path.join(REPO, "extensions", "awx", "keycloak_credential_type.yml")
VAULT_CREDENTIAL_TYPE_FILE = os.path.join(REPO, "extensions", "awx", "hashi_vault_credential_type.yml")
JOB_TEMPLATES_FILE = os.path.join(REPO, "extensions", "awx", "job_templates.yml")

# ---------------------------------------------------------------------------------------------------------
# Credential types: validation and injection

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


def load_credential_type(path=CREDENTIAL_TYPE_FILE):
    with open(path) as handle:
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


def kubernetes_bearer_token_env(inputs, private_data_dir):
    """The environment AWX's built-in "OpenShift or Kubernetes API Bearer Token" credential injects
    (awx/main/models/credential/injectors.py, kubernetes_bearer_token): kubernetes.core reads these K8S_AUTH_*."""
    env = {"K8S_AUTH_HOST": inputs.get("host", ""), "K8S_AUTH_API_KEY": inputs.get("bearer_token", "")}
    if inputs.get("verify_ssl") and "ssl_ca_cert" in inputs:
        env["K8S_AUTH_VERIFY_SSL"] = "True"
        handle, path = tempfile.mkstemp(dir=private_data_dir)
        with os.fdopen(handle, "w") as out:
            os.chmod(path, stat.S_IRUSR | stat.S_IWUSR)
            out.write(inputs["ssl_ca_cert"])
        env["K8S_AUTH_SSL_CA_CERT"] = path
    else:
        env["K8S_AUTH_VERIFY_SSL"] = "False"
    return env


# ---------------------------------------------------------------------------------------------------------
# Job templates and their surveys (extensions/awx/job_templates.yml)

# awx/api/views/__init__.py, JobTemplateSurveySpec.ALLOWED_TYPES: question type -> type of its default.
SURVEY_TYPES = {"text": str, "textarea": str, "password": str, "multiplechoice": str, "multiselect": str,
                "integer": int, "float": float}


def validate_survey_like_awx(spec):
    """Raise AWXValidationError where AWX refuses a survey spec (JobTemplateSurveySpec._validate_spec_data)."""
    for field, expected in (("name", str), ("description", str), ("spec", list)):
        if field not in spec:
            raise AWXValidationError("Field '%s' is missing from survey spec." % field)
        if not isinstance(spec[field], expected):
            raise AWXValidationError("Expected %s for field '%s'" % (expected.__name__, field))
    if not spec["spec"]:
        raise AWXValidationError("'spec' doesn't contain any items.")
    variables = set()
    for idx, item in enumerate(spec["spec"]):
        if not isinstance(item, dict):
            raise AWXValidationError("Survey question %d is not a json object." % idx)
        for field in ("type", "question_name", "variable", "required"):
            if field not in item:
                raise AWXValidationError("'%s' missing from survey question %d" % (field, idx))
            if not isinstance(item[field], bool if field == "required" else str):
                raise AWXValidationError("'%s' in survey question %d has the wrong type" % (field, idx))
        if item["variable"] in variables:
            raise AWXValidationError("'variable' '%s' duplicated in survey question %d." % (item["variable"], idx))
        variables.add(item["variable"])
        kind = item["type"]
        if kind not in SURVEY_TYPES:
            raise AWXValidationError("'%s' in survey question %d is not an allowed question type" % (kind, idx))
        if item.get("default", "") != "" and not isinstance(item["default"], SURVEY_TYPES[kind]):
            raise AWXValidationError("Default value in survey question %d expected to be %s" % (idx, kind))
        for key in ("min", "max"):
            if item.get(key) is not None and not isinstance(item[key], int):
                raise AWXValidationError("The %s limit in survey question %d expected to be integer." % (key, idx))
        if kind in ("multiplechoice", "multiselect"):
            if "choices" not in item:
                raise AWXValidationError("Survey question %d of type %s must specify choices." % (idx, kind))
            choices = item["choices"].splitlines() if isinstance(item["choices"], str) else item["choices"]
            if "default" in item:
                defaults = [d for d in item["default"].splitlines() if d.strip()] \
                    if isinstance(item["default"], str) else item["default"]
                if kind == "multiplechoice" and len(defaults) > 1:
                    raise AWXValidationError("Multiple Choice (Single Select) can only have one default value.")
                if any(d not in choices for d in defaults):
                    raise AWXValidationError("Default choice must be answered from the choices listed.")
        if isinstance(item.get("default"), str) and item["default"].startswith("$encrypted$") and kind != "password":
            raise AWXValidationError("$encrypted$ is a reserved keyword for password question defaults")


def survey_extra_vars(spec, answers):
    """The extra variables of a job launched with these survey answers, as AWX makes them: an answer for each
    question given, the default of each one not given, every answer checked against its question (a blank answer
    of an optional question passes, as AWX lets it)."""
    extra = {}
    for item in spec["spec"]:
        variable = item["variable"]
        if variable in answers:
            value = answers[variable]
        elif "default" in item:
            value = item["default"]
        else:
            continue
        if value == "" or value is None:
            if item["required"]:
                raise AWXValidationError("'%s' value missing" % variable)
            if item["type"] in ("integer", "float"):
                continue  # a blank number is not sent at all
            extra[variable] = ""
            continue
        if item["type"] in ("text", "textarea", "password"):
            if not isinstance(value, str):
                raise AWXValidationError("Value %r for '%s' expected to be a string." % (value, variable))
            if item.get("min") not in ("", None) and len(value) < item["min"]:
                raise AWXValidationError("'%s' value %r is too short" % (variable, value))
            if item.get("max") not in ("", None) and len(value) > item["max"]:
                raise AWXValidationError("'%s' value %r is too long" % (variable, value))
        elif item["type"] == "integer":
            if not isinstance(value, int) or isinstance(value, bool):
                raise AWXValidationError("Value %r for '%s' expected to be an integer." % (value, variable))
            low, high = item.get("min"), item.get("max")
            if low is not None and value < low or high is not None and value > high:
                raise AWXValidationError("'%s' value %r is out of range" % (variable, value))
        elif item["type"] == "multiplechoice":
            choices = item["choices"].splitlines() if isinstance(item["choices"], str) else item["choices"]
            if value not in choices:
                raise AWXValidationError("Value %r for '%s' is not one of %s" % (value, variable, choices))
        extra[variable] = value
    return extra


def job_templates():
    with open(JOB_TEMPLATES_FILE) as handle:
        return yaml.safe_load(handle)


def template(name):
    return next(t for t in job_templates()["job_templates"] if t["playbook"] == name + ".yml")


# ---------------------------------------------------------------------------------------------------------
# A job on an execution node: ansible-runner transmit | worker (in the execution environment) | process


class RunnerJob(object):
    """One job as AWX runs it on an execution node: its private data directory (the project's playbook importing
    one of the collection's, the inventory, env/envvars and env/extravars, the files credentials inject), the runner
    pipeline, and the events it produced."""

    def __init__(self, workdir, name, playbook, inventory, envvars, extravars, check=False):
        self.name = name
        self.source = workdir / (name + "-source")
        self.output = workdir / (name + "-output")
        (self.source / "project").mkdir(parents=True)
        (self.source / "inventory").mkdir()
        (self.source / "env").mkdir()
        # The job template's playbook in the project: the collection's playbook, from the collection in the image.
        (self.source / "project" / "site.yml").write_text(
            "---\n- name: %s\n  ansible.builtin.import_playbook: keycloak_ops.clients.%s\n" % (name, playbook))
        (self.source / "inventory" / "hosts.yml").write_text(yaml.safe_dump(inventory))
        self.write_env("envvars", envvars)
        self.write_env("extravars", extravars)
        self.cmdline = "-vvv" + (" --check" if check else "")
        self.events, self.stdout, self.status = [], "", None

    def write_env(self, filename, data):
        path = self.source / "env" / filename
        path.write_text(yaml.safe_dump(data))
        path.chmod(0o600)

    def inject(self, credential_type, inputs):
        """The credential's environment as the job sees it, made its envvars: file injectors written into the
        private data directory (which transmit streams to the worker), their paths as the container sees them."""
        source = str(self.source)
        env = render_injectors(credential_type, inputs, source)[0]
        envvars = {name: value.replace(source, "/runner", 1) if value.startswith(source) else value
                   for name, value in env.items()}
        self.write_env("envvars", envvars)
        return envvars

    def run(self, runner, image, volumes=None):
        """transmit | worker (in a container of `image`, on the host's network, `volumes` {host path: container
        path} mounted: AWX's "Paths to expose to isolated jobs") | process; fails unless the job succeeded."""
        ident = "%s-%s" % (self.name, uuid.uuid4().hex[:6])
        container = "keycloak-ops-ee-job-" + ident
        transmit = [runner, "transmit", str(self.source), "-p", "site.yml", "--ident", ident,
                    "--cmdline=" + self.cmdline]
        mounts = [arg for host, inside in (volumes or {}).items() for arg in ("-v", "%s:%s" % (host, inside))]
        worker = ["podman", "run", "--rm", "-i", "--network=host", "--name", container, *mounts, image,
                  "ansible-runner", "worker", "--private-data-dir=/runner"]
        process = [runner, "process", str(self.output)]
        pipeline = " | ".join(" ".join(shlex.quote(a) for a in cmd) for cmd in (transmit, worker, process))
        try:
            completed = subprocess.run(["bash", "-o", "pipefail", "-c", pipeline], capture_output=True, text=True,
                                       timeout=600, check=False)
        finally:
            subprocess.run(["podman", "rm", "-f", "--ignore", container], capture_output=True, check=False)
        artifacts = self.output / "artifacts"  # process writes them without the ident
        self.events = [json.loads(open(p).read()) for p in sorted(glob.glob(str(artifacts / "job_events" / "*.json")))]
        self.stdout = (artifacts / "stdout").read_text() if (artifacts / "stdout").exists() else ""
        self.status = (artifacts / "status").read_text().strip() if (artifacts / "status").exists() else None
        assert completed.returncode == 0 and self.status == "successful", (
            "job %s: %s\n%s\n%s" % (ident, self.status, completed.stderr[-3000:], self.stdout[-4000:]))
        return self

    @property
    def stats(self):
        return next(e["event_data"] for e in self.events if e["event"] == "playbook_on_stats")

    @property
    def changed(self):
        return sum(self.stats.get("changed", {}).values())

    def leaked(self, secrets):
        """The secrets found in any event (its stdout and event_data) or in the job's stdout."""
        texts = [json.dumps(e) for e in self.events] + [self.stdout]
        return sorted(i for i, secret in enumerate(secrets) if any(secret in text for text in texts))
