"""Stand-ins shared by the tests of the client write path: an admin API that answers undos, a journal of writes."""
from ansible_collections.keycloak_ops.clients.plugins.module_utils._clients.journal import Journal
from ansible_collections.keycloak_ops.clients.plugins.module_utils._core.errors import KeycloakOpsError


class UndoAPI:
    """Answers every undo; refuses those whose path is in `refused`."""

    def __init__(self, refused=()):
        self.sent, self.refused, self.expected = [], refused, []

    def request(self, method, path, body=None, expected=None):
        self.sent.append((method, path))
        self.expected.append(expected)
        if path in self.refused:
            raise KeycloakOpsError("Keycloak answered HTTP 400")
        return 204, None, {}


def journal_of(api, *writes):
    journal = Journal(api)
    for what, undo, final in writes:
        journal.write(what, lambda: (201, None, {}), undo=undo, final=final)
    return journal
