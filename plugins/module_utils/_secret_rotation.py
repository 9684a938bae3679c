# -*- coding: utf-8 -*-
# Copyright: keycloak_ops contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Internal to keycloak_ops.clients: no stability promise. Modules and plugins of other collections
# must not import it; its names and signatures change whenever the collection needs them to.
"""The run of client_secret: regenerate when due (optionally through the secret-rotation client policy, so the old
secret stays valid for a grace period) or retire the rotated secret; every client planned from reads, then written.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible_collections.keycloak_ops.clients.plugins.module_utils._connection import KeycloakOpsError
from ansible_collections.keycloak_ops.clients.plugins.module_utils._durations import (
    format_duration, iso_time, parse_duration,
)
from ansible_collections.keycloak_ops.clients.plugins.module_utils._errors import InvalidInput
from ansible_collections.keycloak_ops.clients.plugins.module_utils._masking import MASK
from ansible_collections.keycloak_ops.clients.plugins.module_utils._rotation_policy import (
    POLICY_ATTRIBUTE, covers, policy_key, profile_key, rotation_policy, rotation_profile, upsert,
)
from ansible_collections.keycloak_ops.clients.plugins.module_utils._secrets import (
    CREATED, EXPIRES, ROTATED_EXPIRES, SecretManager, epoch, secret_age,
)

DEFAULT_SECRET_EXPIRATION = 365 * 86400


class InvalidSecretOption(InvalidInput):
    """An option value is wrong; the message names the option."""


def is_due(age, max_age):
    """Rotate when max_age old or older; without a creation time the secret predates Keycloak's tracking: old."""
    return max_age is None or age is None or age >= max_age


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
        profile = rotation_profile(name, self.policy['expiration'], self.policy['grace'])
        profiles, profile_changed = upsert(profiles, profile, profile_key)
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
        plan['write_policy'] = bool(planned and not planned['claimed'] and self.realm_policy_changed(plan['realm']))
        if planned:
            planned['claimed'] = True
        if not self.check_mode:
            self._write(plan)
        # After a write, times come from Keycloak; in check mode they describe the unchanged secret.
        client = plan.get('after') or plan['client']
        attributes = client.get('attributes') or {}
        result = dict(client_id=plan['client_id'], realm=plan['realm'], id=client['id'], action=plan['action'],
                      changed=plan['action'] != 'none' or plan['join'] or plan['write_policy'],
                      rotated_expires_at=iso_time(epoch(attributes, ROTATED_EXPIRES)))
        if self.state == 'regenerated':
            result.update(reason=self._reason(plan), created_at=iso_time(epoch(attributes, CREATED)),
                          expires_at=iso_time(epoch(attributes, EXPIRES)))
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
        view = dict(secret=MASK, created_at=iso_time(epoch(attributes, CREATED)))
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
        return 'the secret is %s old, %s max_age %s' % (
            format_duration(plan['age']), relation, format_duration(self.max_age))


def rotation_settings(params):
    """(max_age, policy) from the options, checked before any request."""
    durations = {name: parse_duration(name, params[name]) if params[name] is not None else None
                 for name in ('max_age', 'grace_period', 'secret_expiration')}
    if params['state'] == 'retired' and any(durations.values()):
        raise InvalidSecretOption("max_age, grace_period and secret_expiration apply to state=regenerated, not retired")
    if durations['grace_period'] is None:
        return durations['max_age'], None
    expiration = durations['secret_expiration'] or DEFAULT_SECRET_EXPIRATION
    if durations['grace_period'] >= expiration:
        raise InvalidSecretOption("grace_period (%s) must be shorter than secret_expiration (%s)"
                                  % (format_duration(durations['grace_period']), format_duration(expiration)))
    return durations['max_age'], dict(name=params['rotation_policy'], expiration=expiration,
                                      grace=durations['grace_period'])


def warn_not_graceful(module, result):
    """Say plainly when the old secret stops (or would stop) working at once: consumers holding it fail."""
    if result['action'] != 'regenerated' or result['graceful']:
        return
    client = result['client_id']
    if result['graceful'] is None:
        module.warn("client '%s': cannot tell whether the old secret would keep working (reading the client "
                    "policies of realm '%s' needs view-realm)" % (client, result['realm']))
    elif module.check_mode:
        module.warn("client '%s': regenerating would stop the old secret at once: no enabled client policy with a "
                    "secret-rotation executor covers it. Set grace_period for a zero-downtime rotation." % client)
    else:
        module.warn("client '%s': the old secret stopped working at once: no client policy with a secret-rotation "
                    "executor covers the client, or Keycloak runs without the client-secret-rotation feature. "
                    "Deliver the new secret now; set grace_period for zero-downtime rotations." % client)


def run_client_secret(module):
    """Plan every client from reads, refuse missing rights, then regenerate or retire; a KeycloakModule."""
    items = module.items()
    with module.failing():
        max_age, policy = rotation_settings(module.params)
    if policy and max_age and max_age >= policy['expiration']:
        module.warn("max_age (%s) is not shorter than secret_expiration (%s): Keycloak refuses a covered client's "
                    "secret once it is secret_expiration old, before this task would rotate it"
                    % (format_duration(max_age), format_duration(policy['expiration'])))
    rotation = SecretRotation(module.api, module.params['state'], max_age=max_age, policy=policy,
                              check_mode=module.check_mode)
    plans = []
    for index, item in enumerate(items):
        with module.failing(module.label(index, item), '; nothing was changed'):
            plans.append(rotation.plan(item))
    # Secrets read but not returned (the old and the rotated ones) stay out of every output.
    module.hide(s for p in plans for s in p['reads'])
    with module.failing(suffix='; nothing was changed'):
        rotation.check_rights(plans)

    results: list = []
    for index, (item, plan) in enumerate(zip(items, plans)):
        try:
            result = rotation.apply(plan)
        except KeycloakOpsError as exc:
            done = ', '.join(r['client_id'] for r in results if r['changed']) or 'none'
            module.fail_json(msg="%s: %s (clients already changed in this task: %s)"
                                 % (module.label(index, item), exc, done),
                             clients=[{k: v for k, v in r.items() if k != 'diff'} for r in results])
        warn_not_graceful(module, result)
        results.append(result)
    module.exit_items(results)
