"""Tokens shaped like Keycloak's for the tests of what is read from them without trusting them."""
import base64
import json

# A fixed "now" (2026-11-23T11:46:57Z), so times in messages are known.
NOW = 1795434417


def jwt(**claims):
    """A token shaped like Keycloak's (the signature is never checked by our code)."""
    def part(data):
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")
    return "%s.%s.c2lnbmF0dXJl" % (part({"alg": "HS512", "typ": "JWT"}), part(claims))
