"""The deliver role offers exactly the consumer presets the credentials_file filter knows."""
import os

import yaml

from ansible_collections.keycloak_ops.clients.plugins.plugin_utils._delivery_presets import (
    CONSUMER_PRESETS, CREDENTIAL_FIELDS,
)
from tests.collection_path import REPO

ARGUMENT_SPECS = os.path.join(REPO, "roles", "deliver", "meta", "argument_specs.yml")


def preset_options(options, path=()):
    """Every option named preset in an argument spec, with where it sits."""
    for name, spec in options.items():
        if name == "preset":
            yield "/".join(path + (name,)), spec
        yield from preset_options(spec.get("options") or {}, path + (name,))


def test_every_preset_option_of_the_deliver_role_offers_the_consumer_presets():
    with open(ARGUMENT_SPECS) as handle:
        options = yaml.safe_load(handle)["argument_specs"]["main"]["options"]
    found = dict(preset_options(options))
    assert sorted(found) == ["deliver_files/preset", "deliver_hashi_vault/preset", "deliver_kubernetes/preset"]
    for where, spec in found.items():
        assert sorted(spec["choices"]) == sorted(CONSUMER_PRESETS), where
        assert spec["default"] in CONSUMER_PRESETS, where


def test_every_consumer_preset_names_only_credential_fields():
    for name, keys in CONSUMER_PRESETS.items():
        assert set(keys) <= set(CREDENTIAL_FIELDS), name
        assert {"client_id", "client_secret"} <= set(keys), name
