"""Pure logic of the authorization option: declared items, the export's shape, references."""
import pytest

from ansible_collections.keycloak_ops.clients.plugins.module_utils._authorization_items import (
    InvalidAuthorization, check_references, declared, differing, existing, with_authorization,
)

EXPORT = {
    "scopes": [{"name": "read"}, {"name": "create"}],
    "resources": [{"name": "invoices", "uris": ["/invoices/*"], "scopes": [{"name": "read"}, {"name": "create"}]}],
    "policies": [
        {"name": "readers", "type": "role", "logic": "POSITIVE", "decisionStrategy": "UNANIMOUS",
         "config": {"roles": '[{"id":"payroll-reader","required":false}]'}},
        {"name": "read invoices", "type": "scope", "decisionStrategy": "AFFIRMATIVE",
         "config": {"resources": '["invoices"]', "scopes": '["read"]', "applyPolicies": '["readers"]'}},
    ],
}


def test_export_matches_the_same_declaration():
    items = declared(dict(scopes=["read", "create"],
                          resources=[dict(name="invoices", uris=["/invoices/*"], scopes=["create", "read"])],
                          policies=[dict(name="readers", type="role", roles=["payroll-reader"])],
                          permissions=[dict(name="read invoices", resources=["invoices"], scopes=["read"],
                                            policies=["readers"], decision_strategy="affirmative")]))
    current = existing(EXPORT)
    for kind in items:
        for name, fields in items[kind].items():
            assert differing(fields, current[kind][name]) == [], (kind, name)
    check_references(items, current)


@pytest.mark.parametrize("authorization, message", [
    (dict(policies=[dict(name="p", type="group", roles=["r"])]), "unknown policy type 'group'"),
    (dict(policies=[dict(name="p", type="role", clients=["c"])]), "needs roles"),
    (dict(scopes=["a", "a"]), "'a' is declared twice"),
    (dict(permissions=[dict(name="x", scopes=[], policies=["p"])]), "scopes is empty"),
])
def test_declaration_errors(authorization, message):
    with pytest.raises(InvalidAuthorization, match=message):
        declared(authorization)


def test_permission_scope_must_be_a_scope_of_its_resources():
    items = declared(dict(permissions=[dict(name="x", resources=["invoices"], scopes=["delete"], policies=["readers"])]))
    with pytest.raises(InvalidAuthorization, match="unknown scope 'delete'; invoices has the scopes: create, read"):
        check_references(items, existing(EXPORT))


def test_authorization_turns_authorization_services_on_and_refuses_them_off():
    options = with_authorization(dict(client_id="c", authorization=dict(scopes=["read"])))
    assert options["authorization_services"] is True and options["service_accounts"] is True
    with pytest.raises(InvalidAuthorization, match="drop authorization_services: false"):
        with_authorization(dict(client_id="c", authorization_services=False, authorization=dict(scopes=["read"])))


def test_permission_policies_and_resources_must_be_known():
    current = existing(EXPORT)
    with pytest.raises(InvalidAuthorization, match="permission 'x': unknown policy 'nobody'"):
        check_references(declared(dict(permissions=[dict(name="x", scopes=["read"], policies=["nobody"])])), current)
    with pytest.raises(InvalidAuthorization, match="permission 'x': unknown resource 'reports'"):
        check_references(declared(dict(permissions=[dict(name="x", resources=["reports"], scopes=["read"],
                                                         policies=["readers"])])), current)
