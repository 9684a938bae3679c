"""One-line messages of what goes wrong on the way to Keycloak and back."""
import pytest

from ansible_collections.keycloak_ops.clients.plugins.module_utils._core.http_errors import required_role, response_detail


@pytest.mark.parametrize("method,path,role", [
    ("GET", "admin/realms/r/clients", "view-clients"),
    ("POST", "admin/realms/r/clients", "manage-clients"),
    ("PUT", "admin/realms/r/clients/x/default-client-scopes/y", "manage-clients"),
    ("POST", "admin/realms/r/client-scopes", "manage-clients"),
    ("DELETE", "admin/realms/r/default-default-client-scopes/y", "manage-clients"),
    ("GET", "admin/realms/r/default-optional-client-scopes", "view-clients"),
    ("POST", "admin/realms/r/users/u/role-mappings/realm", "manage-users"),
    ("POST", "admin/realms/r/clients-initial-access", "manage-clients"),
    ("GET", "admin/realms/r/roles/x", "view-realm"),
])
def test_required_role_names_the_missing_admin_role(method, path, role):
    assert required_role(method, path) == role


def test_response_detail_is_one_line():
    body = b'{"error":"unauthorized_client","error_description":"Invalid client or Invalid client credentials"}'
    assert response_detail(body) == "unauthorized_client: Invalid client or Invalid client credentials"
    assert "\n" not in response_detail(b"line one\nline two")
