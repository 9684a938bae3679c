"""The keycloak_dev role runs the Keycloak the tests run: same version, same pinned SHA-512."""
import os

import yaml

from tests.collection_path import REPO
from tests.harness.keycloak_dist import DIST_SHA512, KEYCLOAK_VERSION


def test_role_pins_the_tested_distribution():
    with open(os.path.join(REPO, "roles", "keycloak_dev", "defaults", "main.yml")) as handle:
        defaults = yaml.safe_load(handle)
    assert str(defaults["keycloak_dev_version"]) == KEYCLOAK_VERSION
    assert defaults["keycloak_dev_sha512"] == DIST_SHA512[KEYCLOAK_VERSION]
    with open(os.path.join(REPO, "roles", "keycloak_dev", "meta", "argument_specs.yml")) as handle:
        options = yaml.safe_load(handle)["argument_specs"]["main"]["options"]
    assert str(options["keycloak_dev_version"]["default"]) == KEYCLOAK_VERSION
