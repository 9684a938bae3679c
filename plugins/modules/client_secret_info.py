#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: keycloak_ops contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: client_secret_info
short_description: Read the secret of Keycloak confidential clients, and their rotated secret
version_added: 1.0.0
description:
  - Returns the current secret of one or many confidential clients, when Keycloak created it and, when a
    secret-rotation client policy covers the client, when it expires.
  - When a rotation left a previous secret valid (the I(rotated) secret), returns it too, with its expiry.
  - Replaces copying the secret from the Credentials tab of the console.
  - The results hold secrets. Run such a task with C(no_log=true), and hand the values on to where they belong
    (a file with restricted mode, Ansible Vault, HashiCorp Vault) without printing them.
  - Fails, naming the missing C(manage-clients) role, when Keycloak answers a masked value (C(**********))
    instead of the secret, as Keycloak 26.8 and later do for an admin holding only C(view-clients).
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
    description: Reads only; runs the same in check mode.
    support: full
  diff_mode:
    description: Changes nothing, so there is no diff.
    support: none
options: {}
notes:
  - Roles of realm-management it needs in the realm (measured on Keycloak; docs/least-privilege.yml in the collection)
    are, for clients, their secrets, client scopes (and the realm's default client scopes), initial access tokens and
    registration access tokens, C(manage-clients).
  - Many clients cost one token and, in a realm of fewer than about six times as many clients, one listing request
    per 300 clients of the realm (the listing holds the secrets and rotated secrets); in a bigger realm an exact
    query per client, a few at a time. A secret Keycloak shows masked is read on its own, which then fails naming
    the missing role.
  - Times are in UTC; RV(age) counts from the clock of the host running the module.
seealso:
  - module: keycloak_ops.clients.client_secret
  - plugin: keycloak_ops.clients.client_secret
    plugin_type: lookup
"""

EXAMPLES = r"""
- name: Read the secret of a service client (never print it), as a service account of the apps realm
  keycloak_ops.clients.client_secret_info:
    auth_keycloak_url: https://sso.example.com
    auth_realm: apps
    auth_client_id: ansible
    auth_client_secret: "{{ vault_keycloak_ansible_secret }}"
    realm: apps
    client_id: billing-worker
  register: billing
  no_log: true

- name: Hand it to the application host, readable by the service only (born with its owner and mode)
  keycloak_ops.clients.secret_file:
    path: /etc/billing/client-secret
    content: "{{ billing.secret }}"
    secrets: ["{{ billing.secret }}"]
    owner: billing
    mode: "0400"

- name: Many clients, one token
  keycloak_ops.clients.client_secret_info:
    realm: apps
    clients:
      - billing-worker
      - report-job
      - client_id: grafana
        realm: monitoring
  register: secrets
  no_log: true

- name: Warn while a rotated secret is still accepted (after a rotation, before consumers switched)
  ansible.builtin.debug:
    msg: "{{ item.client_id }} still accepts its previous secret until {{ item.rotated_expires_at }}"
  loop: "{{ secrets.clients | selectattr('rotated_secret') | rejectattr('rotated_expired') }}"
  loop_control:
    label: "{{ item.client_id }}"
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
secret:
  description: The current client secret. Use C(no_log=true).
  returned: when O(client_id) is given
  type: str
  sample: 9nYb2XsUqVbD0yV1d0mL6d8kJ3oQ7qTz
created_at:
  description: When Keycloak created the current secret (UTC); null when Keycloak recorded no time.
  returned: when O(client_id) is given
  type: str
  sample: "2026-11-23T11:46:41Z"
age:
  description: Seconds since the current secret was created; null when Keycloak recorded no time.
  returned: when O(client_id) is given
  type: int
  sample: 86400
expires_at:
  description:
    - When Keycloak stops accepting the current secret (UTC). Only set when a client policy with the
      C(secret-rotation) executor covers the client; null otherwise (the secret does not expire).
  returned: when O(client_id) is given
  type: str
  sample: "2027-11-23T11:46:41Z"
rotated_secret:
  description:
    - The previous secret, still accepted until RV(rotated_expires_at) after a graceful rotation; null when none.
      Use C(no_log=true).
  returned: when O(client_id) is given
  type: str
  sample: 2swxemjsJ60YLPBk4yUkQt5W8nfbeCZl
rotated_expires_at:
  description: When Keycloak stops accepting the rotated secret (UTC); null without a rotated secret.
  returned: when O(client_id) is given
  type: str
  sample: "2026-11-25T11:46:41Z"
rotated_expired:
  description: Whether the rotated secret is past its expiry (Keycloak refuses it); null without a rotated secret.
  returned: when O(client_id) is given
  type: bool
  sample: false
clients:
  description: One result per client, in the order given, each with the keys above.
  returned: always
  type: list
  elements: dict
  sample: [{"client_id": "billing-worker", "realm": "apps", "secret": "9nYb...", "created_at": "2026-11-23T11:46:41Z",
            "age": 86400, "expires_at": null, "rotated_secret": null, "rotated_expires_at": null, "rotated_expired": null}]
"""

import time

from ansible_collections.keycloak_ops.clients.plugins.module_utils._core.items import CLIENT_ADDRESS
from ansible_collections.keycloak_ops.clients.plugins.module_utils._core.module import KeycloakModule
from ansible_collections.keycloak_ops.clients.plugins.module_utils._secrets.manager import SecretManager


def main():
    module = KeycloakModule(item_options=CLIENT_ADDRESS)
    items = module.items()
    manager = SecretManager(module.api)
    with module.failing():
        manager.prefetch(items)
    results = []
    for index, item in enumerate(items):
        with module.failing(module.label(index, item)):
            results.append(manager.info(item['realm'], item['client_id'], time.time()))
    module.exit_items(results)


if __name__ == '__main__':
    main()
