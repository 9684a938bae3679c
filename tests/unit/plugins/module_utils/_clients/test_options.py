"""Pure validation and desired-state logic of the client modules."""
import pytest

from ansible_collections.keycloak_ops.clients.plugins.module_utils._core.items import (
    client_items, given_secrets, items_argument_spec,
)
from ansible_collections.keycloak_ops.clients.plugins.module_utils._clients.options import (
    CONFIDENTIAL_OPTIONS, PUBLIC_OPTIONS, desired_state, merged_options, representation_changes,
)
from ansible_collections.keycloak_ops.clients.plugins.module_utils._clients.validation import validate
from ansible_collections.keycloak_ops.clients.plugins.module_utils._core.errors import InvalidInput


def params(options, **given):
    spec = items_argument_spec(options)
    values = {k: v.get("default") for k, v in spec.items()}
    values.update(given)
    return values


def check(kind, **given):
    options_spec = CONFIDENTIAL_OPTIONS if kind == "confidential" else PUBLIC_OPTIONS
    for item in client_items(params(options_spec, **given), options_spec):
        validate(merged_options(item, kind), kind)


BAD_INPUT = [
    ("confidential", dict(), "one of client_id or clients"),
    ("confidential", dict(client_id="a", clients=["b"]), "mutually exclusive"),
    ("confidential", dict(clients=[]), "clients is empty"),
    ("confidential", dict(clients=["a", "a"]), "already declared by clients\\[0\\]"),
    ("confidential", dict(clients=[{"name": "no id"}]), "clients\\[0\\]: client_id is required"),
    ("confidential", dict(clients=[{"client_id": "a", "bogus": 1}]), "clients\\[0\\]: .*bogus"),
    ("confidential", dict(clients=[42]), "clients\\[0\\]: expected a client id"),
    ("confidential", dict(client_id=" padded"), "blank or start/end with spaces"),
    ("confidential", dict(client_id="a", root_url="localhost:5000"), "root_url.*not an absolute http"),
    ("confidential", dict(client_id="a", web_origins=["example.com"]), "web_origins.*not an absolute"),
    ("confidential", dict(client_id="a", redirect_uris=["http:///cb"]), "has no host"),
    ("confidential", dict(client_id="a", default_client_scopes=["email"], optional_client_scopes=["email"]),
     "both default and optional"),
    ("confidential", dict(client_id="a", service_account_realm_roles=["x"]), "need service_accounts"),
    ("confidential", dict(client_id="a", preset="service", service_accounts=False), "conflicts with service_accounts"),
    ("confidential", dict(client_id="a", authorization_services=True, service_accounts=False),
     "authorization_services"),
    ("confidential", dict(client_id="a", preset="service", service_account_client_roles={"realm-management": "x"}),
     "must be a list"),
    ("confidential", dict(client_id="a", protocol_mappers=[{"name": "aud"}]), "protocol_mappers\\[0\\]"),
    ("confidential", dict(client_id="a", post_logout_redirect_uris=["https://a.example/"], attributes={"post.logout.redirect.uris": "y"}),
     "conflicts with option"),
    ("public", dict(client_id="spa", redirect_uris=["*"]), "wildcard"),
    ("public", dict(client_id="spa", redirect_uris=["http://app.example.com/cb"]), "plain http"),
    ("public", dict(client_id="spa", web_origins=["*"]), "web_origins"),
    ("public", dict(client_id="spa", clients=None, post_logout_redirect_uris=["http://app.example.com/"]), "plain http"),
    ("public", dict(client_id="cli", preset="cli", redirect_uris=["http://127.0.0.1/cb"]), "device grant"),
    ("public", dict(client_id="a", pkce_method="none", attributes={"pkce.code.challenge.method": "plain"}),
     "conflicts with option"),
]


@pytest.mark.parametrize("kind,given,message", BAD_INPUT)
def test_bad_input_is_one_clear_line(kind, given, message):
    with pytest.raises(InvalidInput, match=message) as info:
        check(kind, **given)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("given", [
    dict(client_id="spa", redirect_uris=["http://localhost:3000/*", "http://127.0.0.1:8080/cb", "https://x.example/cb"]),
    dict(client_id="app", redirect_uris=["com.example.app:/oauth2redirect"]),
    dict(client_id="spa", redirect_uris=["*"], allow_insecure_redirect_uris=True),
    dict(client_id="gone", state="absent", redirect_uris=["*"]),
])
def test_public_accepts_safe_redirects(given):
    check("public", **given)


def test_top_level_options_are_defaults_for_items():
    spec = CONFIDENTIAL_OPTIONS
    items = client_items(params(spec, realm="apps", preset="service", clients=["a", {"client_id": "b", "preset": "web"}]), spec)
    assert [(i["client_id"], i["realm"], i["preset"]) for i in items] == [("a", "apps", "service"), ("b", "apps", "web")]


def test_service_preset_fills_only_unset_flags():
    merged = merged_options(dict(client_id="a", preset="service", direct_access_grants=True), "confidential")
    assert merged["service_accounts"] is True and merged["standard_flow"] is False
    assert merged["direct_access_grants"] is True


def test_public_desired_state_enforces_pkce_and_no_implicit_flow():
    desired = desired_state(merged_options(dict(client_id="spa", state="present"), "public"), "public")
    assert desired["rep"]["publicClient"] is True
    assert desired["rep"]["implicitFlowEnabled"] is False
    assert desired["rep"]["attributes"]["pkce.code.challenge.method"] == "S256"


def test_openid_scope_is_implicit():
    desired = desired_state(dict(client_id="a", default_client_scopes=["openid", "email", "profile"]), "confidential")
    assert desired["default_scopes"] == ["email", "profile"]


def test_changes_only_cover_declared_fields():
    desired = desired_state(dict(client_id="a", redirect_uris=["https://b/*", "https://a/*"],
                                 post_logout_redirect_uris=["https://a/"]), "confidential")["rep"]
    current = {"clientId": "a", "publicClient": False, "redirectUris": ["https://a/*", "https://b/*"],
               "description": "set by someone else", "attributes": {"post.logout.redirect.uris": "https://a/", "x": "y"}}
    assert representation_changes(desired, current) == {}
    current["publicClient"] = True
    assert representation_changes(desired, current) == {"publicClient": False}


def test_given_secrets_found_in_raw_items_by_name_and_alias_whatever_their_length():
    options = dict(client_id=dict(type='str'), secret=dict(type='str', no_log=True, aliases=['client_secret']))
    raw = ['just-an-id', {'client_id': 'a', 'secret': 'short'}, {'client_id': 'b', 'client_secret': 'aliased-secret'},
           {'client_id': 'c'}, 42]
    assert given_secrets(raw, options) == {'short', 'aliased-secret'}
    assert given_secrets(None, options) == set()
