# -*- coding: utf-8 -*-
# Copyright: keycloak_ops contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Internal to keycloak_ops.clients: no stability promise. Modules and plugins of other collections
# must not import it; its names and signatures change whenever the collection needs them to.
"""Client secrets: read (never a masked value), age, regenerate, retire, and the secret-rotation client policy.

Pure helpers (durations, ages, policy documents, policy coverage) come first and are unit tested.
SecretManager holds the admin API calls; SecretRotation plans every client from reads, then writes.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import time

from ansible_collections.keycloak_ops.clients.plugins.module_utils._connection import (
    KeycloakOpsError, admin_path, find_client, response_detail,
)
from ansible_collections.keycloak_ops.clients.plugins.module_utils import _durations as durations
from ansible_collections.keycloak_ops.clients.plugins.module_utils._durations import format_duration, iso_time  # noqa: F401
from ansible_collections.keycloak_ops.clients.plugins.module_utils._masking import MASK
from ansible_collections.keycloak_ops.clients.plugins.module_utils._rights import AdminRights

# Client attributes Keycloak keeps about the secret (epoch seconds, as strings).
CREATED = 'client.secret.creation.time'
EXPIRES = 'client.secret.expiration.time'
ROTATED_CREATED = 'client.secret.rotated.creation.time'
ROTATED_EXPIRES = 'client.secret.rotated.expiration.time'

ROTATION_EXECUTOR = 'secret-rotation'
# The policy's client-attributes condition matches this attribute, so it covers only the clients a task chose.
POLICY_ATTRIBUTE = 'keycloak-ops.secret-rotation-policy'
DEFAULT_POLICY = 'keycloak-ops-secret-rotation'
DEFAULT_SECRET_EXPIRATION = 365 * 86400
# Keycloak's own default; it only decides rotation on dynamic client registration updates.
REMAINING_ROTATION_PERIOD = 10 * 86400
# Keycloak's executor default when a profile leaves rotated-expiration-period out.
DEFAULT_ROTATED_EXPIRATION = 172800


class InvalidSecretOption(ValueError):
    """An option value is wrong; the message names the option."""


# The per-client options of the secret modules: an item of O(clients) is a client id or a dict of these.
ITEM_OPTIONS = dict(client_id=dict(type='str', aliases=['clientId']), realm=dict(type='str'))


def items_argument_spec():
    return dict(realm=dict(type='str', default='master'), client_id=dict(type='str', aliases=['clientId']),
                clients=dict(type='list', elements='raw'))


def label(item, many, index):
    return "clients[%d] (client '%s')" % (index, item['client_id']) if many else "client '%s'" % item['client_id']


# -- pure helpers ------------------------------------------------------------------------------

def parse_duration(option, value):
    """Seconds (> 0) from an int or a string such as 3600, '90d', '12h' or '1h30m'."""
    try:
        return durations.parse_duration(option, value)
    except durations.InvalidDuration as exc:
        raise InvalidSecretOption(str(exc))


def epoch(attributes, key):
    try:
        return int((attributes or {}).get(key))
    except (TypeError, ValueError):
        return None


iso = iso_time


def secret_age(attributes, now):
    """Seconds since Keycloak created the current secret, or None when it did not record the time."""
    created = epoch(attributes, CREATED)
    return None if created is None else max(0, int(now) - created)


def is_due(age, max_age):
    """Rotate when max_age old or older; without a creation time the secret predates Keycloak's tracking: old."""
    return max_age is None or age is None or age >= max_age


def is_masked(value):
    """Keycloak >= 26.8 answers '**********' instead of the secret to an admin without manage-clients."""
    return isinstance(value, str) and bool(value) and value.strip('*') == ''


def is_vault_reference(value):
    """A secret kept in Keycloak's vault: the admin API answers the reference, not the value."""
    return isinstance(value, str) and value.startswith('${vault.') and value.endswith('}')


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
    return [(e.get('executor'), dict((k, str(v)) for k, v in (e.get('configuration') or {}).items()))
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
            return int((executor.get('configuration') or {}).get('rotated-expiration-period', DEFAULT_ROTATED_EXPIRATION))
    return 0


def _condition_matches(condition, client):
    config = condition.get('configuration') or {}
    kind = condition.get('condition')
    if kind == 'any-client':
        matched = True
    elif kind == 'client-access-type':
        access = 'bearer-only' if client.get('bearerOnly') else 'public' if client.get('publicClient') else 'confidential'
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
    by_name = dict((p.get('name'), p) for p in profiles)
    for policy in policies:
        if not policy.get('enabled') or not any(grace_of(by_name.get(n)) > 0 for n in policy.get('profiles') or []):
            continue
        conditions = policy.get('conditions') or []
        if conditions and all(_condition_matches(c, client) for c in conditions):
            return True
    return False


# -- admin API ---------------------------------------------------------------------------------

class SecretManager(object):
    """Secret reads and writes of one module run (or lookup), on one KeycloakAPI session."""

    def __init__(self, api):
        self.api = api
        self.rights = AdminRights(api)

    def find_client(self, realm, client_id):
        """The confidential client with exactly this clientId (Keycloak's clientId query is an exact match)."""
        client = find_client(self.api, realm, client_id)
        # Messages leave out the client id: callers prefix it (with the item index of a list).
        if client is None:
            # Only now are the roles read: an identity that cannot view clients is told so, not "no such client".
            self.rights.require_view(realm)
            raise KeycloakOpsError("no such client in realm '%s' (client ids are case-sensitive)" % realm)
        if client.get('publicClient'):
            raise KeycloakOpsError("is a public client in realm '%s'; public clients have no secret" % realm)
        return client

    def _secret_path(self, realm, client, *more):
        return admin_path(realm, 'clients', client['id'], 'client-secret', *more)

    def _checked(self, value, realm, what='secret'):
        if is_masked(value):
            raise KeycloakOpsError(
                "Keycloak answered a masked %s ('%s') instead of the value: %s lacks the 'manage-clients' role of "
                "realm-management in realm '%s', which reading a client secret needs (view-clients only shows the mask)"
                % (what, value, self.api.identity, realm))
        if is_vault_reference(value):
            raise KeycloakOpsError("the %s is the vault reference %s: Keycloak resolves it from its vault, read it there"
                                   % (what, value))
        if not value:
            raise KeycloakOpsError("Keycloak returned no %s (realm '%s')" % (what, realm))
        return value

    def read_secret(self, realm, client):
        return self._checked((self.api.get(self._secret_path(realm, client)) or {}).get('value'), realm)

    def read_rotated(self, realm, client):
        """The rotated (previous) secret, or None: Keycloak answers 404 when there is none."""
        body = self.api.get(self._secret_path(realm, client, 'rotated'), absent_ok=True)
        if body is None:
            return None
        return self._checked(body.get('value'), realm, 'rotated secret')

    def regenerate(self, realm, client):
        hint = ("read the secret with client_secret_info: if it is not the one the consumers hold, it was regenerated; "
                "deliver it rather than regenerating again")
        return self._checked((self.api.post(self._secret_path(realm, client), check_hint=hint)[1] or {}).get('value'), realm)

    def retire(self, realm, client):
        self.api.delete(self._secret_path(realm, client, 'rotated'))

    def info(self, realm, client_id, now):
        """What client_secret_info returns for one client: the secret, its times and the rotated secret."""
        client = self.find_client(realm, client_id)
        attributes = client.get('attributes') or {}
        secret = self.read_secret(realm, client)
        # The attributes tell whether a rotated secret exists, which saves a request (a 404) per client without one.
        rotated = self.read_rotated(realm, client) if attributes.get(ROTATED_CREATED) else None
        rotated_expires = epoch(attributes, ROTATED_EXPIRES) if rotated else None
        return dict(client_id=client_id, realm=realm, id=client['id'], secret=secret,
                    created_at=iso(epoch(attributes, CREATED)), age=secret_age(attributes, now),
                    expires_at=iso(epoch(attributes, EXPIRES)), rotated_secret=rotated,
                    rotated_expires_at=iso(rotated_expires),
                    rotated_expired=None if rotated_expires is None else rotated_expires <= now)

    def reread(self, realm, client):
        return self.api.get(admin_path(realm, 'clients', client['id']))

    def join_policy(self, realm, client, name):
        # A partial representation: Keycloak updates only the fields sent and merges attributes.
        self.api.put(admin_path(realm, 'clients', client['id']), {'clientId': client['clientId'], 'attributes': {POLICY_ATTRIBUTE: name}})

    def client_policies(self, realm):
        """(profiles, policies) of the realm, without Keycloak's global ones."""
        profiles = (self.api.get(admin_path(realm, 'client-policies', 'profiles')) or {}).get('profiles') or []
        policies = (self.api.get(admin_path(realm, 'client-policies', 'policies')) or {}).get('policies') or []
        return profiles, policies

    def write_client_policies(self, realm, profiles=None, policies=None):
        """PUT replaces the realm's whole list: callers send what they read with only their entry changed."""
        if profiles is not None:
            path = admin_path(realm, 'client-policies', 'profiles')
            status, body, _headers = self.api.request('PUT', path, body={'profiles': profiles}, expected=(200, 204, 400))
            if status == 400:
                raise KeycloakOpsError(
                    "Keycloak refused the %s executor in realm '%s' (HTTP 400: %s): it needs the client-secret-rotation "
                    "feature (kc.sh start --features=client-secret-rotation) and periods Keycloak accepts"
                    % (ROTATION_EXECUTOR, realm, response_detail(body or '')))
        if policies is not None:
            self.api.put(admin_path(realm, 'client-policies', 'policies'), {'policies': policies})


# -- the run of client_secret ------------------------------------------------------------------

class SecretRotation(object):
    """Plans regenerate/retire for each client from reads only, then applies the plans.

    policy: None, or dict(name=, expiration=, grace=) to make rotations graceful through a client policy.
    """

    def __init__(self, api, state, max_age=None, policy=None, check_mode=False, clock=time.time):
        self.secrets = SecretManager(api)
        self.state = state
        self.max_age = max_age
        self.policy = policy
        self.check_mode = check_mode
        self.clock = clock
        self.realm_policies = {}  # realm -> {'profiles': list|None, 'policies': list|None, 'claimed': bool}
        self._read_policies = {}

    def plan(self, item):
        realm, client_id = item['realm'], item['client_id']
        client = self.secrets.find_client(realm, client_id)
        attributes = client.get('attributes') or {}
        plan = dict(realm=realm, client_id=client_id, client=client, join=False, graceful=None, reads=[])
        if self.state == 'retired':
            plan['rotated'] = self.secrets.read_rotated(realm, client)
            plan['reads'].append(plan['rotated'])
            plan['action'] = 'retired' if plan['rotated'] else 'none'
            return plan
        plan['age'] = secret_age(attributes, self.clock())
        plan['action'] = 'regenerated' if is_due(plan['age'], self.max_age) else 'none'
        if self.policy:
            self._plan_realm_policy(realm)
            plan['join'] = attributes.get(POLICY_ATTRIBUTE) != self.policy['name']
        if plan['action'] == 'regenerated':
            # The old secret: to check after the write whether it became the rotated one (still valid).
            plan['secret'] = self.secrets.read_secret(realm, client)
            plan['reads'].append(plan['secret'])
            plan['graceful'] = True if self.policy else self._predict(realm, client)
        return plan

    def _plan_realm_policy(self, realm):
        if realm in self.realm_policies:
            return
        profiles, policies = self.secrets.client_policies(realm)
        name = self.policy['name']
        profiles, profile_changed = upsert(profiles, rotation_profile(name, self.policy['expiration'], self.policy['grace']),
                                           profile_key)
        policies, policy_changed = upsert(policies, rotation_policy(name), policy_key)
        self.realm_policies[realm] = dict(profiles=profiles if profile_changed else None,
                                          policies=policies if policy_changed else None, claimed=False)

    def _predict(self, realm, client):
        """Whether an existing policy keeps the old secret valid; only check mode needs to know beforehand."""
        if not self.check_mode:
            return None
        if realm not in self._read_policies:
            try:
                self._read_policies[realm] = self.secrets.client_policies(realm)
            except KeycloakOpsError:
                self._read_policies[realm] = None  # no view-realm: cannot tell
        if self._read_policies[realm] is None:
            return None
        profiles, policies = self._read_policies[realm]
        return covers(policies, profiles, client)

    def check_rights(self, plans):
        """Refuse before the first write when a planned step needs a role the identity lacks."""
        rights = self.secrets.rights
        for plan in plans:
            if plan['action'] != 'none' or plan['join']:
                rights.require(plan['realm'], 'manage-clients', "changing client secrets needs")
            if self.realm_policy_changed(plan['realm']):
                rights.require(plan['realm'], 'manage-realm', "writing the secret-rotation client policy needs")

    def realm_policy_changed(self, realm):
        planned = self.realm_policies.get(realm) or {}
        return planned.get('profiles') is not None or planned.get('policies') is not None

    def apply(self, plan):
        """Carry out one plan (no write in check mode); return the per-client result, with a masked diff."""
        before = self._view(plan, plan['client'])
        # The realm's profile and policy are written once, by (and reported as a change of) its first client.
        planned = self.realm_policies.get(plan['realm'])
        plan['write_policy'] = bool(planned) and not planned['claimed'] and self.realm_policy_changed(plan['realm'])
        if planned:
            planned['claimed'] = True
        if not self.check_mode:
            self._write(plan)
        # After a write, times come from Keycloak; in check mode they describe the unchanged secret.
        client = plan.get('after') or plan['client']
        attributes = client.get('attributes') or {}
        result = dict(client_id=plan['client_id'], realm=plan['realm'], id=client['id'], action=plan['action'],
                      changed=plan['action'] != 'none' or plan['join'] or plan['write_policy'],
                      rotated_expires_at=iso(epoch(attributes, ROTATED_EXPIRES)))
        if self.state == 'regenerated':
            result.update(reason=self._reason(plan), created_at=iso(epoch(attributes, CREATED)),
                          expires_at=iso(epoch(attributes, EXPIRES)))
            if self.policy:
                result['rotation_policy'] = self.policy['name']
        if plan['action'] == 'regenerated':
            result['graceful'] = plan['graceful']
            if not self.check_mode:
                result['secret'] = plan['new_secret']
        after = self._view(plan, client, after=True)
        header = '%s/%s' % (plan['realm'], plan['client_id'])
        result['diff'] = dict(before=before, after=after, before_header=header, after_header=header)
        return result

    def _view(self, plan, client, after=False):
        """What the diff shows: secrets only ever as the mask."""
        attributes = client.get('attributes') or {}
        if self.state == 'retired':
            return dict(rotated_secret=MASK if plan['rotated'] and not after else None)
        view = dict(secret=MASK, created_at=iso(epoch(attributes, CREATED)))
        if self.policy:
            view['rotation_policy'] = self.policy['name'] if after else attributes.get(POLICY_ATTRIBUTE)
        if after and plan['action'] == 'regenerated':
            view['secret'] = MASK + ' (changed)'
            if self.check_mode:
                view['created_at'] = '(new)'
        return view

    def _write(self, plan):
        realm, client = plan['realm'], plan['client']
        if plan['write_policy']:
            planned = self.realm_policies[realm]
            self.secrets.write_client_policies(realm, planned['profiles'], planned['policies'])
        if plan['join']:
            self.secrets.join_policy(realm, client, self.policy['name'])
        if plan['action'] == 'retired':
            self.secrets.retire(realm, client)
        elif plan['action'] == 'regenerated':
            plan['new_secret'] = self.secrets.regenerate(realm, client)
            # The truth, whatever the policies said: the old secret survives only as the rotated one.
            plan['graceful'] = self.secrets.read_rotated(realm, client) == plan['secret']
        if plan['join'] or plan['action'] == 'regenerated':
            plan['after'] = self.secrets.reread(realm, client)

    def _reason(self, plan):
        if self.max_age is None:
            return 'state=regenerated without max_age'
        if plan['age'] is None:
            return 'Keycloak recorded no creation time for the secret (%s)' % CREATED
        relation = 'at least' if plan['action'] == 'regenerated' else 'younger than'
        return 'the secret is %s old, %s max_age %s' % (format_duration(plan['age']), relation, format_duration(self.max_age))
