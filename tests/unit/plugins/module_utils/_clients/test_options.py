"""Per-client options: presets filled in, the desired representation, and which of its fields differ."""
from ansible_collections.keycloak_ops.clients.plugins.module_utils._clients.options import desired_state, merged_options, representation_changes


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
