"""KeycloakModule registers the secrets inside clients items before AnsibleModule logs its invocation or fails."""
import json

import pytest
from ansible.module_utils import basic

from ansible_collections.keycloak_ops.clients.plugins.module_utils._clients.options import CONFIDENTIAL_OPTIONS
from ansible_collections.keycloak_ops.clients.plugins.module_utils._core.errors import KeycloakOpsError
from ansible_collections.keycloak_ops.clients.plugins.module_utils._core.module import MIN_SCRUBBED_LENGTH, KeycloakModule
from tests.unit.module_runs import patch_module_args


@pytest.fixture
def logged(monkeypatch):
    messages = []
    monkeypatch.setattr(basic.AnsibleModule, "log", lambda self, msg, log_args=None: messages.append((msg, log_args)))
    return messages


def make_module(args):
    with patch_module_args(args):
        return KeycloakModule(item_options=CONFIDENTIAL_OPTIONS)


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


def test_a_failing_validation_shows_no_secret_of_an_item(capsys):
    """AnsibleModule fails in __init__ on a bad top-level option; at -vvv the failure carries the invocation."""
    with pytest.raises(SystemExit):
        make_module({
            "_ansible_inject_invocation": True,
            "auth_keycloak_url": "http://127.0.0.1:1", "realm": "r", "no_such_option": 1,
            "clients": [{"client_id": "a", "secret": "tiny-pw"}],
        })
    failure = json.loads(capsys.readouterr().out)
    assert failure["failed"] and "no_such_option" in failure["msg"]
    assert failure["invocation"]["module_args"]["clients"], "the failure shows the items"
    assert "tiny-pw" not in json.dumps(failure)


def test_hide_keeps_short_found_values_visible_and_declared_ones_hidden():
    module = make_module({"auth_keycloak_url": "http://127.0.0.1:1", "client_id": "a"})
    module.hide(["short", "x" * MIN_SCRUBBED_LENGTH, None, 42])
    module.hide(["pw"], declared=True)
    assert "x" * MIN_SCRUBBED_LENGTH in module.no_log_values and "pw" in module.no_log_values
    assert "short" not in module.no_log_values


def test_failing_turns_a_one_line_error_into_the_failure_message(capsys):
    with patch_module_args({"auth_keycloak_url": "http://127.0.0.1:1", "client_id": "a"}):
        module = KeycloakModule(item_options=CONFIDENTIAL_OPTIONS)
        with pytest.raises(SystemExit):
            with module.failing(module.label(0, {"client_id": "a"}), "; nothing was changed"):
                raise KeycloakOpsError("Keycloak answered HTTP 400")
    assert json.loads(capsys.readouterr().out)["msg"] == "client 'a': Keycloak answered HTTP 400; nothing was changed"


@pytest.mark.parametrize("many", [False, True])
def test_exit_items_gives_one_or_many_clients_one_shape(capsys, many):
    args = {"auth_keycloak_url": "http://127.0.0.1:1", "_ansible_diff": True}
    args.update({"clients": ["a", "b"]} if many else {"client_id": "a"})
    results = [dict(client_id="a", changed=False, diff=dict(before=1, after=1)),
               dict(client_id="b", changed=True, diff=dict(before=1, after=2))][:2 if many else 1]
    with patch_module_args(args):
        module = KeycloakModule(item_options=CONFIDENTIAL_OPTIONS)
        with pytest.raises(SystemExit):
            module.exit_items(results)
    output = json.loads(capsys.readouterr().out)
    assert output["changed"] is many and [r["client_id"] for r in output["clients"]] == ["a", "b"][:len(results)]
    if many:
        assert output["diff"] == [dict(before=1, after=2)] and "client_id" not in output
    else:
        assert output["diff"] == dict(before=1, after=1) and output["client_id"] == "a"
