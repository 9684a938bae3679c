import pytest

from ansible_collections.keycloak_ops.clients.plugins.module_utils._connection import (
    KeycloakOpsError, admin_path, normalize_base_url,
)
from ansible_collections.keycloak_ops.clients.plugins.module_utils._http_errors import required_role, response_detail


@pytest.mark.parametrize("url,expected", [
    ("http://127.0.0.1:8080", "http://127.0.0.1:8080/"),
    ("http://127.0.0.1:8080/", "http://127.0.0.1:8080/"),
    ("https://sso.example.com/auth", "https://sso.example.com/auth/"),
    ("https://sso.example.com/auth/", "https://sso.example.com/auth/"),
    ("https://proxy.example.com/id/keycloak//", "https://proxy.example.com/id/keycloak/"),
])
def test_base_url_keeps_path_prefix(url, expected):
    assert normalize_base_url(url) == expected


@pytest.mark.parametrize("url", ["sso.example.com", "ftp://sso.example.com", "", None, "http://"])
def test_base_url_rejects_non_http(url):
    with pytest.raises(KeycloakOpsError, match="not an http"):
        normalize_base_url(url)


def test_admin_path_quotes_each_segment():
    assert admin_path("my realm", "clients", "a/b") == "admin/realms/my%20realm/clients/a%2Fb"


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
