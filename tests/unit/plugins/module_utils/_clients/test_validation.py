"""Checks of one client's options before any request: one clear line naming the option and the fix."""
import pytest

from ansible_collections.keycloak_ops.clients.plugins.module_utils._clients.options import (
    CONFIDENTIAL_OPTIONS, PUBLIC_OPTIONS, InvalidClient, merged_options,
)
from ansible_collections.keycloak_ops.clients.plugins.module_utils._clients.validation import validate
from ansible_collections.keycloak_ops.clients.plugins.module_utils._core.items import client_items, items_argument_spec


def check(kind, **given):
    """Validate each item of a module call as the client modules do: items first, presets filled in."""
    options_spec = CONFIDENTIAL_OPTIONS if kind == "confidential" else PUBLIC_OPTIONS
    params = dict({k: v.get("default") for k, v in items_argument_spec(options_spec).items()}, **given)
    for item in client_items(params, options_spec):
        validate(merged_options(item, kind), kind)


BAD_INPUT = [
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
    with pytest.raises(InvalidClient, match=message) as info:
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
