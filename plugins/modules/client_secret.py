#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: keycloak_ops contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: client_secret
short_description: Regenerate, rotate by age, or retire the secret of Keycloak confidential clients
version_added: 1.0.0
description:
  - O(state=regenerated) gives one or many confidential clients a new secret, now or, with O(max_age), only
    when the current secret is that old or older (so a scheduled run changes nothing until a secret is due).
  - Keycloak keeps the previous secret valid only when a client policy with the C(secret-rotation) executor
    covers the client (Keycloak's preview feature C(client-secret-rotation)). Then the previous secret becomes the
    I(rotated) secret, accepted for a grace period while the new one is delivered to the consumers.
    Without that, the previous secret stops working at once, and the module warns so.
  - With O(grace_period), the module sets up that policy, read before write, for the clients of the task only.
    It is a client profile and a client policy, both named O(rotation_policy); the policy's C(client-attributes)
    condition matches the client attribute C(keycloak-ops.secret-rotation-policy), which the module sets on each
    client of the task. Other clients of the realm are not affected.
  - Every client of the task is read before the first write; an unknown or public client fails the task with
    nothing changed.
  - O(state=retired) deletes the rotated secret once every consumer uses the new one, so that the previous secret
    stops working before its grace period ends.
  - The new secret is returned in RV(secret); run such a task with C(no_log=true). Diffs and warnings never
    hold a secret.
author:
  - keycloak_ops maintainers (@keycloak-ops)
extends_documentation_fragment:
  - keycloak_ops.clients.keycloak
  - keycloak_ops.clients.keycloak.SERVER
  - keycloak_ops.clients.keycloak.ACTIONGROUPS
  - keycloak_ops.clients.client.TARGET
  - keycloak_ops.clients.client.SECRET_ITEMS
attributes:
  check_mode:
    description:
      - Predicts the change without any write request, O(max_age) included, and whether the previous secret
        would keep working (from the realm's client policies).
    support: full
  diff_mode:
    description: Shows the secret (masked) as changed, its creation time, the rotated secret (masked) and the policy.
    support: full
options:
  state:
    description:
      - V(regenerated) gives the client a new secret (with O(max_age), only when the current one is due).
      - V(retired) deletes the rotated (previous) secret; no change when there is none.
    type: str
    choices: [regenerated, retired]
    default: regenerated
  max_age:
    description:
      - Regenerate only when the current secret is this old or older, by Keycloak's C(client.secret.creation.time)
        attribute. A secret without that attribute counts as due.
      - Seconds, or a duration with units C(w), C(d), C(h), C(m), C(s), such as V(90d), V(12h) or V(1h30m).
      - Without it, O(state=regenerated) regenerates on every run.
    type: raw
  grace_period:
    description:
      - How long the previous secret stays valid after a rotation (the executor's C(rotated-expiration-period)).
      - When given, the module makes sure the realm has the client profile and client policy O(rotation_policy)
        and that they cover the clients of the task, before any regeneration. This needs the C(manage-realm) role
        and the C(client-secret-rotation) feature of Keycloak.
      - Seconds or a duration such as V(2d), shorter than O(secret_expiration).
    type: raw
  secret_expiration:
    description:
      - With the policy, Keycloak B(refuses a secret older than this) (the executor's C(expiration-period)),
        counted from its creation or from when the policy first covered the client. Rotate well before, for
        example with O(max_age) a fraction of it; the module warns when O(max_age) is not shorter.
      - Seconds or a duration. Defaults to V(365d) when O(grace_period) is given; only valid with O(grace_period).
      - The profile's C(remaining-rotation-period), which only concerns dynamic client registration, is set to
        10 days or O(secret_expiration) when shorter.
    type: raw
  rotation_policy:
    description:
      - Name of the client profile and of the client policy set up with O(grace_period), and the value of the
        client attribute C(keycloak-ops.secret-rotation-policy) the policy matches.
      - Use different names for groups of clients that need different periods; a client belongs to one.
      - To take a client out of the policy, set that attribute to an empty string, for example with
        M(keycloak_ops.clients.confidential_client) and O(keycloak_ops.clients.confidential_client#module:attributes);
        its next rotation is no longer graceful.
    type: str
    default: keycloak-ops-secret-rotation
notes:
  - Needs the C(manage-clients) role of realm-management, and C(manage-realm) with O(grace_period).
  - Keycloak keeps one rotated secret; a second rotation within the grace period replaces it, so the secret
    from two rotations ago stops working.
  - With the policy, any update of a client whose secret is past O(secret_expiration) makes Keycloak rotate it.
  - Ages count from the clock of the host running the module.
seealso:
  - module: keycloak_ops.clients.client_secret_info
  - module: keycloak_ops.clients.confidential_client
  - name: Keycloak client secret rotation
    description: Server administration guide, confidential client credentials and secret rotation.
    link: https://www.keycloak.org/docs/latest/server_admin/#_proc-secret-rotation
"""

EXAMPLES = r"""
- name: Rotate the secret of a service once it is 90 days old, the previous one valid for 2 more days
  keycloak_ops.clients.client_secret:
    realm: apps
    client_id: billing-worker
    max_age: 90d
    grace_period: 2d
  register: rotation
  no_log: true

- name: Deliver the new secret (the consumer switches while the previous one still works)
  ansible.builtin.copy:
    dest: /etc/billing/client-secret
    content: "{{ rotation.secret }}"
    mode: "0400"
  when: rotation.action == 'regenerated'
  no_log: true

- name: Once every consumer uses the new secret, stop accepting the previous one
  keycloak_ops.clients.client_secret:
    realm: apps
    client_id: billing-worker
    state: retired

- name: Regenerate now after a leak (the leaked secret must not keep working)
  keycloak_ops.clients.client_secret:
    realm: apps
    client_id: report-job
  register: fresh
  no_log: true

- name: Many clients in one task, one token, rotated by age
  keycloak_ops.clients.client_secret:
    realm: apps
    clients: [billing-worker, report-job, exporter]
    max_age: 30d
    grace_period: 12h
    secret_expiration: 45d
  register: rotations
  no_log: true
"""

RETURN = r"""
client_id:
  description: The client id (single-client form).
  returned: when O(client_id) is given
  type: str
  sample: billing-worker
id:
  description: Keycloak's internal id (UUID) of the client.
  returned: when O(client_id) is given
  type: str
  sample: 0f4c8a6e-6d2a-4f2e-9a59-0c8b8f0f3b9e
realm:
  description: Realm of the client.
  returned: when O(client_id) is given
  type: str
  sample: apps
action:
  description: V(regenerated), V(retired), or V(none) when the secret was not due or there was nothing to retire.
  returned: when O(client_id) is given
  type: str
  sample: regenerated
reason:
  description: Why the secret was (or was not) regenerated.
  returned: when O(client_id) is given and O(state=regenerated)
  type: str
  sample: the secret is 91d old, at least max_age 90d
secret:
  description: The new client secret. Use C(no_log=true).
  returned: when a secret was regenerated, not in check mode
  type: str
  sample: 9nYb2XsUqVbD0yV1d0mL6d8kJ3oQ7qTz
graceful:
  description:
    - Whether the previous secret keeps working until RV(rotated_expires_at). After the write this is what Keycloak
      did; in check mode a prediction from the realm's client policies (null when they cannot be read).
  returned: when RV(action=regenerated)
  type: bool
  sample: true
created_at:
  description: When the current secret was created (UTC), after the task; in check mode the unchanged secret's.
  returned: when O(client_id) is given and O(state=regenerated)
  type: str
  sample: "2026-11-23T11:46:41Z"
expires_at:
  description: When Keycloak stops accepting the current secret (UTC); null when no rotation policy covers the client.
  returned: when O(client_id) is given and O(state=regenerated)
  type: str
  sample: "2027-11-23T11:46:41Z"
rotated_expires_at:
  description: When Keycloak stops accepting the rotated (previous) secret (UTC); null without one.
  returned: when O(client_id) is given
  type: str
  sample: "2026-11-25T11:46:41Z"
rotation_policy:
  description: The client policy that covers the client after the task.
  returned: when O(grace_period) is given
  type: str
  sample: keycloak-ops-secret-rotation
clients:
  description: One result per client, in the order given, each with C(changed) and the keys above.
  returned: always
  type: list
  elements: dict
  sample: [{"client_id": "billing-worker", "realm": "apps", "changed": true, "action": "regenerated", "graceful": true}]
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.keycloak_ops.clients.plugins.module_utils._client_options import InvalidClient, client_items
from ansible_collections.keycloak_ops.clients.plugins.module_utils._connection import (
    KeycloakOpsError, connect, keycloak_argument_spec,
)
from ansible_collections.keycloak_ops.clients.plugins.module_utils._secrets import (
    DEFAULT_POLICY, DEFAULT_SECRET_EXPIRATION, ITEM_OPTIONS, InvalidSecretOption, SecretRotation, format_duration,
    items_argument_spec, label, parse_duration,
)

# Shorter strings are too likely to appear elsewhere in output to be scrubbed as secrets.
MIN_SCRUBBED_LENGTH = 8


def rotation_settings(params):
    """(max_age, policy) from the options, checked before any request."""
    durations = dict((name, parse_duration(name, params[name]) if params[name] is not None else None)
                     for name in ('max_age', 'grace_period', 'secret_expiration'))
    if params['state'] == 'retired' and any(durations.values()):
        raise InvalidSecretOption("max_age, grace_period and secret_expiration apply to state=regenerated, not retired")
    if durations['grace_period'] is None:
        return durations['max_age'], None
    expiration = durations['secret_expiration'] or DEFAULT_SECRET_EXPIRATION
    if durations['grace_period'] >= expiration:
        raise InvalidSecretOption("grace_period (%s) must be shorter than secret_expiration (%s)"
                                  % (format_duration(durations['grace_period']), format_duration(expiration)))
    return durations['max_age'], dict(name=params['rotation_policy'], expiration=expiration, grace=durations['grace_period'])


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


def main():
    argument_spec = keycloak_argument_spec()
    argument_spec.update(items_argument_spec())
    argument_spec.update(
        state=dict(type='str', choices=['regenerated', 'retired'], default='regenerated'),
        max_age=dict(type='raw'),
        grace_period=dict(type='raw'),
        secret_expiration=dict(type='raw', no_log=False),
        rotation_policy=dict(type='str', default=DEFAULT_POLICY),
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True,
                           required_one_of=[('client_id', 'clients')], mutually_exclusive=[('client_id', 'clients')],
                           required_by={'secret_expiration': 'grace_period'})
    many = module.params['clients'] is not None
    try:
        items = client_items(module.params, ITEM_OPTIONS)
        max_age, policy = rotation_settings(module.params)
    except (InvalidClient, InvalidSecretOption) as exc:
        module.fail_json(msg=str(exc))
    if policy and max_age and max_age >= policy['expiration']:
        module.warn("max_age (%s) is not shorter than secret_expiration (%s): Keycloak refuses a covered client's "
                    "secret once it is secret_expiration old, before this task would rotate it"
                    % (format_duration(max_age), format_duration(policy['expiration'])))

    rotation = SecretRotation(connect(module), module.params['state'], max_age=max_age, policy=policy,
                              check_mode=module.check_mode)
    plans = []
    for index, item in enumerate(items):
        try:
            plans.append(rotation.plan(item))
        except KeycloakOpsError as exc:
            module.fail_json(msg="%s: %s; nothing was changed" % (label(item, many, index), exc))
    # Secrets read but not returned (the old and the rotated ones) stay out of every output.
    module.no_log_values.update(s for p in plans for s in p['reads'] if s and len(s) >= MIN_SCRUBBED_LENGTH)
    try:
        rotation.check_rights(plans)
    except KeycloakOpsError as exc:
        module.fail_json(msg="%s; nothing was changed" % exc)

    results = []
    for index, (item, plan) in enumerate(zip(items, plans)):
        try:
            result = rotation.apply(plan)
        except KeycloakOpsError as exc:
            done = ', '.join(r['client_id'] for r in results if r['changed']) or 'none'
            module.fail_json(msg="%s: %s (clients already changed in this task: %s)" % (label(item, many, index), exc, done),
                             clients=[dict((k, v) for k, v in r.items() if k != 'diff') for r in results])
        warn_not_graceful(module, result)
        results.append(result)

    diffs = [r.pop('diff') for r in results]
    output = dict(changed=any(r['changed'] for r in results), clients=results)
    if module._diff:
        output['diff'] = [d for d, r in zip(diffs, results) if r['changed']] if many else diffs[0]
    if not many:
        output.update((k, v) for k, v in results[0].items() if k != 'changed')
    module.exit_json(**output)


if __name__ == '__main__':
    main()
