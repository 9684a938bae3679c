#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: keycloak_ops contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: initial_access_token
short_description: Keycloak initial access tokens, to let hosts register their own clients
version_added: 1.0.0
description:
  - Creates, lists and revokes the initial access tokens of a realm (the console's
    "Realm settings > Client registration > Initial access token" tab, or "Clients > Initial access token").
  - An initial access token lets whoever holds it register up to O(count) clients through the Client
    Registration Service within O(expiration), without admin credentials; see
    M(keycloak_ops.clients.client_registration), which runs on the host that will use the client,
    so the client secret is born there and never crosses the controller.
  - Keycloak shows the value of a token only once, when it is created. The module returns it in
    RV(token) together with a short RV(fingerprint) that later tasks, logs and people can use to refer
    to the token without seeing it. Run the creating task with C(no_log=true).
author:
  - keycloak_ops maintainers (@keycloak-ops)
extends_documentation_fragment:
  - keycloak_ops.clients.keycloak
  - keycloak_ops.clients.keycloak.SERVER
  - keycloak_ops.clients.keycloak.ACTIONGROUPS
attributes:
  check_mode:
    description: Predicts the change without any write request; no token (and no value) is created.
    support: full
  diff_mode:
    description: Shows the tokens of the realm (id, count, remaining, expiry; never values) before and after.
    support: full
options:
  realm:
    description: Realm in which clients will be registered with the token.
    type: str
    default: master
  state:
    description:
      - V(present) creates a new token. Every run creates one, so such a task always reports a change;
        guard it (for example with C(when)) if the token is only needed once.
      - V(absent) revokes the tokens chosen by O(id), O(expired) and O(used_up), and reports a change only
        if one of them existed.
      - Not set, the module only lists the tokens and changes nothing. Creating a token is never implied.
      - Every run returns the tokens of the realm (without values) in RV(tokens).
    type: str
    choices: [present, absent]
  count:
    description:
      - How many clients can be registered with the token (O(state=present)).
      - Each registration uses one; a failed registration uses none.
    type: int
    default: 1
  expiration:
    description:
      - How long the token can be used after its creation (O(state=present)).
      - Seconds (V(3600)), or a number with a unit V(s), V(m), V(h), V(d) or V(w) (V(15m), V(1h), V(7d), V(1h30m)).
      - V(0) makes a token that never expires; prefer a short lifetime.
    type: raw
    default: 1h
  id:
    description:
      - Ids of tokens to revoke (O(state=absent)), as returned in RV(id) and RV(tokens).
      - An id that no longer exists is not an error (the token is absent already).
    type: list
    elements: str
    aliases: [ids]
  expired:
    description: With O(state=absent), also revoke every token whose expiration has passed.
    type: bool
    default: false
  used_up:
    description: With O(state=absent), also revoke every token with no registration left.
    type: bool
    default: false
notes:
  - Roles of realm-management it needs in the realm (measured on Keycloak; docs/least-privilege.yml in the collection)
    are, for clients, their secrets, client scopes (and the realm's default client scopes), initial access tokens and
    registration access tokens, C(manage-clients).
  - Keycloak refuses an initial access token to C(create-client) alone.
  - Keycloak answers the creation with HTTP 200 up to version 26.6 and with 201 from 26.7; both are accepted.
  - Expiry in RV(tokens) is computed with the clock of the host running the module against the creation
    time Keycloak recorded.
  - Keycloak's periodic cleanup also deletes expired and used-up tokens by itself, so they may vanish from
    RV(tokens) before they are revoked.
seealso:
  - module: keycloak_ops.clients.client_registration
  - name: Client registration (Keycloak documentation)
    description: Initial access tokens and the Client Registration Service.
    link: https://www.keycloak.org/securing-apps/client-registration
"""

EXAMPLES = r"""
- name: Let the three hosts of the group register themselves within 15 minutes
  keycloak_ops.clients.initial_access_token:
    realm: apps
    state: present
    count: "{{ groups['reporting'] | length }}"
    expiration: 15m
  register: iat
  no_log: true

- name: Refer to it without showing it
  ansible.builtin.debug:
    msg: "initial access token {{ iat.fingerprint }} (id {{ iat.id }}) expires at {{ iat.expires_at }}"

- name: List the tokens of the realm (never their values), without state
  keycloak_ops.clients.initial_access_token:
    realm: apps
  register: iat_list

- name: Revoke one token
  keycloak_ops.clients.initial_access_token:
    realm: apps
    state: absent
    id: "{{ iat.id }}"

- name: Clean up every token that can no longer register anything
  keycloak_ops.clients.initial_access_token:
    realm: apps
    state: absent
    expired: true
    used_up: true
"""

RETURN = r"""
token:
  description:
    - The value of the new token, to give to M(keycloak_ops.clients.client_registration) as its
      C(initial_access_token). Keycloak never shows it again. Use C(no_log=true).
    - Null in check mode.
  returned: when O(state=present)
  type: str
  sample: eyJhbGciOiJIUzUxMiIsInR5cCIgOiAiSldUIn0.eyJ0eXAiOiJJbml0aWFsQWNjZXNzVG9rZW4ifQ.c2ln
fingerprint:
  description: First 12 hex digits of the SHA-256 of RV(token); safe to print. Null in check mode.
  returned: when O(state=present)
  type: str
  sample: 3f9c2a7d01be
id:
  description: Id of the new token, for O(id) of a later revoke. Null in check mode.
  returned: when O(state=present)
  type: str
  sample: 517cdbc0-3886-4e9f-94b7-6403cd15783a
count:
  description: Registrations allowed by the new token.
  returned: when O(state=present)
  type: int
  sample: 3
remaining:
  description: Registrations left on the new token.
  returned: when O(state=present)
  type: int
  sample: 3
expiration:
  description: Lifetime of the new token in seconds (0 is never).
  returned: when O(state=present)
  type: int
  sample: 900
expires_at:
  description: When the new token expires (UTC, ISO 8601); null if it never does, and in check mode.
  returned: when O(state=present)
  type: str
  sample: "2026-11-23T10:15:00Z"
revoked:
  description: Ids of the tokens revoked (in check mode, that would be revoked).
  returned: when O(state=absent)
  type: list
  elements: str
  sample: [517cdbc0-3886-4e9f-94b7-6403cd15783a]
tokens:
  description:
    - The tokens of the realm after the task, without values. Each has C(id), C(timestamp) and C(created_at)
      (creation), C(expiration) (seconds, 0 is never), C(expires_at), C(expired), C(count), C(remaining)
      and C(used_up).
  returned: always
  type: list
  elements: dict
  sample: [{"id": "517cdbc0-3886-4e9f-94b7-6403cd15783a", "timestamp": 1795434417, "created_at": "2026-11-23T10:00:17Z",
            "expiration": 900, "expires_at": "2026-11-23T10:15:17Z", "expired": false, "count": 3, "remaining": 1,
            "used_up": false}]
realm:
  description: The realm of the tokens.
  returned: always
  type: str
  sample: apps
"""

from ansible_collections.keycloak_ops.clients.plugins.module_utils._initial_access.run import run_initial_access_token
from ansible_collections.keycloak_ops.clients.plugins.module_utils._core.module import KeycloakModule


def main():
    module = KeycloakModule(dict(
        realm=dict(type='str', default='master'),
        state=dict(type='str', choices=['present', 'absent']),
        count=dict(type='int', default=1),
        expiration=dict(type='raw', default='1h'),
        id=dict(type='list', elements='str', aliases=['ids']),
        expired=dict(type='bool', default=False),
        used_up=dict(type='bool', default=False),
    ))
    run_initial_access_token(module)


if __name__ == '__main__':
    main()
