# -*- coding: utf-8 -*-
# Copyright: keycloak_ops contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Internal to keycloak_ops.clients: no stability promise. Modules and plugins of other collections
# must not import it; its names and signatures change whenever the collection needs them to.
"""Validation of one client's options (preset applied) before any request: URLs, lengths Keycloak's database
takes, mappers, contradictions, and what a public client must not allow.

Pure logic, so every item of a list is checked before the first write and the checks are unit tested.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress

from urllib.parse import urlsplit

from ansible_collections.keycloak_ops.clients.plugins.module_utils._clients.options import (
    ATTRIBUTE_OF_OPTION, InvalidClient,
)

LOOPBACK_HOSTS = frozenset(('localhost',))
# Column sizes of Keycloak's database, measured on Keycloak 26: one character more and Keycloak answers
# HTTP 500 "unknown_error" (the database refuses the row), so they are checked before any request.
MAX_LENGTH = 255
LIMITED_OPTIONS = ('client_id', 'name', 'description', 'root_url', 'home_url')
LIMITED_LIST_OPTIONS = ('redirect_uris', 'web_origins')
# Schemes Keycloak refuses in redirect, root and base URLs (HTTP 400 "uses an illegal scheme").
ILLEGAL_SCHEMES = frozenset(('javascript', 'data'))


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
    return InvalidClient("%s: '%s...' is %d characters long; Keycloak stores at most %d"
                         % (option, value[:20], len(value), MAX_LENGTH))


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
        raise InvalidClient("preset 'service' is a client-credentials client; "
                            "it conflicts with service_accounts: false")
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
        raise InvalidClient("preset 'cli' uses the device grant without redirects; "
                            "drop redirect_uris or set standard_flow: true")
