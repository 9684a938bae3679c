from ansible_collections.keycloak_ops.clients.plugins.module_utils._masking import MASK, collect_secrets, mask


def test_masks_secret_fields_at_any_depth():
    rep = {"clientId": "a", "secret": "s3cr3t-value", "registrationAccessToken": "rat-value",
           "attributes": {"client.secret.rotated": "old-secret", "client.secret.creation.time": "1700000000",
                          "pkce.code.challenge.method": "S256"}}
    masked = mask(rep)
    assert masked["secret"] == MASK
    assert masked["registrationAccessToken"] == MASK
    assert masked["attributes"]["client.secret.rotated"] == MASK
    assert masked["attributes"]["client.secret.creation.time"] == "1700000000"
    assert masked["attributes"]["pkce.code.challenge.method"] == "S256"
    assert rep["secret"] == "s3cr3t-value", "mask must not modify its input"


def test_empty_secrets_stay_visible_as_empty():
    assert mask({"secret": None, "value": ""}) == {"secret": None, "value": ""}


def test_collect_secrets_finds_every_secret_string():
    reps = [{"secret": "one-secret", "attributes": {"client.secret.rotated": "two-secret"}}, {"secret": None}]
    assert collect_secrets(reps) == {"one-secret", "two-secret"}
