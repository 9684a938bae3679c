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


def test_community_general_options_accepted_by_admin_modules_and_named_in_one_warning():
    from ansible_collections.keycloak_ops.clients.plugins.module_utils._connection_options import (
        IGNORED_OPTIONS, ignored_options_warning)
    from ansible_collections.keycloak_ops.clients.plugins.module_utils._module import connection_argument_spec
    assert set(IGNORED_OPTIONS) <= set(connection_argument_spec('admin'))
    assert not set(IGNORED_OPTIONS) & set(connection_argument_spec('server'))
    assert IGNORED_OPTIONS['refresh_token']['no_log'] is True
    assert ignored_options_warning({'http_agent': None, 'refresh_token': None}) is None
    assert ignored_options_warning({'http_agent': 'Ansible'}) == (
        "http_agent: option of the community.general keycloak modules, ignored by keycloak_ops.clients; remove it "
        "(see the collection's docs/migrating-from-community-general.md)")
