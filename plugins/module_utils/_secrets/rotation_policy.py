# -*- coding: utf-8 -*-
# Copyright: keycloak_ops contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Internal to keycloak_ops.clients: no stability promise. Modules and plugins of other collections
# must not import it; its names and signatures change whenever the collection needs them to.
"""The secret-rotation client policy: the profile and policy documents that make a rotation graceful (the old
secret stays valid as the rotated one), their comparison with the realm's, and whether a realm's policies
already cover a client (a prediction for check mode).

Pure logic, unit tested; the admin API calls are SecretManager's (_secrets/manager.py).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

ROTATION_EXECUTOR = 'secret-rotation'
# The policy's client-attributes condition matches this attribute, so it covers only the clients a task chose.
POLICY_ATTRIBUTE = 'keycloak-ops.secret-rotation-policy'
DEFAULT_POLICY = 'keycloak-ops-secret-rotation'
# Keycloak's own default; it only decides rotation on dynamic client registration updates.
REMAINING_ROTATION_PERIOD = 10 * 86400
# Keycloak's executor default when a profile leaves rotated-expiration-period out.
DEFAULT_ROTATED_EXPIRATION = 172800


def rotation_profile(name, expiration, grace):
    return {'name': name,
            'description': 'keycloak_ops: the previous client secret stays valid for a grace period after rotation',
            'executors': [{'executor': ROTATION_EXECUTOR, 'configuration': {
                'expiration-period': str(expiration),
                'rotated-expiration-period': str(grace),
                'remaining-rotation-period': str(min(REMAINING_ROTATION_PERIOD, expiration))}}]}


def rotation_policy(name):
    return {'name': name,
            'description': 'keycloak_ops: secret rotation with a grace period for clients whose attribute %s is %s'
                           % (POLICY_ATTRIBUTE, name),
            'enabled': True,
            'conditions': [{'condition': 'client-attributes', 'configuration': {
                'is-negative-logic': False,
                'attributes': json.dumps([{'key': POLICY_ATTRIBUTE, 'value': name}])}}],
            'profiles': [name]}


def profile_key(profile):
    return [(e.get('executor'), {k: str(v) for k, v in (e.get('configuration') or {}).items()})
            for e in profile.get('executors') or []]


def policy_key(policy):
    conditions = []
    for condition in policy.get('conditions') or []:
        config = dict(condition.get('configuration') or {})
        config['is-negative-logic'] = str(config.get('is-negative-logic', False)).lower() == 'true'
        if isinstance(config.get('attributes'), str):
            config['attributes'] = _attribute_pairs(config['attributes'])
        conditions.append((condition.get('condition'), config))
    return bool(policy.get('enabled')), conditions, list(policy.get('profiles') or [])


def _attribute_pairs(text):
    """The client-attributes condition keeps its map as a JSON list of {key, value} in one string."""
    try:
        return sorted((p.get('key'), p.get('value')) for p in json.loads(text))
    except (TypeError, ValueError, AttributeError):
        return text


def upsert(items, wanted, key):
    """(items with wanted in place of the item of the same name, whether that changed anything)."""
    for index, item in enumerate(items):
        if item.get('name') == wanted['name']:
            if key(item) == key(wanted):
                return items, False
            return items[:index] + [wanted] + items[index + 1:], True
    return items + [wanted], True


def grace_of(profile):
    """Seconds the secret-rotation executor of a profile keeps the previous secret, 0 without one."""
    for executor in (profile or {}).get('executors') or []:
        if executor.get('executor') == ROTATION_EXECUTOR:
            configuration = executor.get('configuration') or {}
            return int(configuration.get('rotated-expiration-period', DEFAULT_ROTATED_EXPIRATION))
    return 0


def _condition_matches(condition, client):
    config = condition.get('configuration') or {}
    kind = condition.get('condition')
    if kind == 'any-client':
        matched = True
    elif kind == 'client-access-type':
        access = ('bearer-only' if client.get('bearerOnly')
                  else 'public' if client.get('publicClient') else 'confidential')
        matched = access in (config.get('type') or ['confidential'])
    elif kind == 'client-attributes':
        attributes = client.get('attributes') or {}
        pairs = _attribute_pairs(config.get('attributes') or '[]')
        matched = isinstance(pairs, list) and bool(pairs) and all(attributes.get(k) == v for k, v in pairs)
    else:
        # Roles, scopes, updater context...: not predictable from the client alone.
        return False
    return matched != (str(config.get('is-negative-logic', False)).lower() == 'true')


def covers(policies, profiles, client):
    """Whether an enabled realm policy gives this client a graceful rotation (a prediction for check mode).

    Keycloak applies a policy whose conditions all vote yes; conditions this cannot evaluate count as no.
    """
    by_name = {p.get('name'): p for p in profiles}
    for policy in policies:
        if not policy.get('enabled') or not any(grace_of(by_name.get(n)) > 0 for n in policy.get('profiles') or []):
            continue
        conditions = policy.get('conditions') or []
        if conditions and all(_condition_matches(c, client) for c in conditions):
            return True
    return False
