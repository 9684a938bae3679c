# -*- coding: utf-8 -*-
# Copyright: keycloak_ops contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Internal to keycloak_ops.clients: no stability promise. Modules and plugins of other collections
# must not import it; its names and signatures change whenever the collection needs them to.
"""The run of client_secret: regenerate when due (optionally through the secret-rotation client policy, so the old
secret stays valid for a grace period) or retire the rotated secret; every client planned from reads (the realm's
listing for many), then written a few at a time, then read back.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible_collections.keycloak_ops.clients.plugins.module_utils._core.durations import (
    format_duration, iso_time, parse_duration,
)
from ansible_collections.keycloak_ops.clients.plugins.module_utils._core.errors import (
    InvalidInput, KeycloakOpsError, OutcomeUnknown, Unavailable,
)
from ansible_collections.keycloak_ops.clients.plugins.module_utils._core.masking import MASK
from ansible_collections.keycloak_ops.clients.plugins.module_utils._core.parallel import run_bounded
from ansible_collections.keycloak_ops.clients.plugins.module_utils._secrets.rotation_policy import (
    POLICY_ATTRIBUTE, covers, policy_key, profile_key, rotation_policy, rotation_profile, upsert,
)
from ansible_collections.keycloak_ops.clients.plugins.module_utils._secrets.manager import (
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

    Failure policy (a regenerate or a retirement cannot be undone): every client is read and checked, and the rights
    of every planned write, before the first write. The realm's policy is written first, then the clients, a few at
    a time. When Keycloak refuses one client, no further client is started; the writes of the others that were
    in flight finish. Whatever can be undone is: the policy attribute of a client that was not rotated, and the
    realm's policy when no client was. The failure names exactly the clients that got a new secret (or lost their
    rotated one), and their results, new secrets included, come with it so that they can still be delivered.
    """

    def __init__(self, api, state, max_age=None, policy=None, check_mode=False, clock=time.time):
        self.secrets = SecretManager(api)
        self.state = state
        self.max_age = max_age
        self.policy = policy
        self.check_mode = check_mode
        self.clock = clock
        # realm -> {'profiles': list|None, 'policies': list|None (to write), 'read': (profiles, policies), 'written'}
        self.realm_policies = {}
        self._read_policies = {}

    def find(self, items):
        """Find the clients of all items at once (the realm's listing where cheaper than a query each)."""
        self.secrets.prefetch(items)

    def plan(self, item):
        realm, client_id = item['realm'], item['client_id']
        client = self.secrets.find_client(realm, client_id)
        attributes = client.get('attributes') or {}
        plan = dict(realm=realm, client_id=client_id, client=client, join=False, graceful=None, reads=[])
        if self.state == 'retired':
            plan['rotated'] = self.secrets.rotated_secret(realm, client)
            plan['reads'].append(plan['rotated'])
            plan['action'] = 'retired' if plan['rotated'] else 'none'
            return plan
        plan['age'] = secret_age(attributes, self.clock())
        plan['action'] = 'regenerated' if is_due(plan['age'], self.max_age) else 'none'
        if self.policy:
            self._plan_realm_policy(realm)
            plan['joined_before'] = attributes.get(POLICY_ATTRIBUTE)
            plan['join'] = plan['joined_before'] != self.policy['name']
        if plan['action'] == 'regenerated':
            # The old secret: to check after the write whether it became the rotated one (still valid).
            plan['secret'] = self.secrets.current_secret(realm, client)
            plan['reads'].append(plan['secret'])
            plan['graceful'] = True if self.policy else self._predict(realm, client)
        return plan

    def _plan_realm_policy(self, realm):
        if realm in self.realm_policies:
            return
        read = self.secrets.client_policies(realm)
        name = self.policy['name']
        profile = rotation_profile(name, self.policy['expiration'], self.policy['grace'])
        profiles, profile_changed = upsert(read[0], profile, profile_key)
        policies, policy_changed = upsert(read[1], rotation_policy(name), policy_key)
        self.realm_policies[realm] = dict(profiles=profiles if profile_changed else None,
                                          policies=policies if policy_changed else None, read=read, written=[])

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

    # -- writes ------------------------------------------------------------------------------

    def apply(self, plans):
        """Carry out the plans (no write in check mode): (results of the clients written, or of all without a
        failure; the failure's one line or None)."""
        claimed = set()
        for plan in plans:
            # The realm's profile and policy are written once, and reported as a change of its first client.
            plan['write_policy'] = self.realm_policy_changed(plan['realm']) and plan['realm'] not in claimed
            claimed.add(plan['realm'])
            plan['before'] = self._view(plan, plan['client'])
        failure = None
        if not self.check_mode:
            failure = self._write(plans)
            # A retirement needs no read back: its answer says the rotated secret is gone.
            self._read_after([p for p in plans if p.get('written') and p['action'] != 'retired'])
        if failure is None:
            return [self._result(plan) for plan in plans], None
        return [self._result(plan) for plan in plans if plan.get('written')], failure

    def _write(self, plans):
        """The writes of every plan; the one-line failure (after undoing what can be undone) or None."""
        for realm, planned in sorted(self.realm_policies.items()):
            try:
                if planned['profiles'] is not None:
                    self.secrets.write_client_policies(realm, profiles=planned['profiles'])
                    planned['written'].append('profiles')
                if planned['policies'] is not None:
                    self.secrets.write_client_policies(realm, policies=planned['policies'])
                    planned['written'].append('policies')
            except KeycloakOpsError as exc:
                return '%s; %s' % (exc, self._after_failure(plans, exc))
        writing = [i for i, p in enumerate(plans) if p['action'] != 'none' or p['join']]
        _done, failed = run_bounded(lambda index: self._write_one(plans[index]), writing, KeycloakOpsError)
        if not failed:
            return None
        unavailable = sorted(i for i, exc in failed.items() if isinstance(exc, Unavailable))
        index = unavailable[0] if unavailable else min(failed)
        plans[index]['failed'] = failed[index]
        label = plans[index].get('label', plans[index]['client_id'])
        return '%s: %s; %s' % (label, failed[index], self._after_failure(plans, failed[index]))

    def _write_one(self, plan):
        realm, client = plan['realm'], plan['client']
        if plan['join']:
            self.secrets.join_policy(realm, client, self.policy['name'])
            plan['joined'] = True
        if plan['action'] == 'retired':
            self.secrets.retire(realm, client)
        elif plan['action'] == 'regenerated':
            plan['new_secret'] = self.secrets.regenerate(realm, client)
        plan['written'] = True

    def _after_failure(self, plans, exc):
        """The end of the failure line: what changed, what was undone. A refusal undoes what can be undone; Keycloak
        not answering does not (the undo would meet the same failure; a re-run converges)."""
        done = [p['client_id'] for p in plans if p.get('written') and p['action'] != 'none']
        what = 'regenerated' if self.state == 'regenerated' else 'retired'
        if done:
            text = ("%s (cannot be undone; their results, with the new secrets, are in clients: deliver them): %s"
                    % (what, ', '.join(done))) if self.state == 'regenerated' else '%s: %s' % (what, ', '.join(done))
        else:
            text = 'no client was %s' % what
        unknown = [p['client_id'] for p in plans if isinstance(p.get('failed'), OutcomeUnknown)]
        left = [p['client_id'] for p in plans if p['action'] != 'none' and not p.get('written')
                and p['client_id'] not in unknown]
        if left:
            text += '; not %s: %s' % (what, ', '.join(left))
        if isinstance(exc, Unavailable):
            return text + '; nothing rolled back, as Keycloak is not answering: run the task again once it answers'
        failed = self._undo(plans, any(p.get('written') and p['action'] != 'none' for p in plans))
        if failed:
            return text + "; undoing this task's other writes failed for: %s; fix by hand" % ', '.join(failed)
        return text

    def _undo(self, plans, rotated_some):
        """Put back the policy attribute of the clients that joined but were not rotated, and the realm's policy when
        no client was rotated; the descriptions of what could not be undone."""
        failed = []
        for plan in plans:
            if plan.get('joined') and not (plan.get('written') and plan['action'] != 'none'):
                try:
                    self.secrets.join_policy(plan['realm'], plan['client'], plan.get('joined_before') or '')
                except KeycloakOpsError:
                    failed.append('the rotation policy attribute of %s' % plan['client_id'])
        if rotated_some:
            return failed
        for realm, planned in sorted(self.realm_policies.items()):
            profiles, policies = planned['read']
            try:
                if 'policies' in planned['written']:
                    self.secrets.write_client_policies(realm, policies=policies)
                if 'profiles' in planned['written']:
                    self.secrets.write_client_policies(realm, profiles=profiles)
            except KeycloakOpsError:
                failed.append("the client policies of realm '%s'" % realm)
        return failed

    def _read_after(self, plans):
        """The clients as Keycloak keeps them after the writes, for the times of the results and whether the old secret
        survived; a failed read leaves that unknown. One read per client by id, a few at a time: the writes made
        Keycloak drop the clients from its cache, and a listing then loads them one after the other (measured on
        Keycloak 26.7: 200 clients 4 s in one page of 300, 1 s by id four at a time)."""
        done, _failed = run_bounded(lambda index: self.secrets.reread(plans[index]['realm'], plans[index]['client']),
                                    range(len(plans)), KeycloakOpsError)
        for index, plan in enumerate(plans):
            plan['after'] = done.get(index)
            if plan['action'] != 'regenerated':
                continue
            try:
                # The truth, whatever the policies said: the old secret survives only as the rotated one.
                plan['graceful'] = (self.secrets.rotated_secret(plan['realm'], plan['after']) == plan['secret']
                                    if plan['after'] else None)
            except KeycloakOpsError:
                plan['graceful'] = None

    def _result(self, plan):
        """The per-client result, with a masked diff."""
        # After a write, times come from Keycloak; in check mode they describe the unchanged secret.
        client = plan.get('after') or plan['client']
        attributes = client.get('attributes') or {}
        retired = plan['action'] == 'retired' and plan.get('written')
        result = dict(client_id=plan['client_id'], realm=plan['realm'], id=client['id'], action=plan['action'],
                      changed=plan['action'] != 'none' or plan['join'] or plan['write_policy'],
                      rotated_expires_at=None if retired else iso_time(epoch(attributes, ROTATED_EXPIRES)))
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
        result['diff'] = dict(before=plan['before'], after=after, before_header=header, after_header=header)
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
    with module.failing(suffix='; nothing was changed'):
        rotation.find(items)
    plans = []
    for index, item in enumerate(items):
        with module.failing(module.label(index, item), '; nothing was changed'):
            plans.append(rotation.plan(item))
            plans[-1]['label'] = module.label(index, item)
    # Secrets read but not returned (the old and the rotated ones) stay out of every output.
    module.hide(s for p in plans for s in p['reads'])
    with module.failing(suffix='; nothing was changed'):
        rotation.check_rights(plans)
    results, failure = rotation.apply(plans)
    for result in results:
        warn_not_graceful(module, result)
    if failure:
        module.fail_json(msg=failure, changed=bool(results),
                         clients=[{k: v for k, v in r.items() if k != 'diff'} for r in results])
    module.exit_items(results)
