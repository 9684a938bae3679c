#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: keycloak_ops contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: public_client
short_description: Keycloak public clients (single-page, mobile, desktop and command-line apps)
version_added: 1.0.0
description:
  - Makes one or many OpenID Connect public clients look as declared, and nothing more.
  - A public client has no secret; PKCE with C(S256) is enforced unless O(pkce_method=none),
    the implicit flow stays off, and service accounts are off.
  - Refuses a wildcard redirect URI and plain C(http) redirect URIs to hosts other than loopback,
    unless O(allow_insecure_redirect_uris=true).
  - An existing confidential client is converted to a public one.
author:
  - keycloak_ops maintainers (@keycloak-ops)
extends_documentation_fragment:
  - keycloak_ops.clients.keycloak
  - keycloak_ops.clients.keycloak.SERVER
  - keycloak_ops.clients.keycloak.ACTIONGROUPS
  - keycloak_ops.clients.client
  - keycloak_ops.clients.client.TARGET
attributes:
  check_mode:
    description: Predicts the change without any write request.
    support: full
  diff_mode:
    description: Shows the managed fields before and after.
    support: full
options:
  preset:
    description:
      - V(spa) is a browser single-page app and V(native) a mobile or desktop app (authorization code
        flow with PKCE, no password grant); V(cli) is a command-line tool using the device authorization grant.
      - A preset only fills options that are not given.
    type: str
    choices: [cli, native, spa]
  pkce_method:
    description:
      - PKCE code challenge method Keycloak requires. V(S256) unless set.
      - V(none) removes the requirement; do so only for a client that cannot send a code challenge.
    type: str
    choices: [S256, none]
  device_authorization:
    description: OAuth 2.0 device authorization grant (for command-line tools and devices without a browser).
    type: bool
  allow_insecure_redirect_uris:
    description:
      - Accept wildcard redirect URIs and web origins, and C(http) redirect URIs to non-loopback hosts.
    type: bool
notes:
  - Roles of realm-management it needs in the realm (measured on Keycloak; docs/least-privilege.yml in the collection)
    are, for clients, their secrets, client scopes (and the realm's default client scopes), initial access tokens and
    registration access tokens, C(manage-clients).
seealso:
  - module: keycloak_ops.clients.confidential_client
"""

EXAMPLES = r"""
- name: A single-page app with PKCE S256
  keycloak_ops.clients.public_client:
    realm: apps
    client_id: dashboard-spa
    preset: spa
    root_url: https://dashboard.example.com
    home_url: https://dashboard.example.com/
    redirect_uris: ["https://dashboard.example.com/*"]
    web_origins: ["+"]
    consent_required: false

- name: A mobile app with a custom-scheme redirect
  keycloak_ops.clients.public_client:
    realm: apps
    client_id: field-app
    preset: native
    redirect_uris: ["com.example.field:/oauth2redirect"]

- name: A command-line tool with the device grant
  keycloak_ops.clients.public_client:
    realm: apps
    client_id: ops-cli
    preset: cli
"""

RETURN = r"""
stands:
  description:
    - After a failure, the writes of the task that stand, in the order they were sent; each one that cannot be
      undone says why, for example "deleted client a (cannot be undone)". Empty when the realm is as before the task.
  returned: on failure, once every item passed the checks that need no request
  type: list
  elements: str
  sample: ["deleted client legacy-app (cannot be undone)"]
may_stand:
  description: After Keycloak stopped answering, the writes whose answer was lost, which Keycloak may have made.
  returned: on failure because Keycloak stopped answering
  type: list
  elements: str
  sample: ["created client billing-worker"]
client_id:
  description: The client id (single-client form).
  returned: when O(client_id) is given
  type: str
  sample: dashboard-spa
id:
  description: Keycloak's internal id (UUID) of the client; null in check mode before creation.
  returned: when O(client_id) is given
  type: str
  sample: 0f4c8a6e-6d2a-4f2e-9a59-0c8b8f0f3b9e
realm:
  description: Realm of the client.
  returned: when O(client_id) is given
  type: str
  sample: apps
state:
  description: V(present) or V(absent) after the task.
  returned: when O(client_id) is given
  type: str
  sample: present
end_state:
  description: The managed fields of the client after the task.
  returned: when O(client_id) is given and O(state=present)
  type: dict
  sample: {"clientId": "dashboard-spa", "publicClient": true, "attributes": {"pkce.code.challenge.method": "S256"}}
grants:
  description: OAuth grants the client can use after the task.
  returned: when O(client_id) is given and O(state=present)
  type: list
  elements: str
  sample: [authorization_code]
clients:
  description: One result per client, in the order given, each with C(client_id), C(realm), C(id), C(changed),
    C(state), C(end_state) and C(grants).
  returned: always
  type: list
  elements: dict
  sample: [{"client_id": "dashboard-spa", "realm": "apps", "changed": false, "state": "present"}]
"""

from ansible_collections.keycloak_ops.clients.plugins.module_utils._clients.run import run_client_module
from ansible_collections.keycloak_ops.clients.plugins.module_utils._clients.options import PLANNED_SCOPES, PUBLIC_OPTIONS
from ansible_collections.keycloak_ops.clients.plugins.module_utils._core.module import KeycloakModule


def main():
    module = KeycloakModule(PLANNED_SCOPES, item_options=PUBLIC_OPTIONS)
    run_client_module(module, 'public')


if __name__ == '__main__':
    main()
