"""Carrying out client plans: secrets generated as Keycloak does, and undos that put a client back as it was."""
from ansible_collections.keycloak_ops.clients.plugins.module_utils._clients.write import (
    SECRET_ALPHABET, SECRET_LENGTH, new_secret, restoring,
)


def test_a_generated_secret_is_like_keycloaks_own():
    secrets = {new_secret() for _index in range(20)}
    assert len(secrets) == 20, "never the same twice"
    assert all(len(s) == SECRET_LENGTH == 32 and set(s) <= set(SECRET_ALPHABET) for s in secrets)


def test_the_undo_of_an_update_clears_what_the_client_did_not_have():
    """Keycloak keeps a field a PUT leaves out: the undo sends a field the update added as empty."""
    current = dict(id="x", clientId="a", redirectUris=["https://a/cb"], attributes={"kept": "1"},
                   protocolMappers=[{"name": "m"}])
    changes = dict(description="first", redirectUris=["https://b/cb"], attributes={"new.key": "v", "kept": "2"})
    body = restoring(current, changes)
    assert body["description"] == "" and body["redirectUris"] == ["https://a/cb"]
    assert body["attributes"] == {"kept": "1", "new.key": ""} and "protocolMappers" not in body
