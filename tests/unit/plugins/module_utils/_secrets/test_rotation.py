"""The run of client_secret: when a secret is due."""
from ansible_collections.keycloak_ops.clients.plugins.module_utils._secrets.rotation import is_due


def test_due_when_max_age_old_or_older_or_unknown():
    assert is_due(90, 90) and is_due(91, 90)
    assert not is_due(89, 90)
    assert is_due(None, 90), "no creation time: the secret predates Keycloak's tracking, treat it as old"
    assert is_due(5, None), "without max_age every run regenerates"
