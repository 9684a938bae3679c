# -*- coding: utf-8 -*-
# Copyright: keycloak_ops contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Internal to keycloak_ops.clients: no stability promise. Modules and plugins of other collections
# must not import it; its names and signatures change whenever the collection needs them to.
"""What may be read from a token without trusting it: its claims (to explain a refusal or find roles) and a
fingerprint (to name a token in output without showing it)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import hashlib
import json

FINGERPRINT_LENGTH = 12


def token_claims(token):
    """The payload of a JWT, unverified (Keycloak verifies it; this only reads what it says), or {}."""
    try:
        payload = token.split('.')[1]
        payload += '=' * (-len(payload) % 4)
        claims = json.loads(base64.urlsafe_b64decode(payload.encode('ascii')).decode('utf-8'))
    except (AttributeError, IndexError, ValueError, TypeError, UnicodeError):
        return {}
    return claims if isinstance(claims, dict) else {}


def fingerprint(token):
    """A short, irreversible name for a token value, safe to print and to compare."""
    if not token:
        return None
    return hashlib.sha256(token.encode('utf-8')).hexdigest()[:FINGERPRINT_LENGTH]
