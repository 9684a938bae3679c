from ansible_collections.keycloak_ops.clients.plugins.module_utils._core.masking import MASK, collect_secrets, mask


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


def test_saml_private_keys_are_masked_and_collected_but_certificates_are_not():
    rep = {"clientId": "wiki", "protocol": "saml", "attributes": {
        "saml.signing.private.key": "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC",
        "saml.encryption.private.key": "MIIEvgIBADANBgkqhkiG9w0BAQEFAASC",
        "saml.signing.certificate": "MIIC+zCCAeOgAwIBAgIUQ",
        "saml_signature_canonicalization_method": "http://www.w3.org/2001/10/xml-exc-c14n#"}}
    masked = mask(rep)
    assert masked["attributes"]["saml.signing.private.key"] == MASK
    assert masked["attributes"]["saml.encryption.private.key"] == MASK
    assert masked["attributes"]["saml.signing.certificate"] == "MIIC+zCCAeOgAwIBAgIUQ"
    assert collect_secrets(rep) == {"MIIEvQIBADANBgkqhkiG9w0BAQEFAASC", "MIIEvgIBADANBgkqhkiG9w0BAQEFAASC"}
    assert mask({"privateKey": "k1", "certificate": "c"}) == {"privateKey": MASK, "certificate": "c"}


def test_a_pem_private_key_is_masked_under_any_key():
    pem = "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIB\n-----END EC PRIVATE KEY-----\n"
    assert mask({"config": {"key.pem": pem, "cert.pem": "-----BEGIN CERTIFICATE-----"}}) == \
        {"config": {"key.pem": MASK, "cert.pem": "-----BEGIN CERTIFICATE-----"}}
    assert collect_secrets([{"anything": pem}]) == {pem}
