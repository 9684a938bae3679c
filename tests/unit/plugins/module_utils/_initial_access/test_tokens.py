"""Initial access tokens as they may be shown (never their value), and which ones to revoke."""
from ansible_collections.keycloak_ops.clients.plugins.module_utils._initial_access.tokens import summary, to_revoke
from tests.unit.plugins.module_utils.tokens import NOW


def test_summary_never_holds_the_value_and_judges_expiry():
    rep = {"id": "a", "token": "VALUE", "timestamp": NOW, "expiration": 60, "count": 2, "remainingCount": 0}
    line = summary(rep, now=NOW + 61)
    assert "token" not in line and line["expired"] is True and line["used_up"] is True
    assert line["expires_at"] == "2026-11-23T11:47:57Z" and line["created_at"] == "2026-11-23T11:46:57Z"
    never = summary(dict(rep, expiration=0, remainingCount=1), now=NOW + 10 ** 8)
    assert never["expired"] is False and never["expires_at"] is None and never["used_up"] is False


def test_revoke_choice():
    tokens = [dict(id="old", expired=True, used_up=False), dict(id="spent", expired=False, used_up=True),
              dict(id="live", expired=False, used_up=False)]
    assert [t["id"] for t in to_revoke(tokens, expired=True)] == ["old"]
    assert [t["id"] for t in to_revoke(tokens, used_up=True)] == ["spent"]
    assert [t["id"] for t in to_revoke(tokens, ids=["live", "gone"], expired=True)] == ["old", "live"]
    assert to_revoke(tokens) == []
