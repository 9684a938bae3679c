"""Client secrets as read from Keycloak: their age, masked values and vault references are no secrets."""
from ansible_collections.keycloak_ops.clients.plugins.module_utils._secrets.manager import CREATED, is_masked, is_vault_reference, secret_age


def test_age_from_keycloak_creation_time():
    assert secret_age({CREATED: "1000"}, 1090.7) == 90
    assert secret_age({CREATED: "1000"}, 900) == 0, "a server clock ahead of ours is not a negative age"
    assert secret_age({}, 1000) is None
    assert secret_age(None, 1000) is None
    assert secret_age({CREATED: "garbage"}, 1000) is None


def test_masked_values():
    assert is_masked("**********") and is_masked("***")
    assert not is_masked("a*********") and not is_masked("") and not is_masked(None)


def test_vault_references_are_not_secrets():
    assert is_vault_reference("${vault.billing_secret}")
    assert not is_vault_reference("plain-${vault.x}") and not is_vault_reference(None)
