"""The connection options: the base URL as python-keycloak needs it, and community.general's options ignored."""
import pytest

from ansible_collections.keycloak_ops.clients.plugins.module_utils._core.connection_options import (
    IGNORED_OPTIONS, ignored_options_warning, normalize_base_url,
)
from ansible_collections.keycloak_ops.clients.plugins.module_utils._core.errors import KeycloakOpsError
from ansible_collections.keycloak_ops.clients.plugins.module_utils._core.module import connection_argument_spec


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


def test_community_general_options_accepted_by_admin_modules_and_named_in_one_warning():
    assert set(IGNORED_OPTIONS) <= set(connection_argument_spec('admin'))
    assert not set(IGNORED_OPTIONS) & set(connection_argument_spec('server'))
    assert IGNORED_OPTIONS['refresh_token']['no_log'] is True
    assert ignored_options_warning({'http_agent': None, 'refresh_token': None}) is None
    assert ignored_options_warning({'http_agent': 'Ansible'}) == (
        "http_agent: option of the community.general keycloak modules, ignored by keycloak_ops.clients; remove it "
        "(see the collection's docs/migrating-from-community-general.md)")
