"""The secret-rotation client policy documents: idempotent, Keycloak's rules, and which clients they cover."""
import json

from ansible_collections.keycloak_ops.clients.plugins.module_utils._secrets.rotation_policy import (
    POLICY_ATTRIBUTE, covers, policy_key, profile_key, rotation_policy, rotation_profile, upsert,
)

CONFIDENTIAL = {"clientId": "a", "publicClient": False, "attributes": {POLICY_ATTRIBUTE: "p"}}


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
