"""KeycloakModule registers the secrets inside clients items before AnsibleModule logs its invocation or fails."""
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

from ansible_collections.keycloak_ops.clients.plugins.module_utils._clients.journal import Journal
from ansible_collections.keycloak_ops.clients.plugins.module_utils._clients.run import ClientTask, after_failure
from ansible_collections.keycloak_ops.clients.plugins.module_utils._clients.options import CONFIDENTIAL_OPTIONS
from ansible_collections.keycloak_ops.clients.plugins.module_utils._core.errors import (
    KeycloakOpsError, OutcomeUnknown, Unavailable,
)
from ansible_collections.keycloak_ops.clients.plugins.module_utils._core.module import MIN_SCRUBBED_LENGTH, KeycloakModule


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


class UndoAPI:
    """Answers every undo; refuses those whose path is in `refused`."""

    def __init__(self, refused=()):
        self.sent, self.refused = [], refused

    def request(self, method, path, body=None, expected=None):
        self.sent.append((method, path))
        if path in self.refused:
            raise KeycloakOpsError("Keycloak answered HTTP 400")
        return 204, None, {}


def journal_of(api, *writes):
    journal = Journal(api)
    for what, undo, final in writes:
        journal.write(what, lambda: (201, None, {}), undo=undo, final=final)
    return journal


def test_a_refusal_rolls_the_task_back():
    api = UndoAPI()
    journal = journal_of(api, ("created client a", ("DELETE", "clients/a", None), None))
    tail, outcome = after_failure(journal, KeycloakOpsError("Keycloak answered HTTP 400"))
    assert api.sent == [("DELETE", "clients/a")] and "rolled back, nothing is changed" in tail
    assert outcome == dict(stands=[])


def test_a_refusal_before_any_write_says_nothing_was_changed():
    assert after_failure(Journal(UndoAPI()), KeycloakOpsError("HTTP 400")) == ("nothing was changed", dict(stands=[]))


def test_what_cannot_be_undone_or_fails_to_be_is_named_as_standing():
    api = UndoAPI(refused=("clients/b",))
    journal = journal_of(api, ("created client a", ("DELETE", "clients/a", None), None),
                         ("updated client b", ("PUT", "clients/b", {}), None),
                         ("deleted client c", None, "cannot be undone"))
    tail, outcome = after_failure(journal, KeycloakOpsError("HTTP 400"))
    assert outcome["stands"] == ["updated client b (undoing it failed; fix by hand)", "deleted client c (cannot be undone)"]
    assert tail == "this task's other writes were rolled back; these stand: " + ", ".join(outcome["stands"])
    assert ("DELETE", "clients/a") in api.sent


def test_an_unavailable_server_rolls_nothing_back_and_names_what_stands_and_what_may():
    for exc in (Unavailable("Keycloak answered HTTP 502"), OutcomeUnknown("the outcome of POST ... is unknown")):
        api = UndoAPI()
        journal = journal_of(api, ("created client a", ("DELETE", "clients/a", None), None))

        def lost(exc=exc):
            raise exc

        with pytest.raises(Unavailable):
            journal.write("created client b", lost, undo=None)
        tail, outcome = after_failure(journal, exc)
        assert api.sent == [], "nothing rolled back"
        assert outcome == dict(stands=["created client a"], may_stand=["created client b"])
        assert "nothing rolled back" in tail and "stand: created client a;" in tail and "unknown: created client b;" in tail
        assert "run the task again" in tail


def test_a_refused_write_leaves_no_entry():
    journal = Journal(UndoAPI())

    def refused():
        raise KeycloakOpsError("HTTP 400")

    with pytest.raises(KeycloakOpsError):
        journal.write("created client a", refused)
    assert not journal and journal.stands() == []


class Failed(Exception):
    pass


class FailingModule:
    many = False

    def fail_json(self, **result):
        raise Failed(result)


def test_an_unexpected_error_in_a_worker_is_one_line_and_rolled_back():
    api = UndoAPI()
    task = ClientTask.__new__(ClientTask)
    task.module, task.journal = FailingModule(), journal_of(api, ("created client a", ("DELETE", "clients/a", None), None))

    def work(_index):
        raise KeyError("bug")

    with pytest.raises(Failed) as failed:
        task._run([{"options": {"client_id": "b"}}], work, [0])
    result = failed.value.args[0]
    assert result["msg"] == ("client 'b': unexpected error in the collection (KeyError: 'bug'); the task was stopped, "
                             "please report it; this task's earlier writes were rolled back, nothing is changed")
    assert result["stands"] == [] and api.sent == [("DELETE", "clients/a")]
