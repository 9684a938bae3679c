"""The undo journal of a client task: what stands after a failure, undone newest first, refusals leave no entry."""
import pytest

from ansible_collections.keycloak_ops.clients.plugins.module_utils._clients.journal import NOT_WRITTEN, Journal
from ansible_collections.keycloak_ops.clients.plugins.module_utils._core.errors import KeycloakOpsError, OutcomeUnknown
from tests.unit.plugins.module_utils._clients.stubs import UndoAPI, journal_of


def test_a_refused_write_leaves_no_entry():
    journal = Journal(UndoAPI())

    def refused():
        raise KeycloakOpsError("HTTP 400")

    with pytest.raises(KeycloakOpsError):
        journal.write("created client a", refused)
    assert not journal and journal.stands() == []


def test_rollback_undoes_newest_first_and_delete_meeting_404_counts_as_undone():
    api = UndoAPI()
    journal = journal_of(api, ("created client a", ("DELETE", "clients/a", None), None),
                         ("updated client b", ("PUT", "clients/b", {"id": "b"}), None))
    assert journal and journal.stands() == ["created client a", "updated client b"]
    assert journal.rollback() == [] and not journal
    assert api.sent == [("PUT", "clients/b"), ("DELETE", "clients/a")]
    assert api.expected == [(200, 201, 204), (200, 201, 204, 404)], "only a delete finds its work done in a 404"


def test_an_undo_learned_from_the_answer_and_one_the_answer_cannot_give():
    journal = Journal(UndoAPI())
    journal.write("created client a", lambda: (201, None, {"Location": ".../clients/uuid-a"}),
                  undo=lambda answer: ("DELETE", "clients/" + answer[2]["Location"].rsplit("/", 1)[-1], None))
    journal.write("created client b", lambda: (201, None, {}), undo=lambda answer: answer[2]["Location"])
    assert journal.stands() == ["created client a",
                                "created client b (its answer did not say how to undo it; fix by hand)"]
    assert journal.rollback() == ["created client b (its answer did not say how to undo it; fix by hand)"]


def test_a_write_that_was_not_written_leaves_no_entry():
    journal = Journal(UndoAPI())
    journal.write("created client a", lambda: (409, None, {}), undo=lambda answer: NOT_WRITTEN)
    assert not journal and journal.stands() == []


def test_a_lost_answer_may_stand_and_is_never_undone():
    api = UndoAPI()
    journal = Journal(api)

    def lost():
        raise OutcomeUnknown("the outcome of POST .../clients is unknown")

    with pytest.raises(OutcomeUnknown):
        journal.write("created client a", lost, undo=("DELETE", "clients/a", None))
    assert journal and journal.may_stand() == ["created client a"] and journal.stands() == []
    journal.rollback()
    assert api.sent == []


def test_each_write_is_named_once_however_often_it_was_sent():
    journal = journal_of(UndoAPI(), ("updated client a", None, "cannot be undone"),
                         ("updated client a", None, "cannot be undone"))
    assert journal.stands() == ["updated client a (cannot be undone)"]
