# -*- coding: utf-8 -*-
# Copyright: keycloak_ops contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: clients_of_kind
short_description: The clients of one kind from an inventory list, ready for the client modules
version_added: 1.0.0
description:
  - Selects the items of a list of client declarations whose C(kind) is the given one (items without
    C(kind) are V(confidential)) and removes the C(kind) key, so each item is a client module item.
author:
  - keycloak_ops maintainers (@keycloak-ops)
positional: kind
options:
  _input:
    description: Client declarations, dicts of client module options plus C(kind).
    type: list
    elements: dict
    required: true
  kind:
    description: Kind to select.
    type: str
    choices: [confidential, public]
    required: true
"""

EXAMPLES = r"""
- name: Confidential clients of the inventory
  keycloak_ops.clients.confidential_client:
    realm: apps
    clients: "{{ provision_clients | keycloak_ops.clients.clients_of_kind('confidential') }}"

- name: Public clients of the inventory
  keycloak_ops.clients.public_client:
    realm: apps
    clients: "{{ provision_clients | keycloak_ops.clients.clients_of_kind('public') }}"
"""

RETURN = r"""
_value:
  description: The selected declarations without their C(kind) key.
  type: list
  elements: dict
"""

from ansible.errors import AnsibleFilterError

KINDS = ('confidential', 'public')


def clients_of_kind(declarations, kind):
    selected = []
    for index, item in enumerate(declarations or []):
        if not isinstance(item, dict):
            raise AnsibleFilterError("clients[%d]: expected a dict of client options, got %s" % (index, type(item).__name__))
        item_kind = item.get('kind', 'confidential')
        if item_kind not in KINDS:
            raise AnsibleFilterError("clients[%d] (client '%s'): kind '%s' is not one of %s"
                                     % (index, item.get('client_id'), item_kind, ', '.join(KINDS)))
        if item_kind == kind:
            selected.append({k: v for k, v in item.items() if k != 'kind'})
    return selected


class FilterModule(object):
    def filters(self):
        return {'clients_of_kind': clients_of_kind}
