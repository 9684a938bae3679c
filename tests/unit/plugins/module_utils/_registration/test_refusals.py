"""Refusals of the Client Registration Service in one line a person can act on."""
import pytest

from ansible_collections.keycloak_ops.clients.plugins.module_utils._core.tokens import fingerprint
from ansible_collections.keycloak_ops.clients.plugins.module_utils._registration.refusals import iat_refusal, policy_refusal, rat_refusal, refusal_message
from tests.unit.plugins.module_utils.tokens import NOW, jwt

ISS = "http://kc/realms/apps"


@pytest.mark.parametrize("description,claims,expected", [
    ("No remaining count on initial access token", {}, "is used up"),
    ("Initial Access Token not found", {}, "was revoked"),
    ("Failed decode token", dict(typ="InitialAccessToken", iss=ISS, exp=NOW - 30), "expired at 2026-11-23T11:46:27Z (30 seconds ago)"),
    ("Failed decode token", dict(typ="InitialAccessToken", iss="http://kc/realms/other", exp=NOW + 30),
     "was minted for realm 'other', not realm 'apps'"),
    ("Failed decode token", dict(typ="RegistrationAccessToken", iss=ISS), "not an initial access token but a RegistrationAccessToken"),
    ("Failed decode token", dict(typ="InitialAccessToken", iss=ISS, exp=NOW + 30), "not a token of this server"),
])
def test_iat_refusals_say_which(description, claims, expected):
    token = jwt(**claims)
    message = iat_refusal(description, token, "apps", now=NOW)
    assert expected in message and fingerprint(token) in message and token not in message
    assert "initial_access_token" in message or "initial access token" in message


def test_rat_refusals():
    stale = rat_refusal("Not authorized to view client. Not valid token or client credentials provided.", "app1",
                        "stored in /etc/app1.json")
    assert "stored in /etc/app1.json is no longer valid for client 'app1'" in stale
    assert "registration_access_token" in stale and "Regenerate" in stale
    assert "can only create" in rat_refusal("Not initial access token allowed", "app1", "given")


def test_policy_refusals_name_the_policy_and_the_fix():
    text = ("Policy 'Allowed Protocol Mapper Types' rejected request to client-registration service. "
            "Details: ProtocolMapper type not allowed")
    message = policy_refusal(text)
    assert "policy 'Allowed Protocol Mapper Types' (ProtocolMapper type not allowed)" in message
    assert "drop the mapper" in message and "Authenticated access policies" in message
    assert "policy 'Trusted Hosts' (Host not trusted)" in policy_refusal(
        "Policy 'Trusted Hosts' rejected request to client-registration service. Details: Host not trusted.")
    assert "policy 'My policy' (no)" in policy_refusal(
        "Policy 'My policy' rejected request to client-registration service. Details: no")


@pytest.mark.parametrize("status,body,expected", [
    (403, {"error": "insufficient_scope",
           "error_description": "Policy 'Max Clients Limit' rejected request to client-registration service. "
                                "Details: Reached limit"},
     "raises the limit"),
    (400, {"error": "invalid_client_metadata", "error_description": "Client Identifier in use"},
     "client_id 'app1' is already taken in realm 'apps'"),
    (400, {"error": "invalid_redirect_uri", "error_description": "Invalid redirect uri"}, "refused the client metadata"),
    (404, {"error": "Realm does not exist"}, "Realm 'apps' does not exist on http://kc/"),
    (401, {"error": "invalid_token", "error_description": "Not authorized to view client."}, "no longer valid"),
    (409, "conflict", "HTTP 409"),
])
def test_refusal_messages(status, body, expected):
    kind = "read" if status == 401 else "create"
    message = refusal_message(status, body, kind, "apps", "http://kc/", token="t", client_id="app1", where="here")
    assert expected in message and "\n" not in message
