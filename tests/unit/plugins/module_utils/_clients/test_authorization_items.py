"""Pure logic of the authorization option: declared items, the export's shape, what goes, order, references."""
import pytest

from ansible_collections.keycloak_ops.clients.plugins.module_utils._clients.authorization_items import (
    InvalidAuthorization, declared, differing, existing, plan_ops, with_authorization,
)

EXPORT = {
    "policyEnforcementMode": "ENFORCING", "decisionStrategy": "UNANIMOUS", "allowRemoteResourceManagement": True,
    "scopes": [{"name": "read"}, {"name": "create"}],
    "resources": [{"name": "invoices", "uris": ["/invoices/*"], "scopes": [{"name": "read"}, {"name": "create"}]}],
    "policies": [
        {"name": "readers", "type": "role", "logic": "POSITIVE", "decisionStrategy": "UNANIMOUS",
         "config": {"roles": '[{"id":"payroll-reader","required":false}]'}},
        {"name": "staff", "type": "group", "logic": "POSITIVE", "decisionStrategy": "UNANIMOUS",
         "config": {"groups": '[{"path":"/staff","extendChildren":true}]'}},
        {"name": "alice", "type": "user", "config": {"users": '["alice"]'}},
        {"name": "either", "type": "aggregate", "decisionStrategy": "AFFIRMATIVE",
         "config": {"applyPolicies": '["readers","staff"]'}},
        {"name": "office hours", "type": "time", "config": {"hour": "8", "hourEnd": "17", "nbf": "2026-01-01 00:00:00"}},
        {"name": "read invoices", "type": "scope", "decisionStrategy": "AFFIRMATIVE",
         "config": {"resources": '["invoices"]', "scopes": '["read"]', "applyPolicies": '["readers"]'}},
        {"name": "all invoices", "type": "resource", "decisionStrategy": "UNANIMOUS",
         "config": {"resources": '["invoices"]', "applyPolicies": '["either"]'}},
    ],
}

SAME = dict(
    scopes=["read", "create"],
    resources=[dict(name="invoices", uris=["/invoices/*"], scopes=["create", "read"])],
    policies=[dict(name="readers", type="role", roles=["payroll-reader"]),
              dict(name="staff", type="group", groups=["staff"], extend_children=True),
              dict(name="alice", type="user", users=["Alice"]),
              dict(name="either", type="aggregate", policies=["staff", "readers"], decision_strategy="affirmative"),
              dict(name="office hours", type="time", hour=8, hour_end=17, not_before="2026-01-01 00:00:00")],
    permissions=[dict(name="read invoices", resources=["invoices"], scopes=["read"], policies=["readers"],
                      decision_strategy="affirmative"),
                 dict(name="all invoices", type="resource", resources=["invoices"], policies=["either"])],
    policy_enforcement_mode="enforcing", decision_strategy="unanimous",
)


def test_export_matches_the_same_declaration():
    declaration = declared(SAME)
    current = existing(EXPORT)
    for kind, items in declaration["items"].items():
        for name, fields in items.items():
            assert differing(fields, current[kind][name]) == [], (kind, name)
    assert plan_ops(declaration, current) == []


def test_exclusive_removes_the_undeclared_permissions_first_and_an_aggregate_before_its_parts():
    declaration = declared(dict(exclusive=True, scopes=["read"],
                                resources=[dict(name="invoices", scopes=["read"])],
                                policies=[dict(name="readers", type="role", roles=["payroll-reader"])]))
    ops = plan_ops(declaration, existing(EXPORT))
    assert ops == [("update", "resources", "invoices"),
                   ("delete", "permissions", "all invoices"), ("delete", "permissions", "read invoices"),
                   ("delete", "policies", "alice"), ("delete", "policies", "either"),
                   ("delete", "policies", "office hours"), ("delete", "policies", "staff"),
                   ("delete", "scopes", "create")]


def test_exclusive_per_list_and_state_absent():
    declaration = declared(dict(exclusive=["permissions"], permissions=[
        dict(name="read invoices", resources=["invoices"], scopes=["read"], policies=["readers"])],
        scopes=[dict(name="archive", state="absent"), "read"], policies=[dict(name="alice", state="absent")]))
    ops = plan_ops(declaration, existing(EXPORT))
    assert ops == [("delete", "permissions", "all invoices"), ("delete", "policies", "alice")]
    # create is a scope of the kept resource invoices: removing it would change an undeclared item.
    with pytest.raises(InvalidAuthorization, match="scope 'create' would be removed, but resource 'invoices'"):
        plan_ops(declared(dict(scopes=[dict(name="create", state="absent")])), existing(EXPORT))


def test_an_item_that_stays_may_not_name_what_goes():
    with pytest.raises(InvalidAuthorization, match="policy 'either' would be removed, but permission 'all invoices', "
                                                   "which stays"):
        plan_ops(declared(dict(policies=[dict(name="either", state="absent")])), existing(EXPORT))
    with pytest.raises(InvalidAuthorization, match="permission 'x': policy 'readers' is removed .not declared under "
                                                   "exclusive policies."):
        plan_ops(declared(dict(exclusive=["policies", "permissions"], permissions=[
            dict(name="x", type="resource", resources=["invoices"], policies=["readers"])])), existing(EXPORT))


def test_creates_put_the_parts_of_an_aggregate_first():
    declaration = declared(dict(policies=[dict(name="a-all", type="aggregate", policies=["z-new"]),
                                          dict(name="z-new", type="user", users=["bob"])]))
    assert plan_ops(declaration, existing(None)) == [("create", "policies", "z-new"), ("create", "policies", "a-all")]


def test_cycles_of_aggregates_are_refused():
    declaration = declared(dict(policies=[dict(name="readers", type="aggregate", policies=["either"])]))
    with pytest.raises(InvalidAuthorization, match="is of type role in Keycloak, declared aggregate"):
        plan_ops(declaration, existing(EXPORT))
    declaration = declared(dict(policies=[dict(name="a", type="aggregate", policies=["b"]),
                                          dict(name="b", type="aggregate", policies=["c", "readers"]),
                                          dict(name="c", type="aggregate", policies=["a"])]))
    with pytest.raises(InvalidAuthorization, match="cycle: a -> b -> c -> a"):
        plan_ops(declaration, existing(EXPORT))


def test_a_time_policy_declares_its_whole_window():
    fields = declared(dict(policies=[dict(name="t", type="time", hour=9)]))["items"]["policies"]["t"]
    assert fields["hour"] == "9" and fields["hourEnd"] is None and fields["notBefore"] is None
    current = existing(EXPORT)
    assert differing(fields, current["policies"]["office hours"]) == ["hour", "hourEnd", "notBefore"]


@pytest.mark.parametrize("authorization, message", [
    (dict(policies=[dict(name="p", type="sorcery", roles=["r"])]), "unknown policy type 'sorcery'"),
    (dict(policies=[dict(name="p", roles=["r"])]), "policy 'p': type is missing"),
    (dict(policies=[dict(name="p", type="role", clients=["c"])]), "takes roles, not clients"),
    (dict(policies=[dict(name="p", type="group", groups=["/g"], users=["u"])]), "takes groups, extend_children, not users"),
    (dict(policies=[dict(name="p", type="user")]), "policy 'p' of type user needs users"),
    (dict(policies=[dict(name="p", type="aggregate", policies=["p"])]), "names itself"),
    (dict(policies=[dict(name="p", type="time")]), "needs a window"),
    (dict(policies=[dict(name="p", type="time", hour=24)]), "hour is 24; it takes 0 to 23"),
    (dict(policies=[dict(name="p", type="time", hour_end=3)]), "hour_end needs hour"),
    (dict(policies=[dict(name="p", type="time", month=5, month_end=2)]), "month_end 2 is before month 5"),
    (dict(policies=[dict(name="p", type="time", not_before="tomorrow")]), "not_before 'tomorrow' is not a time"),
    (dict(policies=[dict(name="p", type="time", not_before="2026-02-01 00:00:00",
                         not_on_or_after="2026-01-01 00:00:00")]), "the window is empty"),
    (dict(scopes=["a", "a"]), "'a' is declared twice"),
    (dict(scopes=["a", dict(name="a", state="absent")]), "'a' is declared twice"),
    (dict(scopes=[dict(name="a", colour="red")]), r"authorization.scopes\[0\]: expected a scope name"),
    (dict(exclusive="scopes-and-more"), "authorization.exclusive: 'scopes-and-more' is neither"),
    (dict(permissions=[dict(name="x", scopes=[], policies=["p"])]), "scopes is empty"),
    (dict(permissions=[dict(name="x", scopes=["read"])]), "policies is empty"),
    (dict(permissions=[dict(name="x", type="resource", scopes=["read"], resources=["r"], policies=["p"])]),
     "takes no scopes"),
    (dict(permissions=[dict(name="x", type="resource", policies=["p"])]), "needs resources or resource_type"),
    (dict(policies=[dict(name="x", type="user", users=["u"])], permissions=[dict(name="x", state="absent")]),
     "'x' is declared as a policy and as a permission"),
])
def test_declaration_errors(authorization, message):
    with pytest.raises(InvalidAuthorization, match=message):
        declared(authorization)


def test_permission_scope_must_be_a_scope_of_its_resources():
    declaration = declared(dict(permissions=[dict(name="x", resources=["invoices"], scopes=["delete"],
                                                  policies=["readers"])]))
    with pytest.raises(InvalidAuthorization, match="unknown scope 'delete'; invoices has the scopes: create, read"):
        plan_ops(declaration, existing(EXPORT))


def test_names_are_shared_by_policies_and_permissions():
    with pytest.raises(InvalidAuthorization, match="policy 'read invoices': Keycloak has a permission of that name"):
        plan_ops(declared(dict(policies=[dict(name="read invoices", type="user", users=["u"])])), existing(EXPORT))


def test_authorization_turns_authorization_services_on_and_refuses_them_off():
    options = with_authorization(dict(client_id="c", authorization=dict(scopes=["read"])))
    assert options["authorization_services"] is True and options["service_accounts"] is True
    with pytest.raises(InvalidAuthorization, match="drop authorization_services: false"):
        with_authorization(dict(client_id="c", authorization_services=False, authorization=dict(scopes=["read"])))


def test_permission_policies_and_resources_must_be_known():
    current = existing(EXPORT)
    with pytest.raises(InvalidAuthorization, match="permission 'x': unknown policy 'nobody'"):
        plan_ops(declared(dict(permissions=[dict(name="x", scopes=["read"], policies=["nobody"])])), current)
    with pytest.raises(InvalidAuthorization, match="permission 'x': unknown resource 'reports'"):
        plan_ops(declared(dict(permissions=[dict(name="x", resources=["reports"], scopes=["read"],
                                                 policies=["readers"])])), current)
