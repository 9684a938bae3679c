"""The run of client_credentials_check with the token endpoint's answers stood in: the auth method learned from a
refusal, one line per refused client, and no secret in what is shown."""
import base64
import json

import pytest

from ansible_collections.keycloak_ops.clients.plugins.module_utils._secrets import credentials_check
from ansible_collections.keycloak_ops.clients.plugins.module_utils._secrets.credentials_check import (
    CHECK_ITEM, CredentialsCheck, basic_authorization, run_credentials_check,
)
from tests.unit.module_runs import run_module

URL = "http://127.0.0.1:1/"
WRONG_METHOD = {"error": "unauthorized_client", "error_description": "Invalid method used to get client secret. Client "
                "requires method 'client_secret_post' to obtain client secret from the request"}


def test_basic_authorization_form_encodes_both_parts_before_joining_them():
    header = basic_authorization("app:1", "s3cret/+ &")
    assert base64.b64decode(header[len("Basic "):]).decode() == "app%3A1:s3cret%2F%2B+%26"


def test_the_token_url_quotes_the_realm():
    assert CredentialsCheck(dict(auth_keycloak_url=URL)).token_url("my realm") == (
        URL + "realms/my%20realm/protocol/openid-connect/token")


class Answers(object):
    """The token endpoint's answers per (client id, auth method), recorded as asked."""

    def __init__(self, answers):
        self.answers, self.asked = answers, []

    def __call__(self, url, client_id, secret, method):  # set on the class, so called without the checker
        self.asked.append((client_id, method))
        return self.answers[(client_id, method)]


@pytest.fixture
def endpoint(monkeypatch):
    def install(answers):
        stand_in = Answers(answers)
        monkeypatch.setattr(CredentialsCheck, "_request", stand_in)
        return stand_in
    return install


def item(client_id, secret="s3cret-of-%s", auth_method="auto"):
    return dict(client_id=client_id, realm="apps", secret=secret % client_id if "%s" in secret else secret,
                auth_method=auth_method)


def test_auto_asks_again_with_the_method_the_client_was_registered_with(endpoint):
    asked = endpoint({("a", "client_secret_basic"): (401, WRONG_METHOD),
                      ("a", "client_secret_post"): (200, {"access_token": "t"})})
    result = CredentialsCheck(dict(auth_keycloak_url=URL)).check(item("a"))
    assert result == dict(client_id="a", realm="apps", ok=True, auth_method="client_secret_post", status=200, error=None)
    assert asked.asked == [("a", "client_secret_basic"), ("a", "client_secret_post")]


def test_a_method_given_is_used_alone_and_a_refusal_is_one_line(endpoint):
    asked = endpoint({("a", "client_secret_basic"): (401, WRONG_METHOD)})
    result = CredentialsCheck(dict(auth_keycloak_url=URL)).check(item("a", auth_method="client_secret_basic"))
    assert not result["ok"] and result["status"] == 401 and asked.asked == [("a", "client_secret_basic")]
    assert result["error"].startswith("HTTP 401 unauthorized_client: Invalid method") and "\n" not in result["error"]


def test_an_unknown_realm_and_a_missing_secret_say_so(endpoint):
    endpoint({("a", "client_secret_basic"): (404, {"error": "Realm does not exist"})})
    checker = CredentialsCheck(dict(auth_keycloak_url=URL))
    assert checker.check(item("a"))["error"] == (
        "realm 'apps' does not exist (HTTP 404 from %srealms/apps/protocol/openid-connect/token)" % URL)
    assert checker.check(item("b", secret=""))["error"] == "no secret given"


def test_the_run_fails_naming_each_refused_client_and_shows_no_secret(endpoint, capsys):
    endpoint({("ok", "client_secret_basic"): (200, {"access_token": "t"}),
              ("bad", "client_secret_basic"): (401, {"error": "unauthorized_client", "error_description": "Invalid"})})
    # Results of client_secret are checked as they are: their other keys say nothing to the check.
    clients = [dict(item("ok"), changed=True, id="u1", diff={}), item("bad")]
    failure = run_module(capsys, dict(auth_keycloak_url=URL, realm="apps", clients=clients), run_credentials_check,
                         connection="server", item_options=CHECK_ITEM)
    assert failure["failed"] and failure["msg"] == (
        "1 of 2 clients got no token: clients[1] (client 'bad'): HTTP 401 unauthorized_client: Invalid")
    assert [r["ok"] for r in failure["clients"]] == [True, False]
    assert "s3cret-of" not in json.dumps(failure)


def test_a_run_whose_clients_all_get_a_token_changes_nothing(endpoint, capsys):
    endpoint({("ok", "client_secret_basic"): (200, {"access_token": "t"})})
    result = run_module(capsys, dict(auth_keycloak_url=URL, client_id="ok", secret="s3cret-of-ok"),
                        run_credentials_check, connection="server", item_options=CHECK_ITEM)
    assert not result.get("failed") and result["changed"] is False and result["ok"] is True
    assert credentials_check.REQUESTS_IMPORT_ERROR is None
