"""The run of client_scope with a stand-in admin API: the plan of each scope, the rights checked before the first
write, check mode, and what a refusal rolls back and names."""
import pytest

from ansible_collections.keycloak_ops.clients.plugins.module_utils._clients.scope_run import (
    ScopeReconciler, after_failure,
)
from ansible_collections.keycloak_ops.clients.plugins.module_utils._clients.scopes import SCOPE_OPTIONS, InvalidScope
from ansible_collections.keycloak_ops.clients.plugins.module_utils._core.errors import KeycloakOpsError, Unavailable
from ansible_collections.keycloak_ops.clients.plugins.module_utils._core.masking import MASK
from tests.unit.plugins.module_utils.admin_api import AdminAPI

SCOPES = "admin/realms/r/client-scopes"
AUDIENCE = dict(name="aud", type="audience", client_audience="api")
EXISTING = {"id": "s1", "name": "billing", "protocol": "openid-connect", "description": "old",
            "attributes": {"include.in.token.scope": "true"},
            "protocolMappers": [{"id": "m1", "name": "aud", "protocol": "openid-connect",
                                 "protocolMapper": "oidc-audience-mapper", "config": {"included.client.audience": "x"}}]}


def options(**given):
    return dict(dict.fromkeys(SCOPE_OPTIONS), **dict(dict(realm="r", name="billing", state="present"), **given))


def realm(*scopes, **answers):
    return AdminAPI(dict({SCOPES: list(scopes), "admin/realms/r/default-default-client-scopes": [],
                          "admin/realms/r/default-optional-client-scopes": []}, **answers))


def test_each_realm_s_scopes_are_read_once_and_a_declared_scope_in_place_needs_no_write():
    api = realm(EXISTING)
    reconciler = ScopeReconciler(api)
    plans = [reconciler.plan(options(description="old")), reconciler.plan(options(name="other", state="absent"))]
    assert [p["action"] for p in plans] == ["update", "none"] and not any(map(reconciler.writes, plans))
    reconciler.check_rights(plans)
    assert [reconciler.apply(plan)["changed"] for plan in plans] == [False, False]
    assert api.reads == [SCOPES] and api.sent == [], "one listing, no rights check and no write"


def test_a_new_scope_is_created_with_its_mappers_and_set_as_the_realm_default():
    api = realm()
    reconciler = ScopeReconciler(api)
    plan = reconciler.plan(options(protocol_mappers=[AUDIENCE], realm_default="optional"))
    assert plan["action"] == "create" and plan["realm_default"] == ("none", "optional")
    result = reconciler.apply(plan)
    assert result["changed"] and result["end_state"]["realmDefault"] == "optional"
    (post, created, body), (put, default, _none) = api.sent
    assert (post, created, put) == ("POST", SCOPES, "PUT") and default.startswith("admin/realms/r/default-optional-client-scopes/")
    assert [m["protocolMapper"] for m in body["protocolMappers"]] == ["oidc-audience-mapper"]
    assert body["attributes"]["include.in.token.scope"] == "true", "the console's defaults go with a create"


def test_check_mode_predicts_the_result_without_a_write():
    api = realm(EXISTING)
    reconciler = ScopeReconciler(api, check_mode=True)
    result = reconciler.apply(reconciler.plan(options(description="new", protocol_mappers=[AUDIENCE])))
    assert result["changed"] and api.sent == []
    assert result["diff"]["before"]["description"] == "old" and result["diff"]["after"]["description"] == "new"
    assert result["end_state"]["protocolMappers"]["aud"]["config"] == {"included.client.audience": "api"}


def test_an_unknown_mapper_type_is_refused_before_any_write_when_the_server_tells():
    api = realm(**{"admin/serverinfo": {"protocolMapperTypes": {"openid-connect": [{"id": "oidc-audience-mapper"}]}}})
    reconciler = ScopeReconciler(api)
    with pytest.raises(InvalidScope, match="Keycloak has no openid-connect protocol mapper type 'oidc-made-up'"):
        reconciler.plan(options(protocol_mappers=[dict(name="x", protocol_mapper="oidc-made-up")]))
    assert api.sent == []


def test_a_write_needs_manage_clients_and_an_absent_scope_view_clients():
    reconciler = ScopeReconciler(AdminAPI({SCOPES: []}, roles=("view-clients",)))
    plans = [reconciler.plan(options(state="absent"))]
    reconciler.check_rights(plans)
    plans.append(reconciler.plan(options(name="new")))
    with pytest.raises(KeycloakOpsError, match="lacks the 'manage-clients' role of realm-management in realm 'r'"):
        reconciler.check_rights(plans)
    with pytest.raises(KeycloakOpsError, match="lacks the 'view-clients' role"):
        ScopeReconciler(AdminAPI({SCOPES: []}, roles=())).check_rights([plans[0]])


def test_a_refusal_rolls_back_this_task_s_writes_newest_first_once_each():
    api = realm(EXISTING)
    api.refused = [("POST", "/protocol-mappers/models")]
    reconciler = ScopeReconciler(api)
    plan = reconciler.plan(options(description="new", protocol_mappers=[
        dict(AUDIENCE, client_audience="api"), dict(name="roles", type="realm_roles")]))
    with pytest.raises(KeycloakOpsError) as refused:
        reconciler.apply(plan)
    assert [w[0] for w in api.writes()] == ["PUT", "PUT", "POST"], "the scope, the changed mapper, the refused add"
    tail = after_failure(reconciler, refused.value, [plan], [None])
    assert tail == "this task's earlier writes were rolled back, nothing is changed"
    assert api.writes()[3:] == [("PUT", SCOPES + "/s1/protocol-mappers/models/m1"), ("PUT", SCOPES + "/s1")]
    assert api.sent[3][2]["config"] == {"included.client.audience": "x"}, "the mapper as it was"


def test_what_cannot_be_undone_is_named_and_nothing_is_rolled_back_when_keycloak_is_not_answering():
    api = realm(EXISTING)
    reconciler = ScopeReconciler(api)
    plans = [reconciler.plan(options(state="absent")), reconciler.plan(options(name="new"))]
    results = [reconciler.apply(plans[0]), None]
    assert reconciler.deleted == ["billing"]
    assert after_failure(reconciler, KeycloakOpsError("HTTP 400"), plans, results) == (
        "nothing else was changed; deleted before the failure, not restored: billing")
    assert after_failure(reconciler, Unavailable("HTTP 503"), plans, results) == (
        "nothing rolled back, as Keycloak is not answering: client scopes changed in this task before: billing; "
        "run the task again once Keycloak answers, it converges")


def test_a_failed_undo_is_named_for_a_fix_by_hand():
    api = realm(EXISTING)
    reconciler = ScopeReconciler(api)
    reconciler.apply(reconciler.plan(options(description="new")))
    api.refused = [("PUT", SCOPES + "/s1")]
    assert after_failure(reconciler, KeycloakOpsError("HTTP 400"), [], []) == (
        "rolling back this task's writes failed for: updated client scope billing; fix by hand")


def test_results_mask_secrets_in_declared_attributes():
    api = realm(dict(EXISTING, attributes={"client.secret": "s3cret-value"}))
    reconciler = ScopeReconciler(api, check_mode=True)
    result = reconciler.apply(reconciler.plan(options(attributes={"client.secret": "other-value"})))
    assert result["diff"]["before"]["attributes"] == {"client.secret": MASK}
