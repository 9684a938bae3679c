# -*- coding: utf-8 -*-
# Copyright: keycloak_ops contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Internal to keycloak_ops.clients: no stability promise. Modules and plugins of other collections
# must not import it; its names and signatures change whenever the collection needs them to.
"""What a self-registering client asks for: the metadata in the format of its provider (default, openid-connect,
or a SAML entity descriptor), and whether what Keycloak registered holds it.

Pure logic, unit tested.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from xml.etree import ElementTree

from ansible_collections.keycloak_ops.clients.plugins.module_utils._registration.refusals import RegistrationError

# SAML clients register from an entity descriptor (XML) through a create-only provider that answers in Keycloak's
# own format; they are read, updated and deleted through the default provider afterwards.
SAML = 'saml2-entity-descriptor'
PROVIDERS = ('default', 'openid-connect', SAML)
CLIENT_ID_KEY = {'default': 'clientId', 'openid-connect': 'client_id', SAML: 'clientId'}
SECRET_KEY = {'default': 'secret', 'openid-connect': 'client_secret', SAML: 'secret'}
RAT_KEY = {'default': 'registrationAccessToken', 'openid-connect': 'registration_access_token',
           SAML: 'registrationAccessToken'}
# Fields of Keycloak's answers that describe the registration, not the client: never compared or sent back.
READ_ONLY = {
    'default': ('registrationAccessToken',),
    SAML: ('registrationAccessToken',),
    'openid-connect': ('registration_access_token', 'registration_client_uri', 'client_id_issued_at',
                       'client_secret_expires_at'),
}


def desired_metadata(params):
    """The fields to register, in the provider's format; raises RegistrationError on contradictions."""
    provider = params['provider']
    desired = dict(params.get('metadata') or {})
    for key in READ_ONLY[provider]:
        if key in desired:
            raise RegistrationError("metadata.%s is set by Keycloak, not by the client: remove it" % key)
    if provider == 'openid-connect':
        if 'client_id' in desired:
            raise RegistrationError("metadata.client_id: with provider openid-connect Keycloak chooses the client id "
                                    "(RFC 7591); remove it, or use provider default to choose one")
        return desired
    if provider == SAML:
        return saml_desired(params, desired)
    given = desired.get('clientId')
    if given and params.get('client_id') and given != params['client_id']:
        raise RegistrationError("client_id '%s' and metadata.clientId '%s' differ: give one"
                                % (params['client_id'], given))
    client_id = params.get('client_id') or given
    if not client_id and params['state'] == 'present':
        raise RegistrationError("client_id is required with provider default (the clientId to register)")
    if client_id:
        desired['clientId'] = client_id
    return desired


def entity_id(descriptor):
    """The entityID of a SAML 2.0 entity descriptor (the client id Keycloak registers it under)."""
    try:
        root = ElementTree.fromstring(descriptor.strip().encode('utf-8'))
    except ElementTree.ParseError as exc:
        raise RegistrationError("entity_descriptor is not well-formed XML (%s): give the SP's SAML 2.0 metadata" % exc) from exc
    if root.tag.rsplit('}', 1)[-1] != 'EntityDescriptor' or not root.get('entityID'):
        raise RegistrationError("entity_descriptor is not a SAML 2.0 EntityDescriptor with an entityID: give the SP's "
                                "metadata (md:EntityDescriptor)")
    return root.get('entityID')


def saml_desired(params, desired):
    """Fields of a SAML client (Keycloak's format, compared through the default provider), clientId the entityID."""
    descriptor = params.get('entity_descriptor')
    client_id = entity_id(descriptor) if descriptor else params.get('client_id') or desired.get('clientId')
    for given in (params.get('client_id'), desired.get('clientId')):
        if given and given != client_id:
            raise RegistrationError("client_id '%s' differs from the entityID '%s' of entity_descriptor: a SAML client "
                                    "is registered under its entityID; drop client_id or make them match"
                                    % (given, client_id))
    if not client_id and params['state'] == 'present':
        raise RegistrationError("entity_descriptor is required with provider %s (the SP's SAML 2.0 metadata)" % SAML)
    if client_id:
        desired['clientId'] = client_id
    return desired


def _scalar(value):
    # Keycloak keeps attributes and mapper config as strings: true == "true", 300 == "300".
    if isinstance(value, bool):
        return 'true' if value else 'false'
    if isinstance(value, (int, float)):
        return str(value)
    return value


def matches(desired, current):
    """Whether current holds desired: dicts by the given keys only, lists in any order, scalars as strings."""
    if isinstance(desired, dict):
        return isinstance(current, dict) and all(matches(v, current.get(k)) for k, v in desired.items())
    if isinstance(desired, list):
        if not isinstance(current, list) or len(current) != len(desired):
            return False
        left = list(current)
        for item in desired:
            found = next((i for i, have in enumerate(left) if matches(item, have)), None)
            if found is None:
                return False
            left.pop(found)
        return True
    return _scalar(desired) == _scalar(current)


def _words(value):
    return sorted(set(str(value or '').split()))


def differences(desired, current, provider):
    """Keys of desired whose value the registered client does not hold."""
    changed = []
    for key, want in desired.items():
        have = current.get(key)
        if provider == 'openid-connect' and key == 'scope':
            want, have = _words(want), _words(have)
        elif provider == 'openid-connect' and key == 'response_types' and isinstance(have, list):
            # Keycloak adds "none" to the response types it registers.
            have = [v for v in have if v != 'none' or v in (want or [])]
        if not matches(want, have):
            changed.append(key)
    return sorted(changed)


def merged(current, desired):
    """current with desired laid over it; nested dicts (attributes) keep their other keys."""
    out = dict(current)
    for key, value in desired.items():
        nested = isinstance(value, dict) and isinstance(current.get(key), dict)
        out[key] = merged(current[key], value) if nested else value
    return out


def update_body(current, desired, provider):
    """A full representation to PUT: RFC 7592 replaces the whole client, so send what is there plus the changes."""
    body = merged(current, desired)
    for key in READ_ONLY[provider]:
        body.pop(key, None)
    return body
