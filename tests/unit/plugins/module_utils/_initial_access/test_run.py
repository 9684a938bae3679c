"""The run of initial_access_token (its module's own argument spec, a stand-in admin API): what is refused before any
request, listing, minting in check mode and for real, revoking the chosen tokens, and diffs without a token value."""
import pytest

from ansible_collections.keycloak_ops.clients.plugins.modules.initial_access_token import main
from tests.unit.module_runs import run_main, stand_in_api
from tests.unit.plugins.module_utils.admin_api import AdminAPI
from tests.unit.plugins.module_utils.tokens import NOW

TOKENS = "admin/realms/r/clients-initial-access"
LISTED = [{"id": "old", "timestamp": NOW - 7200, "expiration": 3600, "count": 5, "remainingCount": 5},
          {"id": "spent", "timestamp": NOW, "expiration": 0, "count": 1, "remainingCount": 0}]


@pytest.fixture
def api(monkeypatch):
    return stand_in_api(monkeypatch, AdminAPI({TOKENS: LISTED}))


def run(capsys, **args):
    return run_main(capsys, main, dict(dict(auth_keycloak_url="http://127.0.0.1:1", auth_password="pw", realm="r"),
                                       **args))


@pytest.mark.parametrize("args,message", [
    (dict(state="present", count=0), "count must be at least 1"),
    (dict(state="present", count=2 ** 31), "count must be at most 2147483647"),
    (dict(state="present", expiration="soon"), "expiration"),
    (dict(state="absent"), "state=absent needs id, expired=true or used_up=true"),
])
def test_what_keycloak_would_refuse_fails_before_any_request(capsys, api, args, message):
    failure = run(capsys, **args)
    assert failure["failed"] and message in failure["msg"] and api.reads == [] and api.sent == []


def test_without_state_the_tokens_are_listed_and_nothing_is_checked_or_written(capsys, api):
    result = run(capsys)
    assert result["changed"] is False and [t["id"] for t in result["tokens"]] == ["old", "spent"]
    assert result["tokens"][1]["used_up"] is True and api.sent == [] and api.reads == [TOKENS]


def test_check_mode_predicts_a_new_token_without_minting_one(capsys, api):
    result = run(capsys, state="present", count=3, expiration="2h", _ansible_check_mode=True, _ansible_diff=True)
    assert result["changed"] and result["token"] is None and result["expiration"] == 7200 and api.sent == []
    assert result["diff"]["after"]["tokens"][-1] == "(new) count=3 remaining=3 expires=never"


def test_a_minted_token_is_returned_once_with_its_fingerprint(capsys, monkeypatch):
    minted = {"id": "new", "token": "the-token-value", "timestamp": NOW, "expiration": 3600, "count": 1,
              "remainingCount": 1}
    api = stand_in_api(monkeypatch, AdminAPI({TOKENS: LISTED, ("POST", TOKENS): minted}))
    result = run(capsys, state="present", _ansible_diff=True)
    assert result["token"] == "the-token-value" and len(result["fingerprint"]) == 12
    assert api.writes() == [("POST", TOKENS)] and api.sent[0][2] == {"count": 1, "expiration": 3600}
    assert all("token" not in line for line in result["tokens"]), "the listing shows no token value"
    assert "the-token-value" not in str(result["diff"]) and "the-token-value" not in str(result["tokens"])


def test_the_chosen_tokens_are_revoked(capsys, api):
    result = run(capsys, state="absent", used_up=True, id=["old", "unknown"])
    assert result["changed"] and result["revoked"] == ["old", "spent"]
    assert api.writes() == [("DELETE", TOKENS + "/old"), ("DELETE", TOKENS + "/spent")]


def test_minting_and_revoking_need_manage_clients(capsys, monkeypatch):
    stand_in_api(monkeypatch, AdminAPI({TOKENS: LISTED}, roles=("view-clients",)))
    failure = run(capsys, state="absent", expired=True)
    assert failure["failed"] and failure["msg"] == (
        "realm 'r': client 'automation' lacks the 'manage-clients' role of realm-management in realm 'r', which "
        "minting and revoking initial access tokens needs")
