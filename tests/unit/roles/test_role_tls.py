"""Every role task that reaches Keycloak does so with the TLS settings of the connection options.

The collection's modules and its lookup take ca_path, client_cert, client_key and validate_certs from their options
or from KEYCLOAK_CA_PATH, KEYCLOAK_CLIENT_CERT, KEYCLOAK_CLIENT_KEY and KEYCLOAK_VALIDATE_CERTS, so a task that
runs them on the controller (where those variables are set) needs to pass nothing. Everything else is checked here:

- a module of the collection that runs on the managed hosts does not see the controller's environment: it must
  pass all four options, as it must pass the URL;
- ansible.builtin.uri / get_url (and any other HTTP module) must pass ca_path, client_cert, client_key and
  validate_certs, unless it is listed below with the reason it does not reach Keycloak;
- no task or template switches verification off with a literal (validate_certs false/no).
"""
import glob
import os
import re

import pytest
import yaml

from tests.collection_path import REPO

TLS_OPTIONS = ("ca_path", "client_cert", "client_key", "validate_certs")
HTTP_MODULES = {"uri", "get_url", "ansible.builtin.uri", "ansible.builtin.get_url", "ansible.legacy.uri",
                "ansible.legacy.get_url"}
COLLECTION = "keycloak_ops.clients."
# Keys of a task that are not its module.
TASK_KEYWORDS = {
    "name", "when", "loop", "loop_control", "register", "vars", "delegate_to", "run_once", "no_log", "until",
    "retries", "delay", "changed_when", "failed_when", "ignore_errors", "become", "become_user", "tags", "notify",
    "check_mode", "diff", "args", "environment", "block", "rescue", "always", "listen", "with_items",
    "delegate_facts", "any_errors_fatal", "throttle", "timeout", "local_action", "module_defaults",
}
# HTTP tasks that do not talk to the Keycloak the collection manages, each with the reason.
NOT_KEYCLOAK = {
    # The local Keycloak the keycloak_dev role starts itself: plain http on loopback, its own management port.
    ("roles/keycloak_dev/tasks/main.yml", "ansible.builtin.uri"): "the role's own local start-dev server",
    # The distribution download from Maven Central: public CAs, not the managed Keycloak.
    ("roles/keycloak_dev/tasks/main.yml", "ansible.builtin.get_url"): "Maven Central, not Keycloak",
    # The consumer's own health URL, declared by the user per host.
    ("roles/rotate/tasks/consumer_checks.yml", "ansible.builtin.uri"): "the consumer application, not Keycloak",
}


def walk(tasks):
    for task in tasks or []:
        if not isinstance(task, dict):
            continue
        yield task
        for key in ("block", "rescue", "always"):
            yield from walk(task.get(key))


def module_of(task):
    modules = [key for key in task if key not in TASK_KEYWORDS]
    assert len(modules) <= 1, "cannot tell the module of %r" % task.get("name")
    return modules[0] if modules else None


def role_tasks():
    for path in sorted(glob.glob(os.path.join(REPO, "roles", "*", "tasks", "*.yml"))):
        with open(path, encoding="utf-8") as handle:
            for task in walk(yaml.safe_load(handle)):
                yield os.path.relpath(path, REPO), task


def test_the_tasks_are_found():
    found = {(path, module_of(task)) for path, task in role_tasks()}
    assert ("roles/provision/tasks/main.yml", "keycloak_ops.clients.confidential_client") in found
    assert ("roles/self_register/tasks/main.yml", "keycloak_ops.clients.client_registration") in found
    assert set(NOT_KEYCLOAK) <= found, "an exemption names a task that no longer exists"


@pytest.mark.parametrize("path,task", list(role_tasks()), ids=lambda v: v if isinstance(v, str) else v.get("name"))
def test_no_role_task_reaches_keycloak_without_the_tls_settings(path, task):
    module = module_of(task)
    if module is None:
        return
    args = task[module] if isinstance(task[module], dict) else {}
    if module.startswith(COLLECTION):
        on_controller = task.get("delegate_to") in ("localhost", "127.0.0.1") or "auth_keycloak_url" not in args
        if not on_controller:
            missing = [option for option in TLS_OPTIONS if option not in args]
            assert not missing, "%s: %r runs on the hosts and passes no %s" % (path, task.get("name"), missing)
    elif module in HTTP_MODULES:
        if (path, module) in NOT_KEYCLOAK:
            return
        missing = [option for option in TLS_OPTIONS if option not in args]
        assert not missing, "%s: %r calls %s without %s" % (path, task.get("name"), module, missing)


def test_no_role_switches_verification_off():
    for path in glob.glob(os.path.join(REPO, "roles", "*", "*", "*.yml")):
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
        assert not re.search(r"validate_certs\s*[:=]\s*['\"]?(false|no|False)\b", text), path
