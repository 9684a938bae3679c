"""The admin API session without a server: paths, retries of what may be retried, one token renewal at a time."""
import threading
import time

import pytest
from urllib3 import exceptions as urllib3_errors

from ansible_collections.keycloak_ops.clients.plugins.module_utils._core.connection import (
    RETRIED_METHODS, KeycloakAPI, SentOnceRetry, admin_path,
)
from ansible_collections.keycloak_ops.clients.plugins.module_utils._core.connection_options import keycloak_argument_spec


def test_admin_path_quotes_each_segment():
    assert admin_path("my realm", "clients", "a/b") == "admin/realms/my%20realm/clients/a%2Fb"


# -- retries and the token, without a server ---------------------------------------------------------------

def api_with(**given):
    params = {name: spec.get("default") for name, spec in keycloak_argument_spec().items()}
    params.update(auth_keycloak_url="http://127.0.0.1:1", **given)
    return KeycloakAPI(params)


def test_an_unclassified_failure_is_never_retried_for_a_post():
    """urllib3 retries an "other" error (a TLS failure while reading the answer) for every method by itself."""
    retry = SentOnceRetry(total=3, connect=3, read=1, allowed_methods=RETRIED_METHODS)
    broken = urllib3_errors.SSLError("[SSL: DECRYPTION_FAILED_OR_BAD_RECORD_MAC] decryption failed")
    with pytest.raises(urllib3_errors.SSLError):
        retry.increment("POST", "/admin/realms/r/clients", error=broken)
    assert retry.increment("GET", "/admin/realms/r/clients", error=broken).read == 0, "a GET may go once more"
    refused = urllib3_errors.NewConnectionError(None, "Connection refused")
    assert retry.increment("POST", "/admin/realms/r/clients", error=refused).connect == 2, "never left: resent"


def test_every_session_mounts_the_retry_without_post():
    api = api_with(auth_username="admin", auth_password="not-a-password")
    sessions = (api.connection._s, api.connection.keycloak_openid.connection._s)
    for adapter in (a for s in sessions for a in s.adapters.values()):
        assert isinstance(adapter.max_retries, SentOnceRetry) and "POST" not in adapter.max_retries.allowed_methods


def test_threads_finding_the_token_expired_renew_it_once():
    api = api_with(auth_username="admin", auth_password="not-a-password")
    renewals = []

    def refresh():
        renewals.append(threading.get_ident())
        time.sleep(0.2)  # long enough for every other thread to arrive while this one renews
        api.connection.token = {"access_token": "token-%d" % len(renewals), "expires_in": 300}

    api.connection.refresh_token = refresh
    start = threading.Barrier(8)
    seen = []

    def work():
        start.wait()
        seen.append(api._bearer())

    threads = [threading.Thread(target=work) for _index in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(renewals) == 1 and seen == ["token-1"] * 8
    # After a 401, only the first thread to hold the refused token renews it; the others take the new one.
    assert api._bearer_after_401("token-1") == "token-2" and api._bearer_after_401("token-1") == "token-2"
    assert len(renewals) == 2


def test_a_given_token_is_never_renewed():
    api = api_with(token="given-token")
    api.connection.refresh_token = lambda: pytest.fail("a given token cannot be renewed")
    assert api._bearer() == "given-token"
