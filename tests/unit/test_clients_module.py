"""ClientsModule registers the secrets inside clients items before AnsibleModule logs its invocation."""
import contextlib
import json

import pytest
from ansible.module_utils import basic

try:
    from ansible.module_utils.testing import patch_module_args
except ImportError:  # ansible-core 2.18 has no helper: AnsibleModule reads its arguments from basic._ANSIBLE_ARGS
    @contextlib.contextmanager
    def patch_module_args(args):
        saved = basic._ANSIBLE_ARGS
        basic._ANSIBLE_ARGS = json.dumps({"ANSIBLE_MODULE_ARGS": args}).encode()
        try:
            yield
        finally:
            basic._ANSIBLE_ARGS = saved

from ansible_collections.keycloak_ops.clients.plugins.module_utils._client_module import ClientsModule, _after_failure
from ansible_collections.keycloak_ops.clients.plugins.module_utils._client_options import (
    CONFIDENTIAL_OPTIONS, module_argument_spec,
)
from ansible_collections.keycloak_ops.clients.plugins.module_utils._connection import (
    KeycloakOpsError, OutcomeUnknown, Unavailable, keycloak_argument_spec,
)


@pytest.fixture
def logged(monkeypatch):
    messages = []
    monkeypatch.setattr(basic.AnsibleModule, "log", lambda self, msg, log_args=None: messages.append((msg, log_args)))
    return messages


def make_module(args):
    spec = keycloak_argument_spec()
    spec.update(module_argument_spec(CONFIDENTIAL_OPTIONS))
    with patch_module_args(args):
        return ClientsModule(CONFIDENTIAL_OPTIONS, argument_spec=spec, supports_check_mode=True)


def test_secrets_of_items_are_not_in_the_invocation_log(logged):
    module = make_module({
        "auth_keycloak_url": "http://127.0.0.1:1", "realm": "r",
        "clients": [{"client_id": "a", "secret": "tiny-pw"}, "b", {"client_id": "c", "secret": "given-secret-99"}],
    })
    assert {"tiny-pw", "given-secret-99"} <= module.no_log_values
    assert logged, "AnsibleModule logged its invocation"
    for message, log_args in logged:
        assert "tiny-pw" not in message and "given-secret-99" not in message
        assert "tiny-pw" not in repr(log_args) and "given-secret-99" not in repr(log_args)


class FakeReconciler:
    def __init__(self, undo):
        self.undo, self.rolled_back = list(undo), False

    def rollback(self):
        self.rolled_back, self.undo = True, []
        return []


def test_a_refusal_rolls_the_task_back():
    reconciler = FakeReconciler(["created a"])
    tail = _after_failure(reconciler, KeycloakOpsError("Keycloak answered HTTP 400"), [{"client_id": "a", "changed": True}])
    assert reconciler.rolled_back and "rolled back, nothing is changed" in tail


def test_an_unavailable_server_rolls_nothing_back_and_names_what_changed():
    for exc in (Unavailable("Keycloak answered HTTP 502"), OutcomeUnknown("the outcome of POST ... is unknown")):
        reconciler = FakeReconciler(["created a"])
        tail = _after_failure(reconciler, exc, [{"client_id": "a", "changed": True}, None])
        assert not reconciler.rolled_back
        assert "nothing rolled back" in tail and "before: a;" in tail and "run the task again" in tail
