#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: keycloak_ops contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: client_credentials_check
short_description: Check that confidential clients obtain a token with their secret
version_added: 2.0.0
description:
  - Asks the token endpoint of each client's realm for a client-credentials token with the client's secret, as a
    consumer holding that secret would, and reports per client whether a token came and, if not, Keycloak's reason.
  - Many clients in one task are checked a few at a time over one HTTP session, with the same server options
    (URL, CA, client certificate) and C(KEYCLOAK_*) environment variables as the other modules; no admin
    credentials are needed.
  - Fails when a client gets no token, naming each such client and the reason on one line. The secrets and the
    tokens never appear in the output.
  - The rotate role runs it after delivering new secrets and before retiring the previous ones.
  - The results of M(keycloak_ops.clients.client_secret) and M(keycloak_ops.clients.confidential_client), and the
    entries of the P(keycloak_ops.clients.client_credentials#filter) filter, can be given as O(clients) as they are;
    the keys of those results that say nothing to the check (such as C(id), C(action), C(token_url)) are ignored.
author:
  - keycloak_ops maintainers (@keycloak-ops)
extends_documentation_fragment:
  - keycloak_ops.clients.keycloak.SERVER
  - keycloak_ops.clients.client.TARGET
attributes:
  check_mode:
    description: Sends the same token requests (they change nothing in Keycloak) and reports the same.
    support: full
  diff_mode:
    description: Changes nothing, so there is no diff.
    support: none
options:
  secret:
    description:
      - The secret to check (the single-client form, or the default of every item of O(clients)).
    type: str
    aliases:
      - client_secret
  auth_method:
    description:
      - How the secret is sent. V(auto) sends it as C(client_secret_basic) and, when Keycloak answers that the client
        requires C(client_secret_post), once more that way; a client registered with one method is refused the other.
    type: str
    choices: [auto, client_secret_basic, client_secret_post]
    default: auto
  clients:
    description:
      - Many clients in one task. Each item is a dict with O(client_id), O(secret) and optionally O(realm) and
        O(auth_method); the top-level options are the defaults of every item.
      - Checked four at a time.
    type: list
    elements: raw
notes:
  - Not in the C(keycloak) action group, as it takes no admin credentials (module_defaults for the group would
    hand it options it does not have).
  - Sends the token requests to O(auth_keycloak_url); give Keycloak's URL as the consumers reach it when that differs.
  - Each token request is sent once; a client-credentials token that Keycloak issues is not used and expires.
seealso:
  - module: keycloak_ops.clients.client_secret
  - module: keycloak_ops.clients.client_secret_info
"""

EXAMPLES = r"""
- name: Check that the new secrets work before the previous ones are retired
  keycloak_ops.clients.client_credentials_check:
    auth_keycloak_url: https://sso.example.com
    ca_path: /etc/pki/sso-ca.pem
    realm: apps
    clients: "{{ rotation.clients | selectattr('secret', 'defined') }}"
  no_log: true

- name: One client, its secret from the vault
  keycloak_ops.clients.client_credentials_check:
    realm: apps
    client_id: billing-worker
    secret: "{{ vault_billing_worker_secret }}"
  no_log: true
"""

RETURN = r"""
client_id:
  description: The client id (single-client form).
  returned: when O(client_id) is given
  type: str
  sample: billing-worker
realm:
  description: Realm of the client.
  returned: when O(client_id) is given
  type: str
  sample: apps
ok:
  description: Whether the token endpoint answered a token.
  returned: when O(client_id) is given
  type: bool
  sample: true
auth_method:
  description: How the secret was sent last; null when no request was sent.
  returned: when O(client_id) is given
  type: str
  sample: client_secret_basic
status:
  description: HTTP status of the token endpoint's answer; null when no request was sent.
  returned: when O(client_id) is given
  type: int
  sample: 200
error:
  description: Why no token came (Keycloak's C(error) and C(error_description)), on one line; null when RV(ok).
  returned: when O(client_id) is given
  type: str
  sample: "HTTP 401 unauthorized_client: Invalid client or Invalid client credentials"
clients:
  description: One result per client, in the order given, each with the keys above.
  returned: always
  type: list
  elements: dict
  sample: [{"client_id": "billing-worker", "realm": "apps", "ok": true, "auth_method": "client_secret_basic",
            "status": 200, "error": null}]
"""

from ansible_collections.keycloak_ops.clients.plugins.module_utils._secrets.credentials_check import (
    CHECK_ITEM, run_credentials_check,
)
from ansible_collections.keycloak_ops.clients.plugins.module_utils._core.module import KeycloakModule


def main():
    run_credentials_check(KeycloakModule(connection='server', item_options=CHECK_ITEM))


if __name__ == '__main__':
    main()
