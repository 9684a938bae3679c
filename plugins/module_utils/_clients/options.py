# -*- coding: utf-8 -*-
# Copyright: keycloak_ops contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Internal to keycloak_ops.clients: no stability promise. Modules and plugins of other collections
# must not import it; its names and signatures change whenever the collection needs them to.
"""Per-client options and what they mean: their specs, presets filled in, the desired ClientRepresentation, and
which of its fields differ from what Keycloak has. Validation is in _clients/validation.py.

Pure logic (no HTTP), unit tested.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.keycloak_ops.clients.plugins.module_utils._clients.authorization_items import AUTHORIZATION_SPEC
from ansible_collections.keycloak_ops.clients.plugins.module_utils._core.errors import InvalidInput
from ansible_collections.keycloak_ops.clients.plugins.module_utils._clients.presets import (
    CONFIDENTIAL_PRESETS, PUBLIC_PRESETS, apply_preset,
)

# openid is the OIDC scope every authorization request carries; Keycloak has no client scope of
# that name, so asking for it needs nothing attached.
IMPLICIT_SCOPES = frozenset(('openid',))

COMMON_OPTIONS = dict(
    client_id=dict(type='str', aliases=['clientId']),
    realm=dict(type='str'),
    state=dict(type='str', choices=['present', 'absent']),
    name=dict(type='str'),
    description=dict(type='str'),
    enabled=dict(type='bool'),
    root_url=dict(type='str'),
    home_url=dict(type='str', aliases=['base_url']),
    redirect_uris=dict(type='list', elements='str'),
    web_origins=dict(type='list', elements='str'),
    post_logout_redirect_uris=dict(type='list', elements='str'),
    standard_flow=dict(type='bool'),
    direct_access_grants=dict(type='bool'),
    consent_required=dict(type='bool'),
    default_client_scopes=dict(type='list', elements='str'),
    optional_client_scopes=dict(type='list', elements='str'),
    client_scopes_exclusive=dict(type='bool', default=False),
    protocol_mappers=dict(type='list', elements='dict'),
    attributes=dict(type='dict'),
)

CONFIDENTIAL_OPTIONS = dict(
    COMMON_OPTIONS,
    preset=dict(type='str', choices=sorted(CONFIDENTIAL_PRESETS)),
    secret=dict(type='str', no_log=True),
    service_accounts=dict(type='bool'),
    authorization_services=dict(type='bool'),
    service_account_realm_roles=dict(type='list', elements='str'),
    service_account_client_roles=dict(type='dict'),
    # Resource server: scopes, resources, policies, permissions (module_utils/_clients/authorization.py).
    authorization=AUTHORIZATION_SPEC,
)

PUBLIC_OPTIONS = dict(
    COMMON_OPTIONS,
    preset=dict(type='str', choices=sorted(PUBLIC_PRESETS)),
    pkce_method=dict(type='str', choices=['S256', 'none']),
    device_authorization=dict(type='bool'),
    allow_insecure_redirect_uris=dict(type='bool'),
)

# A task-level option of both client modules: client scopes an earlier task of the same check-mode run would create
# (client_scope's results), which count as existing in check mode only (_clients/reads.py, ClientReads.plan_scopes).
PLANNED_SCOPES = dict(planned_client_scopes=dict(type='list', elements='raw'))
PLANNED_CLIENTS = dict(planned_clients=dict(type='list', elements='raw'))

# option name -> ClientRepresentation field, for plain fields.
FIELD_OF_OPTION = dict(
    name='name',
    description='description',
    enabled='enabled',
    root_url='rootUrl',
    home_url='baseUrl',
    redirect_uris='redirectUris',
    web_origins='webOrigins',
    standard_flow='standardFlowEnabled',
    direct_access_grants='directAccessGrantsEnabled',
    consent_required='consentRequired',
    service_accounts='serviceAccountsEnabled',
    authorization_services='authorizationServicesEnabled',
    secret='secret',
)

# option name -> client attribute, for settings Keycloak keeps as string attributes.
ATTRIBUTE_OF_OPTION = dict(
    post_logout_redirect_uris='post.logout.redirect.uris',
    pkce_method='pkce.code.challenge.method',
    device_authorization='oauth2.device.authorization.grant.enabled',
)


class InvalidClient(InvalidInput):
    """One client's input is wrong; the message names the option and the fix."""


def merged_options(options, kind):
    presets = CONFIDENTIAL_PRESETS if kind == 'confidential' else PUBLIC_PRESETS
    merged = apply_preset(options, presets)
    if kind == 'confidential' and merged.get('authorization_services') and merged.get('service_accounts') is None:
        merged['service_accounts'] = True
    if kind == 'public' and merged.get('pkce_method') is None and merged.get('state') != 'absent':
        merged['pkce_method'] = 'S256'
    return merged


# -- desired representation ------------------------------------------------------------------


def _attribute_value(value):
    if isinstance(value, bool):
        return 'true' if value else 'false'
    if isinstance(value, list):
        return '##'.join(value)
    return str(value)


def desired_state(options, kind):
    """What this client must look like: representation fields, scopes, mappers and service-account roles."""
    rep = dict(clientId=options['client_id'])
    for option, field in FIELD_OF_OPTION.items():
        if options.get(option) is not None:
            rep[field] = options[option]
    attributes = {k: _attribute_value(v) for k, v in (options.get('attributes') or {}).items()}
    for option, attribute in ATTRIBUTE_OF_OPTION.items():
        value = options.get(option)
        if option == 'pkce_method' and value == 'none':
            value = ''
        if value is not None:
            attributes[attribute] = _attribute_value(value)
    if attributes:
        rep['attributes'] = attributes
    if kind == 'confidential':
        rep['publicClient'] = False
    else:
        rep.update(publicClient=True, implicitFlowEnabled=False, serviceAccountsEnabled=False)
    return dict(
        rep=rep,
        default_scopes=[s for s in options.get('default_client_scopes') or [] if s not in IMPLICIT_SCOPES]
        if options.get('default_client_scopes') is not None else None,
        optional_scopes=options.get('optional_client_scopes'),
        scopes_exclusive=bool(options.get('client_scopes_exclusive')),
        mappers=[_mapper(m) for m in options.get('protocol_mappers') or []],
        realm_roles=options.get('service_account_realm_roles') or [],
        client_roles=options.get('service_account_client_roles') or {},
    )


def _mapper(mapper):
    config = {k: _attribute_value(v) for k, v in (mapper.get('config') or {}).items()}
    return dict(name=mapper['name'], protocol=mapper.get('protocol', 'openid-connect'),
                protocolMapper=mapper.get('protocolMapper') or mapper.get('protocol_mapper'), config=config)


# -- comparison ------------------------------------------------------------------------------


def _same(field, want, have):
    if field in ('redirectUris', 'webOrigins'):
        return sorted(set(want)) == sorted(set(have or []))
    if isinstance(want, bool):
        return bool(have) == want
    return want == have


def _same_attribute(name, want, have):
    if name == 'post.logout.redirect.uris':
        return sorted(set(filter(None, want.split('##')))) == sorted(set(filter(None, (have or '').split('##'))))
    return want == (have if have is not None else '')


def representation_changes(desired_rep, current_rep):
    """The fields of desired_rep that differ from current_rep, as {field: desired value}; attributes by key."""
    changes = {}
    for field, want in desired_rep.items():
        if field == 'attributes':
            have_attributes = current_rep.get('attributes') or {}
            differing = {k: v for k, v in want.items() if not _same_attribute(k, v, have_attributes.get(k))}
            if differing:
                changes['attributes'] = differing
        elif not _same(field, want, current_rep.get(field)):
            changes[field] = want
    return changes


def mapper_ops(desired_mappers, current_mappers):
    """[(op, mapper)] with op add/update that make the current mappers hold the desired ones (others are left)."""
    by_name = {m.get('name'): m for m in current_mappers}
    ops = []
    for mapper in desired_mappers:
        existing = by_name.get(mapper['name'])
        if existing is None:
            ops.append(('add', mapper))
            continue
        have_config = existing.get('config') or {}
        if existing.get('protocolMapper') != mapper['protocolMapper'] or any(
                have_config.get(k) != v for k, v in mapper['config'].items()):
            updated = dict(existing, protocolMapper=mapper['protocolMapper'],
                           config=dict(have_config, **mapper['config']))
            ops.append(('update', updated))
    return ops
