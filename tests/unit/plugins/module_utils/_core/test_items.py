"""One client or many: the items of a module call, top-level options as their defaults, their secrets."""
import pytest

from ansible_collections.keycloak_ops.clients.plugins.module_utils._clients.options import CONFIDENTIAL_OPTIONS
from ansible_collections.keycloak_ops.clients.plugins.module_utils._core.items import (
    InvalidItem, client_items, given_secrets, items_argument_spec,
)


def params(options, **given):
    spec = items_argument_spec(options)
    values = {k: v.get("default") for k, v in spec.items()}
    values.update(given)
    return values


BAD_ITEMS = [
    (dict(), "one of client_id or clients"),
    (dict(client_id="a", clients=["b"]), "mutually exclusive"),
    (dict(clients=[]), "clients is empty"),
    (dict(clients=["a", "a"]), "already declared by clients\\[0\\]"),
    (dict(clients=[{"name": "no id"}]), "clients\\[0\\]: client_id is required"),
    (dict(clients=[{"client_id": "a", "bogus": 1}]), "clients\\[0\\]: .*bogus"),
    (dict(clients=[42]), "clients\\[0\\]: expected a client id"),
]


@pytest.mark.parametrize("given,message", BAD_ITEMS)
def test_bad_items_are_one_clear_line(given, message):
    with pytest.raises(InvalidItem, match=message) as info:
        client_items(params(CONFIDENTIAL_OPTIONS, **given), CONFIDENTIAL_OPTIONS)
    assert "\n" not in str(info.value)


def test_top_level_options_are_defaults_for_items():
    spec = CONFIDENTIAL_OPTIONS
    items = client_items(params(spec, realm="apps", preset="service", clients=["a", {"client_id": "b", "preset": "web"}]), spec)
    assert [(i["client_id"], i["realm"], i["preset"]) for i in items] == [("a", "apps", "service"), ("b", "apps", "web")]


def test_given_secrets_found_in_raw_items_by_name_and_alias_whatever_their_length():
    options = dict(client_id=dict(type='str'), secret=dict(type='str', no_log=True, aliases=['client_secret']))
    raw = ['just-an-id', {'client_id': 'a', 'secret': 'short'}, {'client_id': 'b', 'client_secret': 'aliased-secret'},
           {'client_id': 'c'}, 42]
    assert given_secrets(raw, options) == {'short', 'aliased-secret'}
    assert given_secrets(None, options) == set()
