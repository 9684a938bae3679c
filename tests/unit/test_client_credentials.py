"""client_credentials: the provision role hands it the client task's results (no secrets) and the secret read's."""
from ansible_collections.keycloak_ops.clients.plugins.filter.client_credentials import client_credentials

URL = "https://sso.example.com"


def test_a_secret_read_of_its_own_gives_the_secret():
    read = [dict(client_id="worker", realm="apps", id="u1", secret="s3cr3t-value")]
    credentials = client_credentials(read, URL)
    assert credentials["worker"]["client_secret"] == "s3cr3t-value"
    assert credentials["worker"]["token_url"] == URL + "/realms/apps/protocol/openid-connect/token"


def test_a_client_whose_secret_is_not_readable_yet_is_pending():
    results = [dict(client_id="new", realm="apps", id=None, changed=True, state="present", secret_readable=False),
               dict(client_id="made-confidential", realm="apps", id="u2", changed=True, state="present",
                    secret_readable=False),
               dict(client_id="kept", realm="apps", id="u3", changed=False, state="present", secret_readable=True),
               dict(client_id="gone", realm="apps", id="u4", changed=True, state="absent")]
    credentials = client_credentials(results, URL)
    assert credentials["new"]["pending"] and credentials["made-confidential"]["pending"]
    assert "pending" not in credentials["kept"] and "client_secret" not in credentials["kept"]
    assert "gone" not in credentials
