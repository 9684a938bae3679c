import base64
import json
import os
import stat

import pytest

from ansible_collections.keycloak_ops.clients.plugins.module_utils._core.durations import InvalidDuration, parse_duration
from ansible_collections.keycloak_ops.clients.plugins.module_utils._initial_access.tokens import summary, to_revoke
from ansible_collections.keycloak_ops.clients.plugins.module_utils._registration.credentials_file import (
    check_writable, read_credentials, write_private_json,
)
from ansible_collections.keycloak_ops.clients.plugins.module_utils._registration.metadata import (
    desired_metadata, differences, matches, update_body,
)
from ansible_collections.keycloak_ops.clients.plugins.module_utils._registration.refusals import (
    RegistrationError, iat_refusal, policy_refusal, rat_refusal, refusal_message,
)
from ansible_collections.keycloak_ops.clients.plugins.module_utils._core.tokens import fingerprint, token_claims

NOW = 1795434417


def jwt(**claims):
    """A token shaped like Keycloak's (the signature is never checked by our code)."""
    def part(data):
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")
    return "%s.%s.c2lnbmF0dXJl" % (part({"alg": "HS512", "typ": "JWT"}), part(claims))


# -- initial access tokens ----------------------------------------------------------------------------

@pytest.mark.parametrize("given,seconds", [
    (3600, 3600), ("3600", 3600), ("90s", 90), ("15m", 900), ("1h", 3600), ("7d", 604800), ("2w", 1209600),
    ("1h30m", 5400), ("1H30M", 5400), (0, 0), ("0", 0),
])
def test_durations(given, seconds):
    assert parse_duration('expiration', given, allow_zero=True) == seconds


@pytest.mark.parametrize("given", ["soon", "1y", "h", "", "1.5h", -1, True, "1h soon"])
def test_bad_durations(given):
    with pytest.raises(InvalidDuration):
        parse_duration('expiration', given, allow_zero=True)


def test_fingerprint_is_short_and_stable():
    assert fingerprint("abc") == "ba7816bf8f01" and fingerprint(None) is None


def test_summary_never_holds_the_value_and_judges_expiry():
    rep = {"id": "a", "token": "VALUE", "timestamp": NOW, "expiration": 60, "count": 2, "remainingCount": 0}
    line = summary(rep, now=NOW + 61)
    assert "token" not in line and line["expired"] is True and line["used_up"] is True
    assert line["expires_at"] == "2026-11-23T11:47:57Z" and line["created_at"] == "2026-11-23T11:46:57Z"
    never = summary(dict(rep, expiration=0, remainingCount=1), now=NOW + 10 ** 8)
    assert never["expired"] is False and never["expires_at"] is None and never["used_up"] is False


def test_revoke_choice():
    tokens = [dict(id="old", expired=True, used_up=False), dict(id="spent", expired=False, used_up=True),
              dict(id="live", expired=False, used_up=False)]
    assert [t["id"] for t in to_revoke(tokens, expired=True)] == ["old"]
    assert [t["id"] for t in to_revoke(tokens, used_up=True)] == ["spent"]
    assert [t["id"] for t in to_revoke(tokens, ids=["live", "gone"], expired=True)] == ["old", "live"]
    assert to_revoke(tokens) == []


# -- refusals --------------------------------------------------------------------------------------

def test_token_claims_are_read_without_verification():
    assert token_claims(jwt(typ="InitialAccessToken", exp=5))["exp"] == 5
    for garbage in ("abc", "a.b.c", None, "a.!!!.c"):
        assert token_claims(garbage) == {}


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


# -- desired state and comparison -------------------------------------------------------------------

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

def test_private_file_is_owner_only_and_replaced_whole(tmp_path):
    path = tmp_path / "new-dir" / "client.json"
    old_umask = os.umask(0)
    try:
        write_private_json(str(path), {"registration_access_token": "one"})
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(os.stat(str(path)).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(str(path.parent)).st_mode) == 0o700
    os.chmod(str(path), 0o644)
    write_private_json(str(path), {"registration_access_token": "two"})
    assert stat.S_IMODE(os.stat(str(path)).st_mode) == 0o600, "a rewrite is owner-only again"
    assert read_credentials(str(path)) == {"registration_access_token": "two"}
    assert os.listdir(str(path.parent)) == ["client.json"], "no temporary file is left behind"


def test_read_credentials(tmp_path):
    assert read_credentials(str(tmp_path / "absent.json")) is None
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    with pytest.raises(RegistrationError, match="is not JSON"):
        read_credentials(str(broken))
    empty = tmp_path / "empty.json"
    empty.write_text("{}")
    with pytest.raises(RegistrationError, match="holds no registration_access_token"):
        read_credentials(str(empty))


def test_unwritable_path_fails_before_registering(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(RegistrationError, match="nothing was registered"):
        check_writable(str(blocker / "client.json"))
    check_writable(str(tmp_path / "ok" / "client.json"))
    assert os.listdir(str(tmp_path / "ok")) == []


def test_every_missing_parent_of_the_credentials_file_is_created_owner_only(tmp_path):
    path = tmp_path / "a" / "b" / "c" / "registration.json"
    write_private_json(str(path), {"registration_access_token": "t"})
    for directory in (tmp_path / "a", tmp_path / "a" / "b", tmp_path / "a" / "b" / "c"):
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700, directory
