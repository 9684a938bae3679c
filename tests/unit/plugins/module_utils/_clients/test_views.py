"""What a client task shows: the managed, masked view of a client, its result, and the grants it can use."""
from ansible_collections.keycloak_ops.clients.plugins.module_utils._clients.views import (
    client_result, grant_types, managed_view, merged, with_scope_ops,
)
from ansible_collections.keycloak_ops.clients.plugins.module_utils._core.masking import MASK

DESIRED = dict(rep={"clientId": "svc", "secret": "s3cret", "attributes": {"a": "1"}}, default_scopes=["email"],
               optional_scopes=None, mappers=[{"name": "audience"}], realm_roles=[], client_roles={})
CURRENT = {"id": "u", "clientId": "svc", "secret": "0ld-secret", "publicClient": False,
           "clientAuthenticatorType": "client-secret", "description": "not managed",
           "attributes": {"a": "0", "b": "unmanaged"}, "defaultClientScopes": ["profile", "email"],
           "optionalClientScopes": ["phone"],
           "protocolMappers": [{"name": "audience"}, {"name": "added by the server"}]}


def test_attributes_merge_key_by_key_and_other_fields_are_replaced():
    after = merged(CURRENT, {"attributes": {"a": "1"}, "description": "new"})
    assert after["attributes"] == {"a": "1", "b": "unmanaged"} and after["description"] == "new"
    assert CURRENT["attributes"]["a"] == "0", "the current representation is left as it was"


def test_scope_operations_add_and_remove_once():
    after = with_scope_ops(CURRENT, [("add", "default", "roles"), ("add", "default", "email"),
                                     ("remove", "optional", "phone"), ("remove", "optional", "absent")])
    assert after["defaultClientScopes"] == ["profile", "email", "roles"] and after["optionalClientScopes"] == []


def test_the_view_holds_only_what_is_declared_masked_and_sorted():
    view = managed_view(CURRENT, DESIRED)
    assert view == {"clientId": "svc", "secret": MASK, "attributes": {"a": "0"}, "defaultClientScopes": ["email", "profile"],
                    "protocolMappers": ["audience"], "clientAuthenticatorType": "client-secret"}


def test_the_view_of_a_client_to_delete_names_it_and_masks_its_secret():
    assert managed_view(CURRENT, None) == {"clientId": "svc", "publicClient": False, "secret": MASK}


def plan(action, **extra):
    return dict(dict(action=action, realm="r", client_id="svc", current=CURRENT, desired=DESIRED), **extra)


def test_a_changed_secret_shows_as_changed_without_showing_either():
    result = client_result(plan("update", changes={"secret": "n3w"}), True, {"secret": MASK}, {"secret": MASK})
    assert result["diff"]["after"]["secret"] == MASK + " (changed)" and result["end_state"]["secret"] == MASK + " (changed)"
    assert result["state"] == "present" and result["id"] == "u" and result["diff"]["before_header"] == "r/svc"


def test_a_deleted_or_absent_client_has_no_end_state():
    for action in ("delete", "none"):
        result = client_result(plan(action), action == "delete", {}, {})
        assert result["state"] == "absent" and "end_state" not in result and "grants" not in result


def test_declared_service_account_roles_show_what_a_grant_changes():
    desired = dict(DESIRED, realm_roles=["reader", "writer"], client_roles={"billing": ["view"]})
    before, after = {"clientId": "svc"}, {"clientId": "svc"}
    client_result(plan("update", desired=desired, roles_to_grant=dict(realm=[{"name": "writer"}], clients=[])),
                  True, before, after)
    assert before["serviceAccountRoles"] == dict(realm=["reader"], clients={"billing": ["view"]})
    assert after["serviceAccountRoles"] == dict(realm=["reader", "writer"], clients={"billing": ["view"]})


def test_grant_types_follow_the_flows_switched_on():
    assert grant_types({}) == ["authorization_code"], "Keycloak's default: the standard flow"
    assert grant_types({"standardFlowEnabled": False, "serviceAccountsEnabled": True}) == ["client_credentials"]
    assert grant_types({"publicClient": True, "serviceAccountsEnabled": True, "directAccessGrantsEnabled": True,
                        "attributes": {"oauth2.device.authorization.grant.enabled": "true"}}) == [
        "authorization_code", "password", "device_code"]
