"""version_added holds what each release brought: a plugin, role or option that the last release did not have
says the version galaxy.yml is about to release; what the last release had says that release or an earlier one.
The last release's plugins and options are recorded in tests/unit/data/options-<version>.json (written once
from its commit by `python -m tests.unit.version_metadata <commit>`). galaxy.yml's version must itself be a
release of changelogs/changelog.yaml (antsibull-changelog release)."""
import json
import os

import pytest
import yaml
from ansible.module_utils.compat.version import LooseVersion

from tests.collection_path import collections_root
from tests.unit.version_metadata import DATA, REPO, documented


def load(path):
    with open(os.path.join(REPO, path), encoding="utf-8") as handle:
        return yaml.safe_load(handle)


GALAXY_VERSION = load("galaxy.yml")["version"]
RELEASES = sorted(load("changelogs/changelog.yaml")["releases"], key=LooseVersion)
# The last release before the one galaxy.yml prepares (galaxy.yml's own once it is released).
PREVIOUS = [v for v in RELEASES if LooseVersion(v) < LooseVersion(GALAXY_VERSION)][-1]


@pytest.fixture(scope="module")
def current():
    return documented(os.path.join(collections_root(), "ansible_collections", "keycloak_ops", "clients"))


@pytest.fixture(scope="module")
def previous():
    with open(os.path.join(DATA, "options-%s.json" % PREVIOUS), encoding="utf-8") as handle:
        return json.load(handle)["plugins"]


def test_galaxy_version_is_released_in_the_changelog():
    # Fails until the release is made (antsibull-changelog release), then holds galaxy.yml and the changelog
    # together: a version bump without a release, or a release without the bump, fails here.
    assert GALAXY_VERSION in RELEASES, (
        "galaxy.yml says %s, changelogs/changelog.yaml releases %s: run antsibull-changelog release"
        % (GALAXY_VERSION, ", ".join(RELEASES)))


def test_the_last_release_is_recorded():
    assert os.path.isfile(os.path.join(DATA, "options-%s.json" % PREVIOUS)), (
        "run python -m tests.unit.version_metadata <commit of %s>" % PREVIOUS)


def test_new_plugins_and_roles_say_the_coming_version(current, previous):
    wrong = {key: entry["version_added"] for key, entry in current.items()
             if key not in previous and entry["version_added"] != GALAXY_VERSION}
    assert not wrong, "new since %s, so version_added: %s: %s" % (PREVIOUS, GALAXY_VERSION, wrong)


def test_released_plugins_and_roles_say_their_release(current, previous):
    wrong = {key: entry["version_added"] for key, entry in current.items()
             if key in previous and (entry["version_added"] is None
                                     or LooseVersion(str(entry["version_added"])) > LooseVersion(PREVIOUS))}
    assert not wrong, "released in %s or before, so version_added at most %s: %s" % (PREVIOUS, PREVIOUS, wrong)


def test_options_added_since_the_last_release_say_the_coming_version(current, previous):
    wrong = {}
    for key, entry in current.items():
        if key not in previous:
            continue  # the plugin's own version_added covers its options
        released = set(previous[key])
        for path, added in entry["options"].items():
            parent = path.rpartition(".")[0]
            new = path not in released and (not parent or parent in released)
            if new and added != GALAXY_VERSION:
                wrong["%s %s" % (key, path)] = added
            elif path in released and added is not None and LooseVersion(str(added)) > LooseVersion(PREVIOUS):
                wrong["%s %s" % (key, path)] = added
    assert not wrong, "options new since %s need version_added: %s (released ones at most %s): %s" % (
        PREVIOUS, GALAXY_VERSION, PREVIOUS, json.dumps(wrong, indent=1, sort_keys=True))
