"""Pure logic of the secret modules: durations, ages, masked values, the rotation policy documents."""
import json

import pytest

from ansible_collections.keycloak_ops.clients.plugins.module_utils._core.durations import (
    InvalidDuration, format_duration, iso_time, parse_duration,
)
from ansible_collections.keycloak_ops.clients.plugins.module_utils._secrets.rotation_policy import (
    POLICY_ATTRIBUTE, covers, policy_key, profile_key, rotation_policy, rotation_profile, upsert,
)
from ansible_collections.keycloak_ops.clients.plugins.module_utils._secrets.rotation import is_due
from ansible_collections.keycloak_ops.clients.plugins.module_utils._secrets.manager import (
    CREATED, is_masked, is_vault_reference, secret_age,
)


@pytest.mark.parametrize("value,seconds", [
    (3600, 3600), ("3600", 3600), ("90d", 90 * 86400), ("12h", 43200), ("30m", 1800), ("45s", 45), ("2w", 1209600),
    ("1h30m", 5400), ("1d12h", 129600), (" 1D ", 86400), ("1w2d3h4m5s", 604800 + 2 * 86400 + 3 * 3600 + 4 * 60 + 5),
])
def test_durations(value, seconds):
    assert parse_duration("max_age", value) == seconds


@pytest.mark.parametrize("value", ["", "abc", "-5", "0", 0, -1, "1.5h", "h", "30m1h", "1 h", True, None, 1.5, "1y"])
def test_bad_durations_name_the_option(value):
    with pytest.raises(InvalidDuration, match="^grace_period: expected a positive number of seconds"):
        parse_duration("grace_period", value)


def test_format_duration_reads_like_the_options():
    assert format_duration(5400) == "1h30m"
    assert format_duration(90 * 86400) == "90d"
    assert format_duration(0) == "0s"
    assert format_duration(None) == "unknown"
    assert parse_duration("x", format_duration(1234567)) == 1234567


def test_age_from_keycloak_creation_time():
    assert secret_age({CREATED: "1000"}, 1090.7) == 90
    assert secret_age({CREATED: "1000"}, 900) == 0, "a server clock ahead of ours is not a negative age"
    assert secret_age({}, 1000) is None
    assert secret_age(None, 1000) is None
    assert secret_age({CREATED: "garbage"}, 1000) is None


def test_due_when_max_age_old_or_older_or_unknown():
    assert is_due(90, 90) and is_due(91, 90)
    assert not is_due(89, 90)
    assert is_due(None, 90), "no creation time: the secret predates Keycloak's tracking, treat it as old"
    assert is_due(5, None), "without max_age every run regenerates"


def test_iso_times_are_utc():
    assert iso_time(0) == "1970-01-01T00:00:00Z"
    assert iso_time(None) is None


def test_masked_values():
    assert is_masked("**********") and is_masked("***")
    assert not is_masked("a*********") and not is_masked("") and not is_masked(None)


def test_vault_references_are_not_secrets():
    assert is_vault_reference("${vault.billing_secret}")
    assert not is_vault_reference("plain-${vault.x}") and not is_vault_reference(None)


def test_policy_documents_are_idempotent_and_keep_other_entries():
    other = {"name": "someone-elses", "executors": []}
    profiles, changed = upsert([other], rotation_profile("p", 86400, 3600), profile_key)
    assert changed and profiles[0] == other and profiles[1]["name"] == "p"
    # Keycloak answers what it stored: same config (numbers maybe as strings), another description.
    stored = json.loads(json.dumps(profiles))
    stored[1]["description"] = "edited in the console"
    assert upsert(stored, rotation_profile("p", 86400, 3600), profile_key) == (stored, False)
    changed_period = upsert(stored, rotation_profile("p", 86400, 7200), profile_key)
    assert changed_period[1] and changed_period[0][0] == other and len(changed_period[0]) == 2

    policy = rotation_policy("p")
    stored_policy = json.loads(json.dumps(policy))
    # Keycloak re-serializes the condition's JSON string; spacing must not count as a change.
    condition = stored_policy["conditions"][0]["configuration"]
    condition["attributes"] = json.dumps(json.loads(condition["attributes"]), separators=(",", ":"))
    assert upsert([stored_policy], policy, policy_key) == ([stored_policy], False)
    disabled = dict(stored_policy, enabled=False)
    assert upsert([disabled], policy, policy_key)[1]


def test_executor_config_respects_keycloak_rules():
    config = rotation_profile("p", 3600, 600)["executors"][0]["configuration"]
    assert config == {"expiration-period": "3600", "rotated-expiration-period": "600", "remaining-rotation-period": "3600"}
    assert rotation_profile("p", 365 * 86400, 600)["executors"][0]["configuration"]["remaining-rotation-period"] == "864000"


CONFIDENTIAL = {"clientId": "a", "publicClient": False, "attributes": {POLICY_ATTRIBUTE: "p"}}


def test_coverage_prediction():
    profiles = [rotation_profile("p", 3600, 600)]
    assert covers([rotation_policy("p")], profiles, CONFIDENTIAL)
    assert not covers([rotation_policy("p")], profiles, dict(CONFIDENTIAL, attributes={}))
    assert not covers([dict(rotation_policy("p"), enabled=False)], profiles, CONFIDENTIAL)
    assert not covers([rotation_policy("p")], [rotation_profile("p", 3600, 0)], CONFIDENTIAL), "no grace period"
    assert not covers([rotation_policy("p")], [], CONFIDENTIAL), "profile missing"
    any_client = {"name": "all", "enabled": True, "profiles": ["p"], "conditions": [{"condition": "any-client"}]}
    assert covers([any_client], profiles, {"clientId": "b"})
    access = {"name": "conf", "enabled": True, "profiles": ["p"],
              "conditions": [{"condition": "client-access-type", "configuration": {"type": ["confidential"]}}]}
    assert covers([access], profiles, {"clientId": "b", "publicClient": False})
    negated = json.loads(json.dumps(access))
    negated["conditions"][0]["configuration"]["is-negative-logic"] = True
    assert not covers([negated], profiles, {"clientId": "b", "publicClient": False})
    roles = {"name": "roles", "enabled": True, "profiles": ["p"],
             "conditions": [{"condition": "client-roles", "configuration": {"roles": ["x"]}}]}
    assert not covers([roles], profiles, CONFIDENTIAL), "conditions it cannot evaluate predict no grace"
