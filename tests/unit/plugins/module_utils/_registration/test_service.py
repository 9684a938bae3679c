"""The Client Registration Service calls with their transport stood in (RegistrationService._send): the URL of each
call, answers whose secrets are hidden at once, refusals as one line, and a lost answer never sent again."""
import pytest

from ansible_collections.keycloak_ops.clients.plugins.module_utils._core.errors import OutcomeUnknown
from ansible_collections.keycloak_ops.clients.plugins.module_utils._registration.refusals import (
    RegistrationError, StaleToken,
)
from ansible_collections.keycloak_ops.clients.plugins.module_utils._registration.service import (
    LostAnswer, RegistrationService,
)

URL = "https://sso.example.com/auth"


class Transport(object):
    """Answers each request with the next of `answers` (a (status, body) or an exception), recording it."""

    def __init__(self, *answers):
        self.answers, self.sent = list(answers), []

    def __call__(self, method, url, token, body, content_type=None):
        self.sent.append((method, url, token, body, content_type))
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def service(*answers, provider="default"):
    hidden = []
    calls = RegistrationService(dict(auth_keycloak_url=URL), "my realm", provider, hide=hidden.extend)
    calls._send = Transport(*answers)
    return calls, hidden


def test_each_call_addresses_the_provider_and_the_quoted_client():
    calls, _hidden = service((200, {"clientId": "a/b"}), (200, {}), (204, None), (200, {"realm": "my realm"}))
    calls.read("rat", "a/b", "stored")
    calls.update("rat", "a/b", {"clientId": "a/b"}, "stored")
    calls.delete("rat", "a/b", "stored")
    calls.install("rat", "a/b", "stored")
    base = URL + "/realms/my%20realm/clients-registrations/"
    assert [(m, u) for m, u, _t, _b, _c in calls._send.sent] == [
        ("GET", base + "default/a%2Fb"), ("PUT", base + "default/a%2Fb"), ("DELETE", base + "default/a%2Fb"),
        ("GET", base + "install/a%2Fb")]
    assert {token for _m, _u, token, _b, _c in calls._send.sent} == {"rat"}


def test_the_secrets_of_an_answer_are_hidden_as_soon_as_it_arrives():
    calls, hidden = service((201, {"clientId": "a", "secret": "client-secret", "registrationAccessToken": "new-rat"}))
    assert calls.create("iat", {"clientId": "a"})["secret"] == "client-secret"
    assert set(hidden) == {"client-secret", "new-rat"}


def test_a_saml_client_is_created_from_its_descriptor_and_changed_through_the_default_provider():
    calls, _hidden = service((201, {"clientId": "urn:sp"}), (200, {}), provider="saml2-entity-descriptor")
    calls.create_from_entity_descriptor("iat", "<EntityDescriptor/>")
    calls.update("rat", "urn:sp", {}, "stored")
    (create, update) = calls._send.sent
    assert create[1].endswith("/saml2-entity-descriptor") and create[3:] == ("<EntityDescriptor/>", "application/xml")
    assert "/default/urn%3Asp" in update[1]


def test_a_refused_token_is_stale_for_a_read_and_a_refusal_for_a_create():
    calls, _hidden = service((401, {"error": "invalid_token", "error_description": "Not authorized to view client."}),
                             (401, {"error": "invalid_token", "error_description": "Failed decode token"}))
    with pytest.raises(StaleToken, match="no longer valid"):
        calls.read("rat", "a", "stored in /etc/a.json")
    with pytest.raises(RegistrationError) as refused:
        calls.create("iat", {"clientId": "a"})
    assert not isinstance(refused.value, StaleToken) and "\n" not in str(refused.value)


def test_another_answer_names_the_status_and_the_client():
    calls, _hidden = service((500, {"error": "unknown_error"}))
    with pytest.raises(RegistrationError, match="^Keycloak answered HTTP 500 to the registration update of client 'a': "):
        calls.update("rat", "a", {"clientId": "a"}, "stored")


@pytest.mark.parametrize("kind,advice", [("create", "an admin checks whether client 'a' exists in realm 'my realm'"),
                                         ("update", "the stored registration access token may be stale now"),
                                         ("delete", "run again: a client that is gone is reported absent")])
def test_a_lost_answer_is_an_unknown_outcome_with_what_to_do(kind, advice):
    calls, _hidden = service(LostAnswer("no answer within 10 seconds (connection_timeout)"))
    with pytest.raises(OutcomeUnknown) as lost:
        if kind == "create":
            calls.create("iat", {"clientId": "a"})
        elif kind == "update":
            calls.update("rat", "a", {"clientId": "a"}, "stored")
        else:
            calls.delete("rat", "a", "stored")
    assert "the outcome of the registration %s of client 'a' is unknown" % kind in str(lost.value)
    assert "so it was not sent again; " + advice in str(lost.value) and len(calls._send.sent) == 1
