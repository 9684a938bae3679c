# -*- coding: utf-8 -*-
# Copyright: keycloak_ops contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Internal to keycloak_ops.clients: no stability promise. Modules and plugins of other collections
# must not import it; its names and signatures change whenever the collection needs them to.
"""Client scopes as declared: their options, the protocol mappers by friendly type, the desired
ClientScopeRepresentation, what differs from what Keycloak has, and the view diffs show.

Pure logic (no HTTP), unit tested. The run is in _clients/scope_run.py.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.keycloak_ops.clients.plugins.module_utils._core.items import ItemShape
from ansible_collections.keycloak_ops.clients.plugins.module_utils._core.errors import InvalidInput
from ansible_collections.keycloak_ops.clients.plugins.module_utils._core.masking import mask

SCOPES = ItemShape('name', 'scopes', 'scope', 'scope name')

SCOPE_OPTIONS = dict(
    name=dict(type='str'),
    realm=dict(type='str'),
    state=dict(type='str', choices=['present', 'absent']),
    description=dict(type='str'),
    protocol=dict(type='str', choices=['openid-connect', 'saml']),
    include_in_token_scope=dict(type='bool'),
    display_on_consent_screen=dict(type='bool'),
    consent_screen_text=dict(type='str'),
    protocol_mappers=dict(type='list', elements='dict'),
    attributes=dict(type='dict'),
    realm_default=dict(type='str', choices=['default', 'optional', 'none']),
)

# Keycloak accepts a scope name made of the characters of an OAuth scope token (RFC 6749 3.3: printable ASCII
# but space, '"' and '\'); measured on 26.x: 'é', '"', '\' and ' ' are refused (400), and 256 characters fail with
# a 500 (the column holds 255).
SCOPE_NAME = re.compile(r'^[\x21\x23-\x5b\x5d-\x7e]+$')
MAX_NAME = 255
# Longer descriptions, attribute names and attribute values fail with a 500 (measured on 26.x, dev H2).
MAX_DESCRIPTION = 255
MAX_ATTRIBUTE_VALUE = 2048

# option -> attribute of the scope, and the value Keycloak assumes when the attribute is missing.
ATTRIBUTE_OF_OPTION = dict(
    include_in_token_scope=('include.in.token.scope', 'true'),
    display_on_consent_screen=('display.on.consent.screen', 'true'),
    consent_screen_text=('consent.screen.text', ''),
)
# What the admin console gives a new scope; sent with a create, never compared.
CREATE_ATTRIBUTES = {'include.in.token.scope': 'true', 'display.on.consent.screen': 'true'}

# Friendly mapper types (OpenID Connect): Keycloak's protocolMapper id, the friendly keys of their config, the keys
# one of which is required, and the config the console gives a new mapper of the type (sent with a create only).
TOKEN_KEYS = dict(access_token='access.token.claim', id_token='id.token.claim', userinfo='userinfo.token.claim',
                  introspection='introspection.token.claim')
CLAIM_KEYS = dict(TOKEN_KEYS, claim_name='claim.name', claim_type='jsonType.label')
CLAIM_DEFAULTS = {'access.token.claim': 'true', 'id.token.claim': 'true', 'userinfo.token.claim': 'true',
                  'introspection.token.claim': 'true', 'jsonType.label': 'String'}
MAPPER_TYPES: dict = {
    'audience': dict(
        id='oidc-audience-mapper',
        keys=dict(TOKEN_KEYS, client_audience='included.client.audience', custom_audience='included.custom.audience'),
        needs=('client_audience', 'custom_audience'),
        defaults={'access.token.claim': 'true', 'introspection.token.claim': 'true', 'id.token.claim': 'false'}),
    'hardcoded_claim': dict(
        id='oidc-hardcoded-claim-mapper',
        keys=dict(CLAIM_KEYS, claim_value='claim.value'),
        needs=('claim_name',),
        defaults=CLAIM_DEFAULTS),
    'user_attribute': dict(
        id='oidc-usermodel-attribute-mapper',
        keys=dict(CLAIM_KEYS, user_attribute='user.attribute', multivalued='multivalued'),
        needs=('user_attribute',),
        defaults=CLAIM_DEFAULTS),
    'realm_roles': dict(
        id='oidc-usermodel-realm-role-mapper',
        keys=dict(CLAIM_KEYS, multivalued='multivalued', role_prefix='usermodel.realmRoleMapping.rolePrefix'),
        needs=(),
        defaults={'access.token.claim': 'true', 'introspection.token.claim': 'true', 'multivalued': 'true',
                  'claim.name': 'realm_access.roles', 'jsonType.label': 'String'}),
}
MAPPER_KEYS = ('name', 'type', 'protocol_mapper', 'protocolMapper', 'config', 'state')


class InvalidScope(InvalidInput):
    """One scope's input is wrong; the message names the option and the fix."""


def _text(value):
    if isinstance(value, bool):
        return 'true' if value else 'false'
    return str(value)


# -- validation and the desired state ------------------------------------------------------------------------


def validate_name(name):
    if len(name) > MAX_NAME:
        raise InvalidScope("name: '%s...' is %d characters long; Keycloak stores at most %d"
                           % (name[:20], len(name), MAX_NAME))
    if not SCOPE_NAME.match(name):
        raise InvalidScope("name: '%s' is not a valid scope name: use printable ASCII without spaces, '\"' or '\\' "
                           "(an OAuth scope token), for example candidates:read" % name)


def _add_friendly_config(where, kind, mapper, config):
    """The friendly options of a mapper of a friendly type, as Keycloak's config keys, into config."""
    known = MAPPER_TYPES[kind]
    friendly = {k: v for k, v in mapper.items() if k not in MAPPER_KEYS}
    unknown = sorted(set(friendly) - set(known['keys']))
    if unknown:
        raise InvalidScope("%s: type '%s' has no option '%s' (it takes %s, or Keycloak's keys in config)"
                           % (where, kind, unknown[0], ', '.join(sorted(known['keys']))))
    for key, value in sorted(friendly.items()):
        if value is None:
            continue
        field = known['keys'][key]
        if field in config and config[field] != _text(value):
            raise InvalidScope("%s: %s conflicts with config['%s']; give it once" % (where, key, field))
        config[field] = _text(value)


def desired_mapper(index, mapper, protocol):
    """One declared mapper as {name, protocolMapper, protocol, config (declared keys), create_config, state}."""
    where = 'protocol_mappers[%d]' % index
    if not isinstance(mapper, dict):
        raise InvalidScope("%s: expected a dict with name and type (or protocol_mapper)" % where)
    name = mapper.get('name')
    if not isinstance(name, str) or not name.strip():
        raise InvalidScope("%s needs a name" % where)
    if len(name) > MAX_NAME:
        raise InvalidScope("%s.name: Keycloak stores at most %d characters" % (where, MAX_NAME))
    where = "%s (mapper '%s')" % (where, name)
    kind = mapper.get('type')
    raw_id = mapper.get('protocol_mapper') or mapper.get('protocolMapper')
    if bool(kind) == bool(raw_id):
        raise InvalidScope("%s: give exactly one of type (%s) and protocol_mapper (a Keycloak mapper id)"
                           % (where, ', '.join(sorted(MAPPER_TYPES))))
    config = mapper.get('config') or {}
    if not isinstance(config, dict):
        raise InvalidScope("%s: config must be a dict of Keycloak's config keys" % where)
    state = mapper.get('state') or 'present'
    if state not in ('present', 'absent'):
        raise InvalidScope("%s: state must be present or absent, not '%s'" % (where, state))
    config = {str(k): _text(v) for k, v in config.items() if v is not None}
    known = MAPPER_TYPES.get(kind) if kind else None
    if kind and known is None:
        raise InvalidScope("%s: unknown type '%s'; use one of %s, or protocol_mapper for another Keycloak mapper"
                           % (where, kind, ', '.join(sorted(MAPPER_TYPES))))
    if known is not None:
        if protocol != 'openid-connect':
            raise InvalidScope("%s: type '%s' is an OpenID Connect mapper; a %s scope takes protocol_mapper "
                               "(for example saml-user-attribute-mapper)" % (where, kind, protocol))
        _add_friendly_config(where, kind, mapper, config)
        if known['needs'] and not any(config.get(known['keys'][k]) for k in known['needs']) and state == 'present':
            raise InvalidScope("%s: type '%s' needs %s" % (where, kind, ' or '.join(known['needs'])))
    else:
        extra = sorted(k for k in mapper if k not in MAPPER_KEYS)
        if extra:
            raise InvalidScope("%s: option '%s' belongs to a friendly type; with protocol_mapper give Keycloak's "
                               "keys in config" % (where, extra[0]))
    mapper_id = known['id'] if known else raw_id
    create_config = dict(known['defaults'] if known else {}, **config)
    return dict(name=name, protocolMapper=mapper_id, protocol=protocol, config=config, create_config=create_config,
                state=state, raw=known is None)


def desired_scope(options, current_protocol=None):
    """What the scope must look like: representation fields, attributes, mappers and its realm default kind."""
    validate_name(options['name'])
    protocol = options.get('protocol') or current_protocol or 'openid-connect'
    rep = dict(name=options['name'])
    if options.get('description') is not None:
        if len(options['description']) > MAX_DESCRIPTION:
            raise InvalidScope("description: %d characters; Keycloak stores at most %d"
                               % (len(options['description']), MAX_DESCRIPTION))
        rep['description'] = options['description']
    if options.get('protocol') is not None:
        rep['protocol'] = options['protocol']
    attributes = {str(k): _text(v) for k, v in (options.get('attributes') or {}).items()}
    for option, (attribute, _missing) in ATTRIBUTE_OF_OPTION.items():
        if options.get(option) is None:
            continue
        value = _text(options[option])
        if attribute in attributes and attributes[attribute] != value:
            raise InvalidScope("attributes['%s'] conflicts with option %s; give it once" % (attribute, option))
        attributes[attribute] = value
    for key, value in sorted(attributes.items()):
        if len(key) > MAX_NAME:
            raise InvalidScope("attributes: the name '%s...' is %d characters long; Keycloak stores at most %d"
                               % (key[:20], len(key), MAX_NAME))
        if len(value) > MAX_ATTRIBUTE_VALUE:
            raise InvalidScope("attributes['%s'] (or its option): %d characters; Keycloak stores at most %d"
                               % (key, len(value), MAX_ATTRIBUTE_VALUE))
    if attributes:
        rep['attributes'] = attributes
    mappers = [desired_mapper(i, m, protocol) for i, m in enumerate(options.get('protocol_mappers') or [])]
    names = set()
    for index, mapper in enumerate(mappers):
        if mapper['name'] in names:
            raise InvalidScope("protocol_mappers[%d]: the name '%s' is used twice" % (index, mapper['name']))
        names.add(mapper['name'])
    return dict(rep=rep, mappers=mappers, realm_default=options.get('realm_default'))


# -- comparison ----------------------------------------------------------------------------------------------


def _missing_value(attribute):
    return next((missing for name, missing in ATTRIBUTE_OF_OPTION.values() if name == attribute), '')


def scope_changes(desired_rep, current):
    """The fields of desired_rep that differ from the current scope, as {field: desired value}; attributes by key."""
    changes = {}
    for field, want in desired_rep.items():
        if field == 'attributes':
            have = current.get('attributes') or {}
            differing = {k: v for k, v in want.items() if have.get(k, _missing_value(k)) != v}
            if differing:
                changes['attributes'] = differing
        elif field == 'description':
            if (current.get('description') or '') != want:
                changes[field] = want
        elif current.get(field) != want:
            changes[field] = want
    return changes


def mapper_ops(desired_mappers, current_mappers):
    """[(op, mapper, existing)] with op add/update/delete that make the declared mappers so; others are left."""
    by_name = {m.get('name'): m for m in current_mappers or []}
    ops = []
    for mapper in desired_mappers:
        existing = by_name.get(mapper['name'])
        if mapper['state'] == 'absent':
            if existing is not None:
                ops.append(('delete', existing, existing))
            continue
        body = dict(name=mapper['name'], protocol=mapper['protocol'], protocolMapper=mapper['protocolMapper'])
        if existing is None:
            ops.append(('add', dict(body, config=mapper['create_config']), None))
            continue
        have = existing.get('config') or {}
        if existing.get('protocolMapper') != mapper['protocolMapper']:
            # Another type: the old type's config means nothing to the new one.
            ops.append(('update', dict(existing, config=mapper['create_config'], **body), existing))
        elif any(have.get(k) != v for k, v in mapper['config'].items()):
            ops.append(('update', dict(existing, config=dict(have, **mapper['config'])), existing))
    return ops


def realm_default_of(scope_id, defaults):
    """'default', 'optional' or 'none': the realm's kind of a scope, from the ids of its two lists."""
    if scope_id in defaults['default']:
        return 'default'
    if scope_id in defaults['optional']:
        return 'optional'
    return 'none'


# -- what a task shows ---------------------------------------------------------------------------------------


def scope_view(rep, desired, realm_default=None):
    """The declared part of a scope as Keycloak has it (rep) or will have it: what diffs and results show."""
    if desired is None:
        return mask(dict(name=rep.get('name'), protocol=rep.get('protocol')))
    view: dict = {}
    for field in desired['rep']:
        if field == 'attributes':
            have = rep.get('attributes') or {}
            view['attributes'] = {k: have.get(k, _missing_value(k)) for k in desired['rep']['attributes']}
        elif field == 'description':
            view[field] = rep.get('description') or ''
        else:
            view[field] = rep.get(field)
    if desired['mappers']:
        have = {m.get('name'): m for m in rep.get('protocolMappers') or []}
        shown = {}
        for mapper in desired['mappers']:
            existing = have.get(mapper['name'])
            if existing is None:
                continue
            config = existing.get('config') or {}
            shown[mapper['name']] = dict(protocolMapper=existing.get('protocolMapper'),
                                         config={k: config.get(k) for k in sorted(mapper['config'])})
        view['protocolMappers'] = shown
    if desired['realm_default'] is not None:
        view['realmDefault'] = realm_default
    return mask(view)


def planned_rep(current, changes, ops):
    """The scope after the planned changes and mapper operations (for check mode and the result)."""
    rep: dict = dict(current or {})
    for field, value in changes.items():
        if field == 'attributes':
            rep['attributes'] = dict(rep.get('attributes') or {}, **value)
        else:
            rep[field] = value
    mappers = {m.get('name'): m for m in rep.get('protocolMappers') or []}
    for op, mapper, _existing in ops:
        if op == 'delete':
            mappers.pop(mapper['name'], None)
        else:
            mappers[mapper['name']] = mapper
    rep['protocolMappers'] = list(mappers.values())
    return rep
