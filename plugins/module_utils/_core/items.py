# -*- coding: utf-8 -*-
# Copyright: keycloak_ops contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Internal to keycloak_ops.clients: no stability promise. Modules and plugins of other collections
# must not import it; its names and signatures change whenever the collection needs them to.
"""One client or many: O(client_id) or a list O(clients) whose items are client ids or dicts of per-client
options, top-level options being defaults for every item (like module_defaults for one task).

Pure logic, shared by every module that addresses clients (through KeycloakModule's item_options). Other objects
addressed the same way (client scopes: O(name) or O(scopes)) give their own ItemShape.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from collections import namedtuple

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.keycloak_ops.clients.plugins.module_utils._core.errors import InvalidInput

# The options that address a client: the items of modules that act on existing clients (their secrets).
CLIENT_ADDRESS = dict(client_id=dict(type='str', aliases=['clientId']), realm=dict(type='str'))
# Long enough to recognise a client id, short enough to keep the error on one readable line.
LABEL_LENGTH = 60

# How a kind of item is addressed: the option naming one (key), the list of many (plural), what messages call one
# (noun) and what its key is called in them (key_noun).
ItemShape = namedtuple('ItemShape', 'key plural noun key_noun')
CLIENTS = ItemShape('client_id', 'clients', 'client', 'client id')


class InvalidItem(InvalidInput):
    """The one item or the list of items is wrong (missing, both given, a duplicate, a bad shape)."""


def items_argument_spec(item_options, shape=CLIENTS):
    """Top-level module options: the per-client options (also defaults for each item of O(clients)) and the list."""
    spec = {k: dict(v) for k, v in item_options.items()}
    spec['realm']['default'] = 'master'
    if 'state' in spec:
        spec['state']['default'] = 'present'
    spec[shape.plural] = dict(type='list', elements='raw')
    return spec


def client_items(params, client_options, shape=CLIENTS):
    """The list of per-client option dicts of a module call: the single client, or each item of O(clients).

    Top-level client options are defaults for every item, like module_defaults for one task.
    Raises InvalidItem naming the item index.
    """
    key, plural, noun = shape.key, shape.plural, shape.noun
    defaults = {k: params.get(k) for k in client_options if params.get(k) is not None}
    if params.get(plural) is None:
        if not params.get(key):
            raise InvalidItem("one of %s or %s is required" % (key, plural))
        return [{k: params.get(k) for k in client_options}]
    if params.get(key):
        raise InvalidItem("%s and %s are mutually exclusive: put every %s in %s" % (key, plural, noun, plural))
    if not params[plural]:
        raise InvalidItem("%s is empty: give at least one %s" % (plural, noun))
    items: list = []
    seen: dict = {}
    validator = ArgumentSpecValidator(client_options)
    for index, raw in enumerate(params[plural]):
        where = '%s[%d]' % (plural, index)
        if isinstance(raw, str):
            raw = {key: raw}
        if not isinstance(raw, dict):
            raise InvalidItem("%s: expected a %s or a dict of %s options, got %s"
                              % (where, shape.key_noun, noun, type(raw).__name__))
        result = validator.validate(dict(defaults, **raw))
        if result.error_messages:
            raise InvalidItem("%s: %s" % (where, result.error_messages[0]))
        item = result.validated_parameters
        if not item.get(key):
            raise InvalidItem("%s: %s is required" % (where, key))
        seen_key = (item.get('realm'), item[key])
        if seen_key in seen:
            raise InvalidItem("%s: %s '%s' is already declared by %s[%d]"
                              % (where, key, item[key], plural, seen[seen_key]))
        seen[seen_key] = index
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


def item_label(index, item, many, shape=CLIENTS):
    """How messages name a client: with its index in O(clients) when there is a list."""
    name = str(item.get(shape.key))
    if len(name) > LABEL_LENGTH:
        name = name[:LABEL_LENGTH - 3] + '...'
    if many:
        return "%s[%d] (%s '%s')" % (shape.plural, index, shape.noun, name)
    return "%s '%s'" % (shape.noun, name)
