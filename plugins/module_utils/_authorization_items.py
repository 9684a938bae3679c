# -*- coding: utf-8 -*-
# Copyright: keycloak_ops contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Internal to keycloak_ops.clients: no stability promise. Modules and plugins of other collections
# must not import it; its names and signatures change whenever the collection needs them to.
"""Authorization services of a confidential client (its resource server), as items: scopes, resources, policies
and scope permissions, each {kind: {name: fields}} whether declared (the option O(authorization)) or existing (the
resource server's export), so the two compare field by field; references between them are checked here.

Pure logic, unit tested; the reconciler that reads and writes them is in _authorization.py.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from ansible_collections.keycloak_ops.clients.plugins.module_utils._errors import InvalidInput

POLICY_TYPES = ('role', 'client')
DECISION_STRATEGIES = ('unanimous', 'affirmative', 'consensus')
LOGICS = ('positive', 'negative')

AUTHORIZATION_SPEC = dict(type='dict', options=dict(
    scopes=dict(type='list', elements='str'),
    resources=dict(type='list', elements='dict', options=dict(
        name=dict(type='str', required=True),
        display_name=dict(type='str'),
        type=dict(type='str'),
        uris=dict(type='list', elements='str'),
        scopes=dict(type='list', elements='str'),
    )),
    policies=dict(type='list', elements='dict', options=dict(
        name=dict(type='str', required=True),
        type=dict(type='str', required=True),
        description=dict(type='str'),
        roles=dict(type='list', elements='str'),
        clients=dict(type='list', elements='str'),
        logic=dict(type='str', choices=list(LOGICS)),
    )),
    permissions=dict(type='list', elements='dict', options=dict(
        name=dict(type='str', required=True),
        description=dict(type='str'),
        resources=dict(type='list', elements='str'),
        scopes=dict(type='list', elements='str', required=True),
        policies=dict(type='list', elements='str', required=True),
        decision_strategy=dict(type='str', choices=list(DECISION_STRATEGIES)),
    )),
))

KINDS = ('scopes', 'resources', 'policies', 'permissions')  # also the order of the writes
SET_FIELDS = ('uris', 'scopes', 'roles', 'clients', 'resources', 'policies')


class InvalidAuthorization(InvalidInput):
    """The declared authorization is wrong; the message names the item and the fix."""


# -- declared (pure) -------------------------------------------------------------------------------


def declared(authorization):
    """{kind: {name: fields}} of the declared items, fields in Keycloak's terms, unset fields left out.

    Raises InvalidAuthorization on what needs no server to see (duplicates, policy types, missing members).
    """
    if not authorization:
        return None
    items: dict = {kind: {} for kind in KINDS}
    for name in authorization.get('scopes') or []:
        _add(items, 'scopes', name, {})
    for resource in authorization.get('resources') or []:
        fields = _fields(resource, displayName='display_name', type='type', uris='uris', scopes='scopes')
        _add(items, 'resources', resource['name'], fields)
    for policy in authorization.get('policies') or []:
        _add(items, 'policies', policy['name'], _policy(policy))
    for permission in authorization.get('permissions') or []:
        fields = _fields(permission, description='description', resources='resources', scopes='scopes',
                         policies='policies', decisionStrategy='decision_strategy')
        if not fields['scopes']:
            raise InvalidAuthorization("permission '%s': scopes is empty; name the scopes it grants"
                                       % permission['name'])
        _add(items, 'permissions', permission['name'], dict(fields, type='scope'))
    return items


def _add(items, kind, name, fields):
    if not name or not name.strip():
        raise InvalidAuthorization("authorization.%s: a name is blank" % kind)
    if name in items[kind]:
        raise InvalidAuthorization("authorization.%s: '%s' is declared twice" % (kind, name))
    items[kind][name] = fields


def _fields(given, **option_of_field):
    fields = {}
    for field, option in option_of_field.items():
        value = given.get(option)
        if value is None:
            continue
        if field in SET_FIELDS:
            value = sorted(set(value))
        elif field in ('decisionStrategy', 'logic'):
            value = value.upper()
        fields[field] = value
    return fields


def _policy(policy):
    kind = policy['type']
    if kind not in POLICY_TYPES:
        raise InvalidAuthorization("policy '%s': unknown policy type '%s'; use one of: %s"
                                   % (policy['name'], kind, ', '.join(POLICY_TYPES)))
    members, other = ('roles', 'clients') if kind == 'role' else ('clients', 'roles')
    if not policy.get(members):
        raise InvalidAuthorization("policy '%s' of type %s needs %s" % (policy['name'], kind, members))
    if policy.get(other):
        raise InvalidAuthorization("policy '%s' of type %s takes %s, not %s" % (policy['name'], kind, members, other))
    return dict(_fields(policy, description='description', logic='logic', **{members: members}), type=kind)


def with_authorization(options):
    """Options with what declaring authorization implies: authorization services (and so service accounts) on."""
    if not options.get('authorization') or options.get('state') == 'absent':
        return options
    if options.get('authorization_services') is False:
        raise InvalidAuthorization("authorization needs authorization_services (it declares the client's resource "
                                   "server); drop authorization_services: false")
    options = dict(options, authorization_services=True)
    if options.get('service_accounts') is None:
        options['service_accounts'] = True
    declared(options['authorization'])  # fail before any request
    return options


# -- current state (from the export) ---------------------------------------------------------------


def existing(export):
    """{kind: {name: fields}} of everything the resource server has, in the shape of declared()."""
    items: dict = {kind: {} for kind in KINDS}
    export = export or {}
    for scope in export.get('scopes') or []:
        items['scopes'][scope['name']] = {}
    for resource in export.get('resources') or []:
        items['resources'][resource['name']] = dict(
            displayName=resource.get('displayName'), type=resource.get('type'),
            uris=sorted(set(resource.get('uris') or [])),
            scopes=sorted({s['name'] for s in resource.get('scopes') or []}))
    for policy in export.get('policies') or []:
        config = policy.get('config') or {}
        fields = dict(type=policy.get('type'), description=policy.get('description'), logic=policy.get('logic'),
                      decisionStrategy=policy.get('decisionStrategy'))
        if policy.get('type') == 'role':
            fields['roles'] = sorted({r['id'] for r in _json_list(config.get('roles'))})
        elif policy.get('type') == 'client':
            fields['clients'] = sorted(set(_json_list(config.get('clients'))))
        elif policy.get('type') in ('scope', 'resource'):
            fields.update(resources=sorted(set(_json_list(config.get('resources')))),
                          scopes=sorted(set(_json_list(config.get('scopes')))),
                          policies=sorted(set(_json_list(config.get('applyPolicies')))))
        kind = 'permissions' if policy.get('type') in ('scope', 'resource') else 'policies'
        items[kind][policy['name']] = fields
    return items


def _json_list(text):
    try:
        value = json.loads(text or '[]')
    except ValueError:
        return []
    return value if isinstance(value, list) else []


def differing(want, have):
    """Declared fields whose value Keycloak does not have."""
    return sorted(field for field, value in want.items() if (have or {}).get(field) != value)


def check_references(items, current):
    """Each name a resource, permission or policy refers to must be declared or exist; raise otherwise."""
    def known(kind):
        return set(items[kind]) | set(current[kind])

    for name, resource in items['resources'].items():
        for scope in resource.get('scopes') or []:
            if scope not in known('scopes'):
                raise InvalidAuthorization("resource '%s': unknown scope '%s'; declare it in authorization.scopes"
                                           % (name, scope))
    for name, permission in items['permissions'].items():
        for resource in permission.get('resources') or []:
            if resource not in known('resources'):
                raise InvalidAuthorization("permission '%s': unknown resource '%s'; declare it in "
                                           "authorization.resources"
                                           % (name, resource))
        for policy in permission['policies']:
            if policy not in known('policies'):
                raise InvalidAuthorization("permission '%s': unknown policy '%s'; declare it in authorization.policies"
                                           % (name, policy))
        resources = permission.get('resources')
        offered = _scopes_of(resources, items, current) if resources else known('scopes')
        for scope in permission['scopes']:
            if scope not in offered:
                raise InvalidAuthorization("permission '%s': unknown scope '%s'; %s has the scopes: %s"
                                           % (name, scope, ', '.join(permission.get('resources') or ['the server']),
                                              ', '.join(sorted(offered)) or 'none'))


def _scopes_of(resources, items, current):
    scopes: set = set()
    for resource in resources:
        fields = items['resources'].get(resource)
        if fields is None or fields.get('scopes') is None:
            fields = current['resources'].get(resource) or {}
        scopes.update(fields.get('scopes') or [])
    return scopes
