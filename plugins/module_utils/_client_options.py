# -*- coding: utf-8 -*-
# Copyright: keycloak_ops contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Internal to keycloak_ops.clients: no stability promise. Modules and plugins of other collections
# must not import it; its names and signatures change whenever the collection needs them to.
"""Per-client options: argument specs, validation of one client's input, and its desired representation.

Pure logic (no HTTP), so it is unit tested and every item of a list is checked before the first write.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.six.moves.urllib.parse import urlsplit

from ansible_collections.keycloak_ops.clients.plugins.module_utils._authorization import AUTHORIZATION_SPEC
from ansible_collections.keycloak_ops.clients.plugins.module_utils._presets import (
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
    # Resource server: scopes, resources, policies, permissions (module_utils/_authorization.py).
    authorization=AUTHORIZATION_SPEC,
)

PUBLIC_OPTIONS = dict(
    COMMON_OPTIONS,
    preset=dict(type='str', choices=sorted(PUBLIC_PRESETS)),
    pkce_method=dict(type='str', choices=['S256', 'none']),
    device_authorization=dict(type='bool'),
    allow_insecure_redirect_uris=dict(type='bool'),
)

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

LOOPBACK_HOSTS = frozenset(('localhost',))

# Column sizes of Keycloak's database, measured on Keycloak 26: one character more and Keycloak answers
# HTTP 500 "unknown_error" (the database refuses the row), so they are checked before any request.
MAX_LENGTH = 255
LIMITED_OPTIONS = ('client_id', 'name', 'description', 'root_url', 'home_url')
LIMITED_LIST_OPTIONS = ('redirect_uris', 'web_origins')
# Schemes Keycloak refuses in redirect, root and base URLs (HTTP 400 "uses an illegal scheme").
ILLEGAL_SCHEMES = frozenset(('javascript', 'data'))


class InvalidClient(ValueError):
    """One client's input is wrong; the message names the option and the fix."""


def module_argument_spec(client_options):
    """Top-level module options: the client options (also defaults for each item of O(clients)) and the list."""
    spec = dict((k, dict(v)) for k, v in client_options.items())
    spec['realm']['default'] = 'master'
    spec['state']['default'] = 'present'
    spec['clients'] = dict(type='list', elements='raw')
    return spec


def client_items(params, client_options):
    """The list of per-client option dicts of a module call: the single client, or each item of O(clients).

    Top-level client options are defaults for every item, like module_defaults for one task.
    Raises InvalidClient naming the item index.
    """
    defaults = dict((k, params.get(k)) for k in client_options if params.get(k) is not None)
    if params.get('clients') is None:
        if not params.get('client_id'):
            raise InvalidClient("one of client_id or clients is required")
        return [dict((k, params.get(k)) for k in client_options)]
    if params.get('client_id'):
        raise InvalidClient("client_id and clients are mutually exclusive: put every client in clients")
    if not params['clients']:
        raise InvalidClient("clients is empty: give at least one client")
    items, seen = [], {}
    validator = ArgumentSpecValidator(client_options)
    for index, raw in enumerate(params['clients']):
        where = 'clients[%d]' % index
        if isinstance(raw, str):
            raw = {'client_id': raw}
        if not isinstance(raw, dict):
            raise InvalidClient("%s: expected a client id or a dict of client options, got %s" % (where, type(raw).__name__))
        result = validator.validate(dict(defaults, **raw))
        if result.error_messages:
            raise InvalidClient("%s: %s" % (where, result.error_messages[0]))
        item = result.validated_parameters
        if not item.get('client_id'):
            raise InvalidClient("%s: client_id is required" % where)
        key = (item.get('realm'), item['client_id'])
        if key in seen:
            raise InvalidClient("%s: client_id '%s' is already declared by clients[%d]" % (where, item['client_id'], seen[key]))
        seen[key] = index
        items.append(item)
    return items


def given_secrets(raw_items, client_options):
    """Values of no_log options (by name or alias) inside raw O(clients) items, which Ansible cannot mark no_log."""
    names = set()
    for name, spec in client_options.items():
        if spec.get('no_log'):
            names.update([name] + list(spec.get('aliases') or []))
    return set(str(value) for item in raw_items or [] if isinstance(item, dict)
               for key, value in item.items() if key in names and value)


# -- validation ------------------------------------------------------------------------------


def _check_url(option, value, allow_relative=False):
    if allow_relative and value.startswith('/'):
        return
    parts = urlsplit(value)
    if parts.scheme.lower() in ILLEGAL_SCHEMES:
        raise InvalidClient("%s: '%s' uses the %s: scheme, which Keycloak refuses (it would run in the browser); "
                            "use an http(s) URL" % (option, value, parts.scheme.lower()))
    if parts.scheme not in ('http', 'https') and not (allow_relative and parts.scheme):
        raise InvalidClient("%s: '%s' is not an absolute http(s) URL" % (option, value))
    if parts.scheme in ('http', 'https') and not parts.hostname:
        raise InvalidClient("%s: '%s' has no host" % (option, value))
    if ' ' in value:
        raise InvalidClient("%s: '%s' contains a space" % (option, value))


def _is_loopback(host):
    if host in LOOPBACK_HOSTS:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_public_redirect(option, value, allow_insecure):
    if allow_insecure:
        return
    if value.strip() in ('*', '/*', '+') or value.startswith('*'):
        raise InvalidClient("%s: wildcard '%s' lets any site receive authorization codes of a public client; "
                            "list exact URIs (or set allow_insecure_redirect_uris: true)" % (option, value))
    parts = urlsplit(value)
    if parts.scheme == 'http' and not _is_loopback(parts.hostname or ''):
        raise InvalidClient("%s: '%s' is plain http to a non-loopback host; use https "
                            "(or set allow_insecure_redirect_uris: true)" % (option, value))


def validate(options, kind):
    """Check one client's merged options (preset applied); raise InvalidClient on the first problem."""
    client_id = options['client_id']
    if not client_id.strip() or client_id != client_id.strip():
        raise InvalidClient("client_id '%s' must not be blank or start/end with spaces" % client_id)
    _check_lengths(options)
    if options.get('state') == 'absent':
        return
    for option in ('root_url',):
        if options.get(option):
            _check_url(option, options[option])
    if options.get('home_url'):
        _check_url('home_url', options['home_url'], allow_relative=True)
    for option in ('redirect_uris', 'post_logout_redirect_uris'):
        for uri in options.get(option) or []:
            # Keycloak accepts custom schemes (com.example.app:/cb) for native apps and relative paths under rootUrl.
            if uri in ('*', '+') or uri.startswith('/'):
                continue
            _check_url(option, uri.rstrip('*'), allow_relative=True)
            if '#' in uri:
                raise InvalidClient("%s: '%s' has a URL fragment (#...), which Keycloak refuses in redirect URIs; "
                                    "drop it" % (option, uri))
    for origin in options.get('web_origins') or []:
        if origin not in ('*', '+'):
            _check_url('web_origins', origin)
    default_scopes = set(options.get('default_client_scopes') or [])
    both = sorted(default_scopes & set(options.get('optional_client_scopes') or []))
    if both:
        raise InvalidClient("client scope '%s' is listed as both default and optional; pick one" % both[0])
    _check_mappers(options.get('protocol_mappers') or [])
    _check_attribute_conflicts(options)
    if kind == 'confidential':
        _validate_confidential(options)
    else:
        _validate_public(options)


def _too_long(option, value):
    return InvalidClient("%s: '%s...' is %d characters long; Keycloak stores at most %d" % (option, value[:20], len(value), MAX_LENGTH))


def _check_lengths(options):
    for option in LIMITED_OPTIONS:
        value = options.get(option)
        if isinstance(value, str) and len(value) > MAX_LENGTH:
            raise _too_long(option, value)
    for option in LIMITED_LIST_OPTIONS:
        for value in options.get(option) or []:
            if len(value) > MAX_LENGTH:
                raise _too_long(option, value)
    for name in options.get('attributes') or {}:
        if len(str(name)) > MAX_LENGTH:
            raise _too_long('attributes (a name)', str(name))


def _check_mappers(mappers):
    seen = set()
    for index, mapper in enumerate(mappers):
        if not isinstance(mapper, dict):
            raise InvalidClient("protocol_mappers[%d] must be a dict with name, protocolMapper and config" % index)
        name = mapper.get('name')
        if not name or not (mapper.get('protocolMapper') or mapper.get('protocol_mapper')):
            raise InvalidClient("protocol_mappers[%d] needs a name and a protocolMapper type "
                                "(for example oidc-audience-mapper)" % index)
        if len(str(name)) > MAX_LENGTH:
            raise _too_long('protocol_mappers[%d].name' % index, str(name))
        if name in seen:
            raise InvalidClient("protocol_mappers[%d]: the name '%s' is used twice; mapper names are unique per client"
                                % (index, name))
        if not isinstance(mapper.get('config') or {}, dict):
            raise InvalidClient("protocol_mappers[%d].config must be a dict of settings" % index)
        seen.add(name)


def _check_attribute_conflicts(options):
    attributes = options.get('attributes') or {}
    for option, attribute in ATTRIBUTE_OF_OPTION.items():
        if attribute in attributes and options.get(option) is not None:
            raise InvalidClient("attributes['%s'] conflicts with option %s; set only %s" % (attribute, option, option))


def _validate_confidential(options):
    roles_asked = options.get('service_account_realm_roles') or options.get('service_account_client_roles')
    if options.get('preset') == 'service' and options.get('service_accounts') is False:
        raise InvalidClient("preset 'service' is a client-credentials client; it conflicts with service_accounts: false")
    if roles_asked and options.get('service_accounts') is not True:
        raise InvalidClient("service_account_*_roles need service_accounts: true (or preset: service): "
                            "without a service account there is no user to hold the roles")
    if options.get('authorization_services') and options.get('service_accounts') is False:
        raise InvalidClient("authorization_services: true needs service_accounts (Keycloak turns it on); "
                            "drop service_accounts: false")
    for client, roles in (options.get('service_account_client_roles') or {}).items():
        if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
            raise InvalidClient("service_account_client_roles['%s'] must be a list of role names" % client)


def _validate_public(options):
    allow = bool(options.get('allow_insecure_redirect_uris'))
    for option in ('redirect_uris', 'post_logout_redirect_uris'):
        for uri in options.get(option) or []:
            _check_public_redirect(option, uri, allow)
    if '*' in (options.get('web_origins') or []) and not allow:
        raise InvalidClient("web_origins: '*' lets any site call with this client's tokens; list origins or use '+' "
                            "(or set allow_insecure_redirect_uris: true)")
    if options.get('preset') == 'cli' and options.get('redirect_uris') and options.get('standard_flow') is not True:
        raise InvalidClient("preset 'cli' uses the device grant without redirects; drop redirect_uris or set standard_flow: true")


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
    attributes = dict((k, _attribute_value(v)) for k, v in (options.get('attributes') or {}).items())
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
    config = dict((k, _attribute_value(v)) for k, v in (mapper.get('config') or {}).items())
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
            differing = dict((k, v) for k, v in want.items() if not _same_attribute(k, v, have_attributes.get(k)))
            if differing:
                changes['attributes'] = differing
        elif not _same(field, want, current_rep.get(field)):
            changes[field] = want
    return changes
