"""The run of confidential_client and public_client: what a failure says stands, rolled back or not."""
import pytest

from ansible_collections.keycloak_ops.clients.plugins.module_utils._clients.journal import Journal
from ansible_collections.keycloak_ops.clients.plugins.module_utils._clients.run import ClientTask, after_failure
from ansible_collections.keycloak_ops.clients.plugins.module_utils._core.errors import KeycloakOpsError, OutcomeUnknown, Unavailable
from tests.unit.plugins.module_utils._clients.stubs import UndoAPI, journal_of


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
