"""Client presets: the settings a kind of application needs, filling only what the user left unset."""
import pytest

from ansible_collections.keycloak_ops.clients.plugins.module_utils._clients.options import (
    CONFIDENTIAL_OPTIONS, PUBLIC_OPTIONS,
)
from ansible_collections.keycloak_ops.clients.plugins.module_utils._clients.presets import (
    CONFIDENTIAL_PRESETS, PUBLIC_PRESETS, apply_preset,
)


def test_a_preset_fills_only_unset_options():
    merged = apply_preset(dict(preset="service", standard_flow=True, direct_access_grants=None), CONFIDENTIAL_PRESETS)
    assert merged == dict(preset="service", standard_flow=True, direct_access_grants=False, service_accounts=True)


def test_no_preset_is_the_options_as_given_and_never_the_same_dict():
    options = dict(client_id="a", standard_flow=None)
    merged = apply_preset(options, PUBLIC_PRESETS)
    assert merged == options and merged is not options


@pytest.mark.parametrize("presets,options", [(CONFIDENTIAL_PRESETS, CONFIDENTIAL_OPTIONS), (PUBLIC_PRESETS, PUBLIC_OPTIONS)])
def test_every_preset_sets_only_options_of_its_kind_and_is_a_choice_of_the_preset_option(presets, options):
    assert sorted(presets) == sorted(options["preset"]["choices"])
    for name, settings in presets.items():
        assert set(settings) <= set(options), name
