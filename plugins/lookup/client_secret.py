# -*- coding: utf-8 -*-
# Copyright: keycloak_ops contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: client_secret
short_description: The secret of Keycloak confidential clients, at template time
version_added: 1.0.0
description:
  - Returns the current secret of each confidential client named in the terms, as
    M(keycloak_ops.clients.client_secret_info) does, one token for all of them.
  - Fails, naming the missing C(manage-clients) role, when Keycloak answers a masked value (C(**********))
    instead of the secret.
  - The value is a secret. Use it where it is needed (a template, a vault) in a task with C(no_log=true),
    never in a debug message.
author:
  - keycloak_ops maintainers (@keycloak-ops)
options:
  _terms:
    description: Client ids (C(clientId), exact match) of confidential clients.
    required: true
    type: list
    elements: str
  realm:
    description: Realm of the clients.
    type: str
    default: master
  auth_keycloak_url:
    # Required all the same: without it the lookup fails with a message naming KEYCLOAK_URL.
    required: false
extends_documentation_fragment:
  - keycloak_ops.clients.keycloak
  - keycloak_ops.clients.keycloak.SERVER
  - keycloak_ops.clients.keycloak.PLUGINS
notes:
  - Roles of realm-management it needs in the realm (measured on Keycloak; docs/least-privilege.yml in the collection)
    are, for clients, their secrets, client scopes (and the realm's default client scopes), initial access tokens and
    registration access tokens, C(manage-clients).
  - Lookups run on the controller, so the C(KEYCLOAK_*) variables are read from the controller's environment.
seealso:
  - module: keycloak_ops.clients.client_secret_info
  - module: keycloak_ops.clients.client_secret
"""

EXAMPLES = r"""
- name: Render the application config with its client secret (credentials from KEYCLOAK_* variables)
  ansible.builtin.template:
    src: app.conf.j2
    dest: /etc/app/app.conf
    mode: "0600"
  vars:
    oidc_client_secret: "{{ lookup('keycloak_ops.clients.client_secret', 'billing-worker', realm='apps') }}"
  no_log: true

- name: Several clients in one lookup (one token); query() returns a list
  ansible.builtin.set_fact:
    worker_secrets: "{{ query('keycloak_ops.clients.client_secret', 'billing-worker', 'report-job', realm='apps',
                              auth_keycloak_url='https://sso.example.com', auth_realm='apps',
                              auth_client_id='ansible', auth_client_secret=vault_keycloak_ansible_secret) }}"
  no_log: true
"""

RETURN = r"""
_raw:
  description: The current secret of each client, in the order of the terms.
  type: list
  elements: str
"""

from ansible.errors import AnsibleLookupError
from ansible.module_utils.basic import missing_required_lib
from ansible.plugins.lookup import LookupBase
from ansible.utils.unsafe_proxy import wrap_var

from ansible_collections.keycloak_ops.clients.plugins.module_utils._core.connection import (
    KEYCLOAK_IMPORT_ERROR, KeycloakAPI,
)
from ansible_collections.keycloak_ops.clients.plugins.module_utils._core.connection_options import keycloak_argument_spec
from ansible_collections.keycloak_ops.clients.plugins.module_utils._core.errors import KeycloakOpsError
from ansible_collections.keycloak_ops.clients.plugins.module_utils._secrets.manager import SecretManager


class LookupModule(LookupBase):

    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        if KEYCLOAK_IMPORT_ERROR:
            raise AnsibleLookupError(missing_required_lib('python-keycloak'))
        # The same names and defaults as the modules' options, so KeycloakAPI takes them as module params.
        params = {name: self.get_option(name) for name in keycloak_argument_spec()}
        if not params['auth_keycloak_url']:
            raise AnsibleLookupError("client_secret lookup: set auth_keycloak_url (or KEYCLOAK_URL)")
        realm = self.get_option('realm')
        secrets = []
        try:
            manager = SecretManager(KeycloakAPI(params))
            manager.api.login()
            manager.prefetch([dict(realm=realm, client_id=client_id) for client_id in terms])
        except KeycloakOpsError as exc:
            raise AnsibleLookupError("client_secret lookup: %s" % exc) from None  # the message already holds the cause, on one line
        for client_id in terms:
            try:
                secrets.append(manager.current_secret(realm, manager.find_client(realm, client_id)))
            except KeycloakOpsError as exc:
                raise AnsibleLookupError("client_secret lookup: client '%s': %s" % (client_id, exc)) from None
        # Unsafe: a secret holding '{{' must never be templated.
        return [wrap_var(secret) for secret in secrets]
