# -*- coding: utf-8 -*-
# Copyright: keycloak_ops contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Internal to keycloak_ops.clients: no stability promise. Modules and plugins of other collections
# must not import it; its names and signatures change whenever the collection needs them to.
"""Masking of secret values in anything a module returns, diffs included."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

MASK = '********'

# Keys whose value is a credential wherever they appear in a Keycloak representation.
SECRET_KEYS = frozenset((
    'secret',
    'client.secret.rotated',
    'registrationAccessToken',
    'registration_access_token',
    'client_secret',
    'value',
    'token',
    'password',
))
# Keys that contain the word "secret" or "token" but hold timestamps or settings, not credentials.
NOT_SECRET_SUFFIXES = ('.time', '.lifespan', '.enabled', '.period', '.type', '.count', '.lower-case', '.mode')
# A private key by its key name: SAML clients keep theirs in attributes (saml.signing.private.key,
# saml.encryption.private.key), certificate representations as privateKey.
PRIVATE_KEY_NAME = re.compile(r'private[._-]?key', re.IGNORECASE)
# A private key by its content, whatever the key it is under: the PEM armour of every kind of private key.
PRIVATE_KEY_TEXT = 'PRIVATE KEY-----'


def is_secret_key(key):
    name = str(key)
    if name in SECRET_KEYS:
        return True
    lowered = name.lower()
    if lowered.endswith(NOT_SECRET_SUFFIXES):
        return False
    return ('secret' in lowered or 'password' in lowered or lowered.endswith('access_token')
            or PRIVATE_KEY_NAME.search(name) is not None)


def is_secret_value(key, value):
    """Whether a value (not a dict or list, not None or '') under key is a credential: by its key name, or a private
    key by its content."""
    if isinstance(value, (dict, list)) or value is None or value == '':
        return False
    return is_secret_key(key) or isinstance(value, str) and PRIVATE_KEY_TEXT in value


def mask(data):
    """A copy of data with every secret-bearing value replaced by MASK (None and '' stay as they are)."""
    if isinstance(data, dict):
        return {k: MASK if is_secret_value(k, v) else mask(v) for k, v in data.items()}
    if isinstance(data, list):
        return [mask(v) for v in data]
    return data


def masked(text, secrets):
    """text with every occurrence of each secret replaced by MASK (the longest first, so none shows in part)."""
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text


def collect_secrets(data, found=None):
    """Every secret-bearing string in data, so a module can add them to no_log_values."""
    found = set() if found is None else found
    if isinstance(data, dict):
        for key, value in data.items():
            if isinstance(value, str) and is_secret_value(key, value):
                found.add(value)
            else:
                collect_secrets(value, found)
    elif isinstance(data, list):
        for value in data:
            collect_secrets(value, found)
    return found
