# -*- coding: utf-8 -*-
# Copyright: keycloak_ops contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: client_credentials
short_description: Credentials of provisioned clients, keyed by client id
version_added: 1.0.0
description:
  - Turns the per-client results of the client modules (their C(clients) list) into a dict of client id
    to C(client_id), C(client_secret) (confidential clients returned with return_secret), C(realm), C(id),
    C(token_url) and C(issuer_url), which the deliver role hands to consumers.
  - A client that would be created (check mode) has no secret yet and is marked C(pending=true), so the
    deliver role predicts its destinations instead of failing; so is a result with C(secret_readable=false) (a
    client that would be made confidential or given a new secret).
  - Results of M(keycloak_ops.clients.client_secret_info) (C(client_id), C(realm), C(id), C(secret)) are taken too,
    as the provision role does (its client task returns no secret, a read of its own does).
author:
  - keycloak_ops maintainers (@keycloak-ops)
positional: public_url
options:
  pending:
    description:
      - Client ids whose secret in the results is about to be replaced (a rotation in check mode); their
        C(client_secret) is left out and they are marked C(pending=true).
    type: list
    elements: str
    default: []
    version_added: 2.0.0
  _input:
    description: The C(clients) results of one or more client module runs (lists are concatenated by the caller).
    type: list
    elements: dict
    required: true
  public_url:
    description:
      - Keycloak's base URL as consumers reach it (it may differ from the admin URL), for the token and issuer URLs.
    type: str
    required: true
"""

EXAMPLES = r"""
- name: Backend services, their secrets returned for delivery
  keycloak_ops.clients.confidential_client:
    realm: apps
    preset: service
    clients: [billing-worker, report-job]
    return_secret: true
  register: provisioned
  no_log: true

- name: Credentials for delivery, keyed by client id (never print them)
  ansible.builtin.set_fact:
    credentials: "{{ provisioned.clients | keycloak_ops.clients.client_credentials('https://sso.example.com') }}"
  no_log: true

- name: One client's credentials as the env file its consumer reads
  keycloak_ops.clients.secret_file:
    path: /etc/billing/oidc.env
    content: "{{ credentials['billing-worker'] | keycloak_ops.clients.credentials_file('env') }}"
    secrets: ["{{ credentials['billing-worker'].client_secret }}"]
"""

RETURN = r"""
_value:
  description:
    - Client id to credentials. Hand one client's entry (C(credentials['billing-worker'])) to
      P(keycloak_ops.clients.credentials_file#filter), or the whole dict to the deliver role.
  type: dict
"""

from ansible.errors import AnsibleFilterError


def client_credentials(results, public_url, pending=None):
    if not public_url:
        raise AnsibleFilterError("client_credentials: public_url is empty; give Keycloak's URL as consumers reach it")
    base = public_url.rstrip('/')
    credentials = {}
    for result in results or []:
        if result.get('state', 'present') != 'present':
            continue
        issuer = '%s/realms/%s' % (base, result['realm'])
        entry = dict(client_id=result['client_id'], realm=result['realm'], id=result.get('id'),
                     issuer_url=issuer, token_url=issuer + '/protocol/openid-connect/token')
        if result['client_id'] in (pending or []):
            entry['pending'] = True
        elif result.get('secret'):
            entry['client_secret'] = result['secret']
        elif result.get('secret_readable') is False or (result.get('id') is None and result.get('changed')):
            # Check mode: the client would be created (or get its secret), its secret does not exist yet.
            entry['pending'] = True
        credentials[result['client_id']] = entry
    return credentials


class FilterModule(object):
    def filters(self):
        return {'client_credentials': client_credentials}
