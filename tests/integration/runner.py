"""Run real ansible commands against the real Keycloak of the harness, and read their results."""
import json
import os
import subprocess
import sys
import tempfile

from tests.collection_path import collections_root

RESULT_MARKER = "localhost | "
# The oldest supported ansible-core (Python 3.11), bootstrapped by scripts/test beside the newest.
OLDEST_VENV = os.path.join(os.environ.get("KEYCLOAK_OPS_CACHE", os.path.expanduser("~/.cache/keycloak_ops")),
                           "venv-oldest")


def oldest_python():
    """The oldest ansible-core's interpreter; a failure under CI where it must exist, else a skip."""
    import pytest  # pylint: disable=import-outside-toplevel

    python = os.path.join(OLDEST_VENV, "bin", "python")
    if not os.path.exists(python):
        if os.environ.get("CI"):
            pytest.fail("%s is missing: scripts/test bootstraps it (--with-oldest)" % OLDEST_VENV)
        pytest.skip("no %s (scripts/test bootstraps it)" % OLDEST_VENV)
    return python


def ansible_env(server, **extra):
    """Environment of an ansible run: the collection, the venv's Python, and KEYCLOAK_* admin credentials."""
    env = dict(os.environ)
    for name in list(env):
        if name.startswith("KEYCLOAK_"):
            del env[name]
    env.update(
        ANSIBLE_COLLECTIONS_PATH=collections_root(),
        ANSIBLE_PYTHON_INTERPRETER=sys.executable,
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_FORCE_COLOR="0",
        ANSIBLE_RETRY_FILES_ENABLED="0",
        ANSIBLE_LOCALHOST_WARNING="0",
        ANSIBLE_INVENTORY_UNPARSED_WARNING="0",
        ANSIBLE_DEPRECATION_WARNINGS="0",
        ANSIBLE_HOME=os.path.join(tempfile.gettempdir(), "keycloak_ops-ansible-home"),
    )
    if server is not None:
        env.update(KEYCLOAK_URL=server.url, KEYCLOAK_USER=server.admin_user,
                   KEYCLOAK_PASSWORD=server.admin_password, KEYCLOAK_REALM=server.admin_realm)
    env.update(extra)
    return env


class AnsibleRun(object):
    def __init__(self, completed):
        self.rc = completed.returncode
        self.output = completed.stdout + completed.stderr

    @property
    def result(self):
        """The JSON result of an ad-hoc module run (minimal callback)."""
        start = self.output.rfind(RESULT_MARKER)
        assert start >= 0, self.output
        brace = self.output.index("{", start)
        return json.JSONDecoder().raw_decode(self.output[brace:])[0]

    @property
    def status(self):
        start = self.output.rfind(RESULT_MARKER) + len(RESULT_MARKER)
        return self.output[start:].split(" ", 1)[0]


def run_module(module, args, env, check=False, diff=False, verbosity=0):
    """ansible localhost -m keycloak_ops.clients.<module> -a <json args>."""
    command = ["ansible", "localhost", "-c", "local", "-i", "localhost,", "-m", "keycloak_ops.clients." + module,
               "-a", json.dumps(args)]
    env = dict(env, ANSIBLE_STDOUT_CALLBACK="minimal", ANSIBLE_LOAD_CALLBACK_PLUGINS="1")
    return _run(command, env, check, diff, verbosity)


def run_playbook(playbook, env, check=False, diff=False, verbosity=0, extra_vars=None, inventory="localhost,",
                 python=None):
    """ansible-playbook of the test venv, or of the venv of `python` (for example oldest_python()), whose
    interpreter then runs the modules too."""
    command = ["ansible-playbook", "-i", inventory, playbook]
    if extra_vars:
        command += ["-e", json.dumps(extra_vars)]
    if python:
        env = dict(env, ANSIBLE_PYTHON_INTERPRETER=python)
    return _run(command, env, check, diff, verbosity, python)


def _run(command, env, check, diff, verbosity, python=None):
    command[0] = os.path.join(os.path.dirname(python or sys.executable), command[0])
    if check:
        command.append("--check")
    if diff:
        command.append("--diff")
    if verbosity:
        command.append("-" + "v" * verbosity)
    completed = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600, check=False)
    return AnsibleRun(completed)
