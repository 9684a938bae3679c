#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: keycloak_ops contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: registration_access_token
short_description: A registration access token for a client an admin created, to adopt it on its host
version_added: 2.0.0
description:
  - Generates a new registration access token for an existing client (the console's
    "Clients > client > Credentials > Registration access token > Regenerate"), so that
    M(keycloak_ops.clients.client_registration) on the application host can adopt a client created by an admin
    or another tool, and keep its credentials there.
  - Each run generates a new token, which invalidates the previous one, so a task should run only for hosts
    that do not hold the client's credentials file yet (see the example). The token is returned in
    RV(registration_access_token); run the task with C(no_log=true) and hand the value straight to
    M(keycloak_ops.clients.client_registration), whose O(keycloak_ops.clients.client_registration#module:registration_access_token)
    is never logged and which writes it only to the host's credentials file (mode 0600).
author:
  - keycloak_ops maintainers (@keycloak-ops)
extends_documentation_fragment:
  - keycloak_ops.clients.keycloak
  - keycloak_ops.clients.keycloak.SERVER
  - keycloak_ops.clients.keycloak.ACTIONGROUPS
attributes:
  check_mode:
    description: Reports the change without generating a token.
    support: full
  diff_mode:
    description: No diff; the token is never shown.
    support: none
options:
  realm:
    description: Realm of the client.
    type: str
    default: master
  client_id:
    description: The C(clientId) of the existing client.
    type: str
    required: true
notes:
  - Roles of realm-management it needs in the realm (measured on Keycloak; docs/least-privilege.yml in the collection)
    are, for clients, their secrets, client scopes (and the realm's default client scopes), initial access tokens and
    registration access tokens, C(manage-clients).
seealso:
  - module: keycloak_ops.clients.client_registration
"""

EXAMPLES = r"""
- name: Does the host hold the client's credentials already?
  ansible.builtin.stat:
    path: /etc/legacy-app/keycloak-client.json
  register: legacy_credentials

- name: Generate a registration access token for the client created in the console
  keycloak_ops.clients.registration_access_token:
    realm: apps
    client_id: legacy-app
  delegate_to: localhost
  register: legacy_rat
  no_log: true
  when: not legacy_credentials.stat.exists

- name: Adopt the client on its host; the token goes to the credentials file only
  keycloak_ops.clients.client_registration:
    auth_keycloak_url: https://sso.example.com
    realm: apps
    client_id: legacy-app
    credentials_file: /etc/legacy-app/keycloak-client.json
    registration_access_token: "{{ legacy_rat.registration_access_token | default(omit) }}"
"""

RETURN = r"""
registration_access_token:
  description: The new token. Use C(no_log=true) on the task.
  returned: success, not in check mode
  type: str
  sample: eyJhbGciOiJIUzUxMiIsInR5cCIgOiAiSldUIiwia2lkIiA6ICI...
client_id:
  description: The client id.
  returned: always
  type: str
  sample: legacy-app
id:
  description: Keycloak's internal id (UUID) of the client.
  returned: always
  type: str
  sample: 0f4c8a6e-6d2a-4f2e-9a59-0c8b8f0f3b9e
realm:
  description: Realm of the client.
  returned: always
  type: str
  sample: apps
"""

from ansible_collections.keycloak_ops.clients.plugins.module_utils._core.connection import admin_path, find_client
from ansible_collections.keycloak_ops.clients.plugins.module_utils._core.module import KeycloakModule


def main():
    module = KeycloakModule(dict(realm=dict(type='str', default='master'), client_id=dict(type='str', required=True)))
    realm, client_id = module.params['realm'], module.params['client_id']
    with module.failing():
        client = find_client(module.api, realm, client_id)
        if client is None:
            module.fail_json(msg="client '%s' does not exist in realm '%s'; create it first (confidential_client)"
                             % (client_id, realm))
        result = dict(changed=True, client_id=client_id, id=client['id'], realm=realm)
        if module.check_mode:
            module.exit_json(**result)
        path = admin_path(realm, 'clients', client['id'], 'registration-access-token')
        rep = module.api.post(path, expected=(200,))[1]
    token = (rep or {}).get('registrationAccessToken')
    if not token:
        module.fail_json(msg="Keycloak generated no registration access token for client '%s'" % client_id, **result)
    module.exit_json(registration_access_token=token, **result)


if __name__ == '__main__':
    main()
