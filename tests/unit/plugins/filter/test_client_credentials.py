"""The client_credentials filter: client module results to the credentials the deliver role hands to consumers."""
import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.keycloak_ops.clients.plugins.filter.client_credentials import client_credentials

RESULTS = [dict(client_id="worker", realm="apps", id="u1", secret="s3cret", changed=False, state="present"),
           dict(client_id="spa", realm="apps", id="u2", changed=True),
           dict(client_id="gone", realm="apps", id=None, changed=True, state="absent"),
           dict(client_id="new", realm="apps", id=None, changed=True)]


def test_each_present_client_gets_its_urls_and_its_secret_when_returned():
    credentials = client_credentials(RESULTS, "https://sso.example.com/")
    assert sorted(credentials) == ["new", "spa", "worker"], "an absent client has nothing to deliver"
    assert credentials["worker"] == dict(
        client_id="worker", realm="apps", id="u1", client_secret="s3cret",
        issuer_url="https://sso.example.com/realms/apps",
        token_url="https://sso.example.com/realms/apps/protocol/openid-connect/token")
    assert "client_secret" not in credentials["spa"] and "pending" not in credentials["spa"]


def test_a_client_to_be_created_or_rotated_in_check_mode_is_pending():
    credentials = client_credentials(RESULTS, "https://sso.example.com", pending=["worker"])
    assert credentials["new"]["pending"] is True and credentials["worker"]["pending"] is True
    assert "client_secret" not in credentials["worker"], "the secret about to be replaced is not delivered"


def test_an_empty_public_url_is_refused():
    with pytest.raises(AnsibleFilterError, match="public_url is empty"):
        client_credentials(RESULTS, "")


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
