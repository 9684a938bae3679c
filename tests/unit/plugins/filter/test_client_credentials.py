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
