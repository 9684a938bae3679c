"""The clients_of_kind filter: the inventory's client declarations of one kind, ready for a client module."""
import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.keycloak_ops.clients.plugins.filter.clients_of_kind import clients_of_kind

DECLARED = [dict(client_id="worker"), dict(client_id="spa", kind="public", preset="spa"),
            dict(client_id="web", kind="confidential", preset="web")]


def test_a_declaration_without_kind_is_confidential_and_the_kind_key_is_dropped():
    assert clients_of_kind(DECLARED, "confidential") == [dict(client_id="worker"), dict(client_id="web", preset="web")]
    assert clients_of_kind(DECLARED, "public") == [dict(client_id="spa", preset="spa")]
    assert clients_of_kind(None, "public") == []


@pytest.mark.parametrize("declarations,message", [
    (["worker"], r"clients\[0\]: expected a dict of client options, got str"),
    ([dict(client_id="x", kind="bearer")], r"clients\[0\] \(client 'x'\): kind 'bearer' is not one of confidential, public"),
])
def test_bad_declarations_name_the_item(declarations, message):
    with pytest.raises(AnsibleFilterError, match=message):
        clients_of_kind(declarations, "confidential")
