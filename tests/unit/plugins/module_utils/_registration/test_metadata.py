"""What a self-registering client asks for, per provider, and whether what Keycloak registered holds it."""
import pytest

from ansible_collections.keycloak_ops.clients.plugins.module_utils._registration.metadata import desired_metadata, differences, matches, update_body
from ansible_collections.keycloak_ops.clients.plugins.module_utils._registration.refusals import RegistrationError


def params(**given):
    return dict(dict(provider="default", state="present", client_id=None, metadata={}), **given)


def test_desired_metadata():
    assert desired_metadata(params(client_id="app1", metadata={"description": "x"})) == {
        "clientId": "app1", "description": "x"}
    assert desired_metadata(params(metadata={"clientId": "app2"}))["clientId"] == "app2"
    assert desired_metadata(params(provider="openid-connect", metadata={"client_name": "n"})) == {"client_name": "n"}
    for bad, text in (
        (params(), "client_id is required"),
        (params(client_id="a", metadata={"clientId": "b"}), "differ"),
        (params(provider="openid-connect", metadata={"client_id": "x"}), "Keycloak chooses the client id"),
        (params(client_id="a", metadata={"registrationAccessToken": "x"}), "set by Keycloak"),
        (params(provider="openid-connect", metadata={"registration_client_uri": "x"}), "set by Keycloak"),
    ):
        with pytest.raises(RegistrationError, match=text):
            desired_metadata(bad)
    assert desired_metadata(params(state="absent")) == {}


def test_matching_rules():
    assert matches(["b", "a"], ["a", "b"]) and not matches(["a"], ["a", "b"])
    assert matches(True, "true") and matches(300, "300") and not matches(False, "true")
    assert matches({"attributes": {"x": True}}, {"attributes": {"x": "true", "y": "kept"}})
    assert not matches({"attributes": {"x": "1"}}, {"attributes": {}})
    mapper = {"name": "m", "config": {"claim": True}}
    assert matches([mapper], [{"id": "1", "name": "m", "config": {"claim": "true", "other": "x"}}])
    assert not matches([mapper], [])


def test_differences_per_provider():
    current = {"clientId": "a", "description": "old", "redirectUris": ["https://b", "https://a"]}
    assert differences({"clientId": "a", "redirectUris": ["https://a", "https://b"]}, current, "default") == []
    assert differences({"description": "new", "enabled": True}, current, "default") == ["description", "enabled"]
    oidc = {"scope": "profile email", "response_types": ["code", "none"], "grant_types": ["authorization_code"]}
    assert differences({"scope": "email profile", "response_types": ["code"]}, oidc, "openid-connect") == []
    assert differences({"scope": "email"}, oidc, "openid-connect") == ["scope"]
    assert differences({"response_types": ["code", "none"]}, oidc, "openid-connect") == []


def test_update_body_keeps_what_is_there_and_drops_registration_fields():
    current = {"clientId": "a", "secret": "s", "registrationAccessToken": "rat", "attributes": {"x": "1", "y": "2"}}
    body = update_body(current, {"attributes": {"x": "9"}, "description": "d"}, "default")
    assert body == {"clientId": "a", "secret": "s", "attributes": {"x": "9", "y": "2"}, "description": "d"}
    oidc = {"client_id": "u", "client_secret": "s", "registration_access_token": "r", "registration_client_uri": "x",
            "client_id_issued_at": 1, "client_secret_expires_at": 0, "client_name": "old"}
    assert update_body(oidc, {"client_name": "new"}, "openid-connect") == {
        "client_id": "u", "client_secret": "s", "client_name": "new"}


# -- the credentials file ---------------------------------------------------------------------------
