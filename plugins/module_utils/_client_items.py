# -*- coding: utf-8 -*-
# Copyright: keycloak_ops contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Internal to keycloak_ops.clients: no stability promise. Modules and plugins of other collections
# must not import it; its names and signatures change whenever the collection needs them to.
"""One client or many: O(client_id) or a list O(clients) whose items are client ids or dicts of per-client
options, top-level options being defaults for every item (like module_defaults for one task).

Pure logic, shared by every module that addresses clients (through KeycloakModule's item_options).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.keycloak_ops.clients.plugins.module_utils._client_options import InvalidClient

# The options that address a client: the items of modules that act on existing clients (their secrets).
CLIENT_ADDRESS = dict(client_id=dict(type='str', aliases=['clientId']), realm=dict(type='str'))
# Long enough to recognise a client id, short enough to keep the error on one readable line.
LABEL_LENGTH = 60


def items_argument_spec(item_options):
    """Top-level module options: the per-client options (also defaults for each item of O(clients)) and the list."""
    spec = {k: dict(v) for k, v in item_options.items()}
    spec['realm']['default'] = 'master'
    if 'state' in spec:
        spec['state']['default'] = 'present'
    spec['clients'] = dict(type='list', elements='raw')
    return spec


def client_items(params, client_options):
    """The list of per-client option dicts of a module call: the single client, or each item of O(clients).

    Top-level client options are defaults for every item, like module_defaults for one task.
    Raises InvalidClient naming the item index.
    """
    defaults = {k: params.get(k) for k in client_options if params.get(k) is not None}
    if params.get('clients') is None:
        if not params.get('client_id'):
            raise InvalidClient("one of client_id or clients is required")
        return [{k: params.get(k) for k in client_options}]
    if params.get('client_id'):
        raise InvalidClient("client_id and clients are mutually exclusive: put every client in clients")
    if not params['clients']:
        raise InvalidClient("clients is empty: give at least one client")
    items: list = []
    seen: dict = {}
    validator = ArgumentSpecValidator(client_options)
    for index, raw in enumerate(params['clients']):
        where = 'clients[%d]' % index
        if isinstance(raw, str):
            raw = {'client_id': raw}
        if not isinstance(raw, dict):
            raise InvalidClient("%s: expected a client id or a dict of client options, got %s"
                                % (where, type(raw).__name__))
        result = validator.validate(dict(defaults, **raw))
        if result.error_messages:
            raise InvalidClient("%s: %s" % (where, result.error_messages[0]))
        item = result.validated_parameters
        if not item.get('client_id'):
            raise InvalidClient("%s: client_id is required" % where)
        key = (item.get('realm'), item['client_id'])
        if key in seen:
            raise InvalidClient("%s: client_id '%s' is already declared by clients[%d]"
                                % (where, item['client_id'], seen[key]))
        seen[key] = index
        items.append(item)
    return items


def given_secrets(raw_items, client_options):
    """Values of no_log options (by name or alias) inside raw O(clients) items, which Ansible cannot mark no_log."""
    names = set()
    for name, spec in client_options.items():
        if spec.get('no_log'):
            names.update([name] + list(spec.get('aliases') or []))
    return {str(value) for item in raw_items or [] if isinstance(item, dict)
            for key, value in item.items() if key in names and value}


def item_label(index, item, many):
    """How messages name a client: with its index in O(clients) when there is a list."""
    client_id = str(item.get('client_id'))
    if len(client_id) > LABEL_LENGTH:
        client_id = client_id[:LABEL_LENGTH - 3] + '...'
    return "clients[%d] (client '%s')" % (index, client_id) if many else "client '%s'" % client_id
