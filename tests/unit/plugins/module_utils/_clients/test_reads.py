"""What a client task reads, each thing once: scopes (and those a check-mode task plans), roles and mapper types,
and the one-line refusal of a name Keycloak does not know."""
import pytest

from ansible_collections.keycloak_ops.clients.plugins.module_utils._clients.options import InvalidClient
from ansible_collections.keycloak_ops.clients.plugins.module_utils._clients.reads import ClientReads
from ansible_collections.keycloak_ops.clients.plugins.module_utils._core.errors import KeycloakOpsError
from tests.unit.plugins.module_utils.admin_api import AdminAPI

REALM = "admin/realms/r/"
SCOPES = {REALM + "client-scopes": [{"name": "email", "id": "e1"}, {"name": "profile", "id": "p1"}]}


def test_scopes_are_read_once_per_realm_and_an_unknown_one_is_refused_naming_the_option():
    api = AdminAPI(SCOPES)
    reads = ClientReads(api)
    assert reads.resolve_scopes("r", ["email"], "default_client_scopes") == ["email"]
    assert reads.resolve_scopes("r", None, "optional_client_scopes") is None, "not declared: not read"
    with pytest.raises(InvalidClient, match="^optional_client_scopes: client scope 'phone' does not exist in realm 'r'$"):
        reads.resolve_scopes("r", ["profile", "phone"], "optional_client_scopes")
    assert api.reads == [REALM + "client-scopes"]


def test_an_identity_that_cannot_view_clients_is_told_so_instead_of_an_unknown_scope():
    reads = ClientReads(AdminAPI({REALM + "client-scopes": []}, roles=("query-clients",)))
    with pytest.raises(KeycloakOpsError, match="lacks the 'view-clients' role"):
        reads.resolve_scopes("r", ["email"], "default_client_scopes")


def test_a_check_mode_task_knows_the_scopes_an_earlier_task_plans():
    reads = ClientReads(AdminAPI(SCOPES))
    reads.plan_scopes(["audit", {"name": "billing"}, {"name": "gone", "state": "absent"},
                      {"name": "elsewhere", "realm": "other"}], "r")
    assert reads.scope_ids("r") == {"email": "e1", "profile": "p1", "audit": None, "billing": None}
    with pytest.raises(InvalidClient, match="client scope 'gone'"):
        reads.resolve_scopes("r", ["gone"], "default_client_scopes")


def test_roles_are_read_once_and_a_missing_one_is_refused():
    api = AdminAPI({REALM + "roles/reader": {"name": "reader", "id": "r1"},
                    REALM + "clients": [{"id": "b1", "clientId": "billing"}],
                    REALM + "clients/b1/roles/view": {"name": "view", "id": "v1"}})
    reads = ClientReads(api)
    assert reads.realm_role("r", "reader") == reads.realm_role("r", "reader") == {"name": "reader", "id": "r1"}
    assert reads.client_role("r", "billing", "view")["id"] == "v1"
    assert api.reads.count(REALM + "roles/reader") == 1
    with pytest.raises(InvalidClient, match="service_account_realm_roles: role 'writer' does not exist in realm 'r'"):
        reads.realm_role("r", "writer")
    with pytest.raises(InvalidClient, match="service_account_client_roles: client 'billing' has no role 'edit'"):
        reads.client_role("r", "billing", "edit")


def test_mapper_types_are_checked_only_when_the_server_tells_them():
    known = {"admin/serverinfo": {"protocolMapperTypes": {"openid-connect": [{"id": "oidc-audience-mapper"}]}}}
    reads = ClientReads(AdminAPI(known))
    reads.check_mapper_types([{"protocolMapper": "oidc-audience-mapper"}])
    with pytest.raises(InvalidClient, match=r"protocol_mappers\[1\]: Keycloak has no protocol mapper type 'oidc-x'"):
        reads.check_mapper_types([{"protocolMapper": "oidc-audience-mapper"}, {"protocolMapper": "oidc-x"}])
    ClientReads(AdminAPI()).check_mapper_types([{"protocolMapper": "oidc-x"}])  # no server info: Keycloak decides
