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
  - Every client of the task is read before the first write (the realm's listing for many clients, where that is
    cheaper than a query each), and the rights every planned write needs are checked; an unknown or public client,
    or a missing role, fails the task with nothing changed. The writes then run four at a time.
  - A regenerated secret cannot be taken back. When Keycloak refuses one client, no further client is started (the
    writes already in flight finish), and the task fails naming exactly the clients that got a new secret and those
    that did not; the results of the rotated clients, with their new secrets, come with the failure in RV(clients),
    so that they can still be delivered. The policy attribute of the clients that were not rotated is put back, and
    the realm's client profile and policy too when no client was rotated. When Keycloak stops answering, nothing is
    put back; run the task again (with O(max_age), the clients already rotated are not rotated twice).
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
        and that they cover the clients of the task, before any regeneration. This needs the
        C(client-secret-rotation) feature of Keycloak, and the roles the notes name.
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
  - Roles of realm-management it needs in the realm (measured on Keycloak; docs/least-privilege.yml in the collection)
    are, for clients, their secrets, client scopes (and the realm's default client scopes), initial access tokens and
    registration access tokens, C(manage-clients); for graceful rotation, the previous secret valid for a grace period
    (C(grace_period), the rotate role's default), C(manage-clients) and C(manage-realm).
  - Costs one token, the realm's listing (or a query per client in a realm of more than about six times as many
    clients), the realm's client policies with O(grace_period), and per changed client its writes and one read back.
    A run with nothing due sends no write.
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
  keycloak_ops.clients.secret_file:
    path: /etc/billing/client-secret
    content: "{{ rotation.secret }}"
    secrets: ["{{ rotation.secret }}"]
    mode: "0400"
  when: rotation.action == 'regenerated'

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
  description:
    - One result per client, in the order given, each with C(changed) and the keys above.
    - When the task fails after some clients were changed, the results of those clients only (with RV(secret)).
  returned: always
  type: list
  elements: dict
  sample: [{"client_id": "billing-worker", "realm": "apps", "changed": true, "action": "regenerated", "graceful": true}]
"""

from ansible_collections.keycloak_ops.clients.plugins.module_utils._core.items import CLIENT_ADDRESS
from ansible_collections.keycloak_ops.clients.plugins.module_utils._core.module import KeycloakModule
from ansible_collections.keycloak_ops.clients.plugins.module_utils._secrets.rotation_policy import DEFAULT_POLICY
from ansible_collections.keycloak_ops.clients.plugins.module_utils._secrets.rotation import run_client_secret


def main():
    module = KeycloakModule(
        dict(
            state=dict(type='str', choices=['regenerated', 'retired'], default='regenerated'),
            max_age=dict(type='raw'),
            grace_period=dict(type='raw'),
            secret_expiration=dict(type='raw', no_log=False),
            rotation_policy=dict(type='str', default=DEFAULT_POLICY),
        ),
        item_options=CLIENT_ADDRESS, required_by={'secret_expiration': 'grace_period'})
    run_client_secret(module)


if __name__ == '__main__':
    main()
