"""What may be read from a token without trusting it: its claims and a fingerprint that names it."""
from ansible_collections.keycloak_ops.clients.plugins.module_utils._core.tokens import fingerprint, token_claims
from tests.unit.plugins.module_utils.tokens import jwt


def test_fingerprint_is_short_and_stable():
    assert fingerprint("abc") == "ba7816bf8f01" and fingerprint(None) is None


def test_token_claims_are_read_without_verification():
    assert token_claims(jwt(typ="InitialAccessToken", exp=5))["exp"] == 5
    for garbage in ("abc", "a.b.c", None, "a.!!!.c"):
        assert token_claims(garbage) == {}


def test_claims_of_a_malformed_token_are_empty():
    assert token_claims("not-a-jwt") == {} and token_claims(None) == {}
