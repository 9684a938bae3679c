"""The modules that run on the managed hosts, client_registration and secret_file, run on the oldest target Python
(tests/config.yml: 3.8), driven by the oldest supported ansible-core (2.18, the newest that still manages 3.8).

Sanity compiles and imports them there (scripts/sanity.sh --oldest-target); these tests run them: a registration
with an initial access token and an owner-only file, each twice (the second run changes nothing).
"""
import json
import os
import re
import stat
import subprocess

import pytest

from tests.integration.runner import AnsibleRun, ansible_env, run_module

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OLDEST_VENV = os.path.join(os.environ.get("KEYCLOAK_OPS_CACHE", os.path.expanduser("~/.cache/keycloak_ops")),
                           "venv-oldest")


def unavailable(reason):
    if os.environ.get("CI") or os.environ.get("KEYCLOAK_REQUIRED") == "1":
        pytest.fail(reason + ": scripts/test bootstraps it")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def target_python():
    with open(os.path.join(REPO, "tests", "config.yml")) as handle:
        version = re.search(r"python_requires: *'>=([0-9.]+)'", handle.read()).group(1)
    # The one finder of interpreters (pyenv's, then pythonX.Y on PATH), as the sanity stage finds it.
    found = subprocess.run(["bash", "-c", 'source scripts/bootstrap.sh && find_python "$1"', "find_python", version],
                           cwd=REPO, capture_output=True, text=True, timeout=60, check=False)
    if found.returncode != 0:
        unavailable("no Python %s" % version)
    if not os.path.exists(os.path.join(OLDEST_VENV, "bin", "ansible")):
        unavailable("no %s" % OLDEST_VENV)
    return version, found.stdout.strip()


def run_on_target(python, module, args, env, verbosity=0):
    command = [os.path.join(OLDEST_VENV, "bin", "ansible"), "localhost", "-c", "local", "-i", "localhost,",
               "-m", "keycloak_ops.clients." + module, "-a", json.dumps(args)]
    if verbosity:
        command.append("-" + "v" * verbosity)
    env = dict(env, ANSIBLE_PYTHON_INTERPRETER=python, ANSIBLE_STDOUT_CALLBACK="minimal",
               ANSIBLE_LOAD_CALLBACK_PLUGINS="1")
    return AnsibleRun(subprocess.run(command, env=env, capture_output=True, text=True, timeout=600, check=False))


def test_client_registration_on_the_oldest_target_python(keycloak, realm, oracle, target_python, tmp_path):
    version, python = target_python
    host_env = ansible_env(None, KEYCLOAK_URL=keycloak.url)  # a host has the URL and a token, no admin
    # Minted on the controller, as the self_register role does (python-keycloak 7.1 expects the 200 of Keycloak < 26.7).
    minted = run_module("initial_access_token", dict(realm=realm, state="present", count=1, expiration="10m"),
                        ansible_env(keycloak))
    assert minted.rc == 0, minted.output[-3000:]
    token = minted.result["token"]
    args = dict(realm=realm, client_id="target-%s" % version.replace(".", ""), credentials_file=str(tmp_path / "c.json"),
                initial_access_token=token, metadata={"publicClient": False, "serviceAccountsEnabled": True,
                                                      "standardFlowEnabled": False})
    first = run_on_target(python, "client_registration", args, host_env, verbosity=3)
    assert first.rc == 0 and first.result["changed"] is True, first.output[-3000:]
    assert python in first.output  # the module ran under that interpreter (the -vvv EXEC line names it)
    assert token not in first.output
    assert stat.S_IMODE(os.stat(str(tmp_path / "c.json")).st_mode) == 0o600
    assert oracle.get_client_id(args["client_id"])
    again = run_on_target(python, "client_registration", dict(args, initial_access_token=None), host_env)
    assert again.rc == 0 and again.result["changed"] is False, again.output[-3000:]


def test_secret_file_on_the_oldest_target_python(target_python, tmp_path):
    python = target_python[1]
    secret = "target-python-secret-0123456789"
    args = dict(path=str(tmp_path / "oidc.env"), content="CLIENT_SECRET=%s\n" % secret, secrets=[secret], mode="0600")
    first = run_on_target(python, "secret_file", args, ansible_env(None), verbosity=3)
    assert first.rc == 0 and first.result["changed"] is True, first.output[-3000:]
    assert python in first.output and secret not in first.output
    assert (tmp_path / "oidc.env").read_text() == args["content"]
    assert stat.S_IMODE(os.stat(str(tmp_path / "oidc.env")).st_mode) == 0o600
    again = run_on_target(python, "secret_file", args, ansible_env(None))
    assert again.rc == 0 and again.result["changed"] is False, again.output[-3000:]
