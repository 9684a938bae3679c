"""Client scopes as declared: names, friendly mapper types, comparison of only what is declared, views."""
import pytest

from ansible_collections.keycloak_ops.clients.plugins.module_utils._core.items import InvalidItem, client_items, item_label
from ansible_collections.keycloak_ops.clients.plugins.module_utils._clients.scopes import (
    SCOPE_OPTIONS, SCOPES, InvalidScope, desired_mapper, desired_scope, mapper_ops, planned_rep, realm_default_of,
    scope_changes, scope_view,
)


def options(**given):
    return dict(dict.fromkeys(SCOPE_OPTIONS), realm="apps", **given)


AUDIENCE = dict(name="aud", type="audience", client_audience="candidates-api")


def test_a_friendly_audience_mapper_becomes_keycloaks_and_compares_only_what_is_declared():
    mapper = desired_mapper(0, AUDIENCE, "openid-connect")
    assert mapper["protocolMapper"] == "oidc-audience-mapper"
    assert mapper["config"] == {"included.client.audience": "candidates-api"}
    # The console's defaults go with a create only.
    assert mapper["create_config"]["access.token.claim"] == "true"
    current = [dict(id="m1", name="aud", protocol="openid-connect", protocolMapper="oidc-audience-mapper",
                    config={"included.client.audience": "candidates-api", "access.token.claim": "false"})]
    assert mapper_ops([mapper], current) == []


def test_a_differing_declared_key_updates_the_mapper_and_keeps_the_other_keys():
    mapper = desired_mapper(0, dict(AUDIENCE, id_token=True), "openid-connect")
    current = [dict(id="m1", name="aud", protocolMapper="oidc-audience-mapper",
                    config={"included.client.audience": "candidates-api", "id.token.claim": "false", "x": "kept"})]
    [(op, body, existing)] = mapper_ops([mapper], current)
    assert op == "update" and existing is current[0]
    assert body["id"] == "m1"
    assert body["config"] == {"included.client.audience": "candidates-api", "id.token.claim": "true", "x": "kept"}


def test_another_type_replaces_the_config_and_absent_deletes_and_undeclared_mappers_stay():
    current = [dict(id="m1", name="aud", protocolMapper="oidc-hardcoded-claim-mapper", config={"claim.name": "x"}),
               dict(id="m2", name="gone", protocolMapper="oidc-audience-mapper", config={}),
               dict(id="m3", name="other", protocolMapper="oidc-audience-mapper", config={})]
    declared = [desired_mapper(0, AUDIENCE, "openid-connect"),
                desired_mapper(1, dict(name="gone", protocol_mapper="oidc-audience-mapper", state="absent"),
                               "openid-connect"),
                desired_mapper(2, dict(name="never-there", type="realm_roles", state="absent"), "openid-connect")]
    ops = mapper_ops(declared, current)
    assert [(op, body["name"]) for op, body, _existing in ops] == [("update", "aud"), ("delete", "gone")]
    assert "claim.name" not in ops[0][1]["config"] and ops[0][1]["protocolMapper"] == "oidc-audience-mapper"


def test_raw_mappers_take_keycloaks_config_as_strings():
    mapper = desired_mapper(0, dict(name="dept", protocol_mapper="oidc-usermodel-attribute-mapper",
                                    config={"user.attribute": "department", "multivalued": True}), "openid-connect")
    assert mapper["config"] == {"user.attribute": "department", "multivalued": "true"}
    assert mapper["create_config"] == mapper["config"] and mapper["raw"]


@pytest.mark.parametrize("mapper, protocol, message", [
    (dict(type="audience"), "openid-connect", "needs a name"),
    (dict(name="a", type="audience"), "openid-connect", "needs client_audience or custom_audience"),
    (dict(name="a", type="aud"), "openid-connect", "unknown type 'aud'"),
    (dict(name="a", type="audience", protocol_mapper="x", client_audience="c"), "openid-connect", "exactly one of"),
    (dict(name="a"), "openid-connect", "exactly one of"),
    (dict(name="a", type="audience", claim_name="x", client_audience="c"), "openid-connect", "no option 'claim_name'"),
    (dict(name="a", protocol_mapper="x", claim_name="y"), "openid-connect", "belongs to a friendly type"),
    (dict(AUDIENCE, config={"included.client.audience": "other"}), "openid-connect", "conflicts with config"),
    (dict(AUDIENCE), "saml", "is an OpenID Connect mapper"),
    (dict(AUDIENCE, config="x"), "openid-connect", "config must be a dict"),
    (dict(AUDIENCE, state="gone"), "openid-connect", "state must be present or absent"),
    ("audience", "openid-connect", "expected a dict"),
])
def test_bad_mappers_are_refused_naming_the_item(mapper, protocol, message):
    with pytest.raises(InvalidScope, match="protocol_mappers\\[0\\]") as caught:
        desired_mapper(0, mapper, protocol)
    assert message in str(caught.value)


@pytest.mark.parametrize("name, message", [
    ("bad name", "not a valid scope name"), ('a"b', "not a valid scope name"), ("é", "not a valid scope name"),
    ("", "not a valid scope name"), ("x" * 256, "at most 255"),
])
def test_scope_names_keycloak_refuses_are_refused_first(name, message):
    with pytest.raises(InvalidScope, match=message):
        desired_scope(options(name=name))


def test_names_keycloak_accepts_pass():
    for name in ("candidates:read", "a/b", "a+b", "api.read_all", "x" * 255):
        assert desired_scope(options(name=name))["rep"]["name"] == name


def test_options_become_attributes_and_only_declared_fields_are_compared():
    desired = desired_scope(options(name="s", description="d", include_in_token_scope=False,
                                    consent_screen_text="Read candidates"))
    assert desired["rep"] == dict(name="s", description="d", attributes={
        "include.in.token.scope": "false", "consent.screen.text": "Read candidates"})
    current = dict(name="s", description="d", protocol="saml", attributes={
        "include.in.token.scope": "false", "consent.screen.text": "Read candidates", "gui.order": "3"})
    assert scope_changes(desired["rep"], current) == {}
    # Missing attributes mean Keycloak's defaults: include.in.token.scope is true, the consent text empty.
    assert scope_changes(desired["rep"], dict(name="s", description="d")) == {"attributes": {
        "include.in.token.scope": "false", "consent.screen.text": "Read candidates"}}
    assert scope_changes(desired_scope(options(name="s", include_in_token_scope=True))["rep"], dict(name="s")) == {}
    assert scope_changes(desired_scope(options(name="s", description=""))["rep"], dict(name="s")) == {}
    assert scope_changes(desired_scope(options(name="s", protocol="saml"))["rep"],
                         dict(name="s", protocol="openid-connect")) == {"protocol": "saml"}


@pytest.mark.parametrize("given, message", [
    (dict(description="d" * 256), "description: 256 characters"),
    (dict(attributes={"x" * 256: "v"}), "attributes: the name"),
    (dict(consent_screen_text="t" * 2049), "at most 2048"),
    (dict(attributes={"include.in.token.scope": "false"}, include_in_token_scope=True), "conflicts with option"),
    (dict(protocol_mappers=[AUDIENCE, AUDIENCE]), "the name 'aud' is used twice"),
])
def test_bad_scopes_are_refused(given, message):
    with pytest.raises(InvalidScope, match=message):
        desired_scope(options(name="s", **given))


def test_the_realm_default_kind_and_the_view_of_what_is_declared():
    defaults = {"default": {"a"}, "optional": {"b"}}
    assert [realm_default_of(i, defaults) for i in ("a", "b", "c")] == ["default", "optional", "none"]
    desired = desired_scope(options(name="s", description="d", protocol_mappers=[AUDIENCE], realm_default="optional"))
    rep = dict(name="s", description="d", protocol="openid-connect", protocolMappers=[
        dict(name="aud", protocolMapper="oidc-audience-mapper",
             config={"included.client.audience": "candidates-api", "access.token.claim": "true"}),
        dict(name="undeclared", protocolMapper="x", config={})])
    assert scope_view(rep, desired, "optional") == dict(name="s", description="d", realmDefault="optional", protocolMappers={
        "aud": dict(protocolMapper="oidc-audience-mapper", config={"included.client.audience": "candidates-api"})})


def test_the_planned_scope_shows_changes_and_mapper_operations():
    current = dict(name="s", description="old", protocolMappers=[dict(name="m", config={})])
    ops = [("delete", dict(name="m"), None), ("add", dict(name="n", config={"a": "1"}), None)]
    after = planned_rep(current, {"description": "new", "attributes": {"k": "v"}}, ops)
    assert after["description"] == "new" and after["attributes"] == {"k": "v"}
    assert [m["name"] for m in after["protocolMappers"]] == ["n"]
    assert current["description"] == "old"


def test_many_scopes_are_items_like_many_clients():
    params = dict(dict.fromkeys(SCOPE_OPTIONS), realm="apps", description="shared", scopes=[
        "a", {"name": "b", "description": "own"}])
    items = client_items(params, SCOPE_OPTIONS, SCOPES)
    assert [(i["name"], i["description"]) for i in items] == [("a", "shared"), ("b", "own")]
    with pytest.raises(InvalidItem, match=r"scopes\[1\]: name 'a' is already declared by scopes\[0\]"):
        client_items(dict(params, scopes=["a", "a"]), SCOPE_OPTIONS, SCOPES)
    with pytest.raises(InvalidItem, match=r"scopes\[0\]: expected a scope name or a dict of scope options"):
        client_items(dict(params, scopes=[1]), SCOPE_OPTIONS, SCOPES)
    assert item_label(1, {"name": "b"}, True, SCOPES) == "scopes[1] (scope 'b')"
    assert item_label(0, {"name": "b"}, False, SCOPES) == "scope 'b'"
