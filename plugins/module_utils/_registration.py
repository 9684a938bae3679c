# -*- coding: utf-8 -*-
# Copyright: keycloak_ops contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Internal to keycloak_ops.clients: no stability promise. Modules and plugins of other collections
# must not import it; its names and signatures change whenever the collection needs them to.
"""Self-registration through the Client Registration Service (/realms/<realm>/clients-registrations/<provider>).

Runs on the host that uses the client, with no admin credentials: an initial access token (IAT) creates the
client, and the registration access token (RAT) Keycloak answers with reads, updates and deletes it later.
Keycloak replaces the RAT on every update (and, in older versions, on every read) and kills the old one, so
the current RAT is written to the credentials file as soon as it arrives, before anything else can fail.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import json
import os
import re
import socket
import ssl
import stat
import tempfile
import time
from xml.etree import ElementTree

from ansible.module_utils.basic import env_fallback
from ansible.module_utils.common.text.converters import to_text
from ansible.module_utils.six.moves import http_client
from ansible.module_utils.six.moves.urllib.error import HTTPError, URLError
from ansible.module_utils.urls import Request, SSLValidationError

from ansible_collections.keycloak_ops.clients.plugins.module_utils._connection import (
    KeycloakOpsError, OutcomeUnknown, keycloak_argument_spec, normalize_base_url, one_line, response_detail, segment,
    timeout_message, tls_error_message,
)
from ansible_collections.keycloak_ops.clients.plugins.module_utils._durations import iso_time
from ansible_collections.keycloak_ops.clients.plugins.module_utils._initial_access import fingerprint
from ansible_collections.keycloak_ops.clients.plugins.module_utils._masking import mask

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
# Statuses the service answers refusals with; each is turned into its own one-line message.
REFUSALS = (400, 401, 403, 404)
POLICY_REFUSAL = re.compile(r"Policy '([^']*)' rejected request to client-registration service\.?(?:\s*Details:\s*(.*))?")
POLICY_ADVICE = {
    'Trusted Hosts': "the request's host (or a host in its redirect URIs) is not trusted; register with an "
                     "initial access token, or an admin adds the host to the policy",
    'Max Clients Limit': "the realm already has as many clients as the policy allows; an admin raises the limit "
                         "or removes unused clients",
    'Allowed Client Scopes': "a requested client scope is not allowed; request only the realm's default scopes "
                             "(scope, defaultClientScopes, optionalClientScopes), or an admin allows it in the policy",
    'Allowed Protocol Mapper Types': "a protocol mapper type is not allowed; drop the mapper from metadata, or an "
                                     "admin allows its type in the policy",
}
# What a person does when the answer to a registration write was lost: Keycloak may have acted, and the
# registration access token it answered with (the only one that now works) never arrived.
LOST_ANSWER_ADVICE = {
    'create': "an admin checks whether client '%(client)s' exists in realm '%(realm)s' now: if it does, adopt it "
              "with a token from keycloak_ops.clients.registration_access_token, else run again with an initial "
              "access token that has uses left",
    'update': "the stored registration access token may be stale now: run again, and if Keycloak refuses it, adopt "
              "client '%(client)s' with a token from keycloak_ops.clients.registration_access_token",
    'delete': "run again: a client that is gone is reported absent",
}
FILE_KEYS = ('keycloak_url', 'realm', 'provider', 'client_id', 'id', 'secret', 'registration_access_token',
             'registration_client_uri', 'token_endpoint')
CONNECTION_OPTIONS = ('auth_keycloak_url', 'validate_certs', 'ca_path', 'client_cert', 'client_key', 'connection_timeout')


class RegistrationError(Exception):
    """A failure already phrased as the one line to show."""


class LostAnswer(Exception):
    """A write left for Keycloak and no answer came back (see OutcomeUnknown)."""


class StaleToken(RegistrationError):
    """The registration access token was refused: rotated, regenerated, or its client deleted."""


def registration_argument_spec():
    """Only the connection options that apply without an admin login, named as in every other module."""
    admin_spec = keycloak_argument_spec()
    spec = dict((name, admin_spec[name]) for name in CONNECTION_OPTIONS)
    spec.update(
        realm=dict(type='str', default='master'),
        provider=dict(type='str', choices=list(PROVIDERS), default='default'),
        state=dict(type='str', choices=['present', 'absent'], default='present'),
        client_id=dict(type='str', aliases=['clientId']),
        metadata=dict(type='dict', default={}),
        entity_descriptor=dict(type='str'),
        credentials_file=dict(type='path', required=True),
        initial_access_token=dict(type='str', no_log=True, fallback=(env_fallback, ['KEYCLOAK_INITIAL_ACCESS_TOKEN'])),
        registration_access_token=dict(type='str', no_log=True),
        adapter_config_file=dict(type='path'),
        return_secret=dict(type='bool', default=False),
    )
    return spec


# -- tokens and refusals ------------------------------------------------------------------------------

def token_claims(token):
    """The claims of a JWT, read without verifying it: only to explain why Keycloak refused the token."""
    try:
        payload = token.split('.')[1]
        return json.loads(base64.urlsafe_b64decode(payload + '=' * (-len(payload) % 4)).decode('utf-8'))
    except (AttributeError, IndexError, TypeError, ValueError):
        return {}


def iat_refusal(description, token, realm, now=None):
    """Why an initial access token was refused, and what to do about it."""
    name = "The initial access token (fingerprint %s)" % fingerprint(token)
    mint = "mint a new one with keycloak_ops.clients.initial_access_token"
    if 'No remaining count' in description:
        return "%s is used up: it allowed no more registrations; %s (count: the number of hosts still to register)" % (
            name, mint)
    if 'not found' in description.lower():
        return "%s was revoked (or removed by Keycloak after it expired); %s" % (name, mint)
    claims = token_claims(token)
    now = time.time() if now is None else now
    issuer = str(claims.get('iss') or '')
    if claims.get('typ') and claims['typ'] != 'InitialAccessToken':
        return "%s is not an initial access token but a %s; give the value returned by initial_access_token" % (
            name, claims['typ'])
    if claims.get('exp') and claims['exp'] <= now:
        return "%s expired at %s (%d seconds ago); %s with a longer expiration" % (
            name, iso_time(claims['exp']), now - claims['exp'], mint)
    if issuer and not issuer.rstrip('/').endswith('/realms/' + realm):
        return "%s was minted for realm '%s', not realm '%s'; mint one in realm '%s'" % (
            name, issuer.rstrip('/').rsplit('/', 1)[-1], realm, realm)
    return ("%s was refused by Keycloak (%s): it is not a token of this server and realm, or the realm keys "
            "changed; %s" % (name, description or 'invalid_token', mint))


def rat_refusal(description, client_id, where):
    if 'initial access token' in description.lower():
        return ("The registration access token %s is an initial access token, which can only create clients; "
                "give the client's registration access token" % where)
    return ("The registration access token %s is no longer valid for client '%s' (%s): a later update rotated it, "
            "an admin regenerated it, or the client was deleted. Ask an admin for a new one (console: Clients > %s "
            "> Credentials > Registration access token > Regenerate) and pass it as registration_access_token, "
            "or remove the credentials file to register anew with an initial access token"
            % (where, client_id, description or 'invalid_token', client_id))


def policy_refusal(description):
    found = POLICY_REFUSAL.search(description)
    policy, details = (found.group(1), (found.group(2) or '').strip().rstrip('.')) if found else ('?', description)
    advice = POLICY_ADVICE.get(policy, "an admin can change the policy")
    return ("Registration refused by the realm's client registration policy '%s' (%s): %s "
            "(console: Clients > Client registration > Authenticated access policies)" % (policy, details, advice))


def refusal_message(status, body, kind, realm, base_url, token=None, client_id=None, where=None):
    """One line for a refusal of the Client Registration Service.

    kind is 'create' (with an initial access token) or 'read'/'update'/'delete'/'install' (with a registration
    access token). Keycloak's own texts tell the cases apart where the status does not.
    """
    data = body if isinstance(body, dict) else {}
    description = str(data.get('error_description') or data.get('error') or (body if isinstance(body, str) else ''))
    description = one_line(description, 200)
    if status == 401:
        return iat_refusal(description, token, realm) if kind == 'create' else rat_refusal(description, client_id, where)
    if status == 403 and (data.get('error') == 'insufficient_scope' or 'Policy' in description):
        return policy_refusal(description)
    if status == 403:
        return "Keycloak forbade the registration %s of client '%s' (HTTP 403: %s)" % (kind, client_id, description)
    if status == 404 and 'realm' in description.lower():
        return "Realm '%s' does not exist on %s" % (realm, base_url)
    if status == 400 and 'in use' in description:
        return ("client_id '%s' is already taken in realm '%s' (perhaps registered by an earlier run whose credentials "
                "file was lost): choose another client_id, or get its registration access token from an admin and "
                "pass it as registration_access_token" % (client_id, realm))
    if status == 400:
        return "Keycloak refused the client metadata (HTTP 400 %s): fix metadata" % (description,)
    return "Keycloak answered HTTP %s to the registration %s of client '%s': %s" % (status, kind, client_id, description)


# -- desired state and comparison -----------------------------------------------------------------------

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
        raise RegistrationError("client_id '%s' and metadata.clientId '%s' differ: give one" % (params['client_id'], given))
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
        raise RegistrationError("entity_descriptor is not well-formed XML (%s): give the SP's SAML 2.0 metadata" % exc)
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
        out[key] = merged(current[key], value) if isinstance(value, dict) and isinstance(current.get(key), dict) else value
    return out


def update_body(current, desired, provider):
    """A full representation to PUT: RFC 7592 replaces the whole client, so send what is there plus the changes."""
    body = merged(current, desired)
    for key in READ_ONLY[provider]:
        body.pop(key, None)
    return body


# -- the credentials file -------------------------------------------------------------------------------

def read_credentials(path):
    """The stored registration, or None when the file does not exist yet."""
    try:
        with open(path) as handle:
            data = json.load(handle)
    except (IOError, OSError) as exc:
        if not os.path.exists(path):
            return None
        raise RegistrationError("Cannot read credentials_file %s: %s" % (path, exc))
    except ValueError:
        raise RegistrationError("credentials_file %s is not JSON written by client_registration: move it away "
                                "or choose another path" % path)
    if not isinstance(data, dict) or not data.get('registration_access_token'):
        raise RegistrationError("credentials_file %s holds no registration_access_token: move it away or choose "
                                "another path" % path)
    return data


def private_mode_ok(path):
    return not stat.S_IMODE(os.stat(path).st_mode) & 0o077


def make_private_directories(directory):
    """Create directory and every missing parent owner-only (os.makedirs gives the parents 0777 minus umask)."""
    if os.path.isdir(directory):
        return
    make_private_directories(os.path.dirname(directory))
    os.mkdir(directory, 0o700)
    os.chmod(directory, 0o700)  # the umask may have narrowed it further; 0700 is what the docs promise


def check_writable(path):
    """Fail before registering if the credentials cannot be stored: a registration whose RAT is lost is orphaned."""
    directory = os.path.dirname(os.path.abspath(path))
    try:
        make_private_directories(directory)
        handle, probe = tempfile.mkstemp(prefix='.%s.' % os.path.basename(path), dir=directory)
        os.close(handle)
        os.unlink(probe)
    except (IOError, OSError) as exc:
        raise RegistrationError("Cannot write credentials_file %s: %s; nothing was registered" % (path, exc))


def write_private_file(path, data):
    """Replace path atomically with data as JSON, owner-only from the first byte.

    mkstemp creates the temporary file 0600 in the same directory (so the rename stays on one filesystem and
    is atomic); fsync before the rename, and of the directory after it, so a crash leaves the old or the new
    file, never a torn one.
    """
    directory = os.path.dirname(os.path.abspath(path))
    try:
        make_private_directories(directory)
        handle, temporary = tempfile.mkstemp(prefix='.%s.' % os.path.basename(path), dir=directory)
        try:
            with os.fdopen(handle, 'w') as stream:
                json.dump(data, stream, indent=2, sort_keys=True)
                stream.write('\n')
                stream.flush()
                os.fsync(stream.fileno())
            os.rename(temporary, path)
        except BaseException:
            if os.path.exists(temporary):
                os.unlink(temporary)
            raise
        directory_fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(directory_fd)
        finally:
            os.close(directory_fd)
    except (IOError, OSError) as exc:
        raise RegistrationError("Cannot write %s: %s" % (path, exc))


# -- the service --------------------------------------------------------------------------------------

class RegistrationService(object):
    """Calls of the Client Registration Service, each with the bearer token it needs.

    The transport is ansible.module_utils.urls, so the module runs on any host with Python and nothing else
    (the hosts that register are application hosts, not controllers). Each request is sent once: a registration
    or an update that is sent again would register twice or meet a registration access token it already killed.
    """

    def __init__(self, params, realm, provider):
        self.base_url = normalize_base_url(params['auth_keycloak_url'])
        self.realm = realm
        # A SAML client is only created from its descriptor; everything else goes through the default provider.
        self.provider = 'default' if provider == SAML else provider
        self.timeout = params.get('connection_timeout') or 10
        self.http = Request(validate_certs=params.get('validate_certs', True), ca_path=params.get('ca_path'),
                            client_cert=params.get('client_cert'), client_key=params.get('client_key'),
                            timeout=self.timeout, follow_redirects='none')

    def _send(self, method, url, token, body, content_type=None):
        """(status, parsed body) of one request; HTTP error statuses are answers, transport failures raise.

        content_type: send body (a str, such as a SAML entity descriptor) as it is, instead of as JSON.
        """
        headers = {'Authorization': 'Bearer ' + token, 'Accept': 'application/json'}
        data = None
        if body is not None:
            headers['Content-Type'] = content_type or 'application/json'
            data = body if content_type else json.dumps(body)
        try:
            response = self.http.open(method, url, data=data, headers=headers)
            status, raw = response.getcode(), response.read()
        except HTTPError as exc:
            status, raw = exc.code, exc.read() if exc.fp else b''
        except SSLValidationError as exc:
            raise KeycloakOpsError(tls_error_message(self.base_url, exc))
        except URLError as exc:
            if isinstance(exc.reason, ssl.SSLError):
                raise KeycloakOpsError(tls_error_message(self.base_url, exc.reason))
            if isinstance(exc.reason, socket.timeout):
                raise KeycloakOpsError(timeout_message(self.base_url, self.timeout))
            raise KeycloakOpsError("Cannot reach Keycloak at %s: %s" % (self.base_url, one_line(exc.reason, 160)))
        except socket.timeout:
            if method != 'GET':
                raise LostAnswer("no answer within %s seconds (connection_timeout)" % self.timeout)
            raise KeycloakOpsError(timeout_message(self.base_url, self.timeout))
        except (IOError, OSError, http_client.HTTPException) as exc:
            # urllib wraps failures before the request left in URLError (above); these came after it was sent.
            if method != 'GET':
                raise LostAnswer("the connection broke before the answer arrived (%s)" % one_line(repr(exc), 80))
            raise KeycloakOpsError("Cannot reach Keycloak at %s: %s" % (self.base_url, one_line(exc, 160)))
        text = to_text(raw or b'', errors='surrogate_or_replace')
        try:
            return status, json.loads(text) if text else None
        except ValueError:
            return status, text

    def _call(self, method, token, kind, provider=None, client_id=None, body=None, where=None, content_type=None):
        parts = ['realms', segment(self.realm), 'clients-registrations', provider or self.provider]
        if client_id:
            parts.append(segment(client_id))
        try:
            status, data = self._send(method, self.base_url + '/'.join(parts), token, body, content_type)
        except LostAnswer as exc:
            named = body.get(CLIENT_ID_KEY[self.provider]) if isinstance(body, dict) else None
            raise OutcomeUnknown("the outcome of the registration %s of client '%s' is unknown: %s %s was sent to %s "
                                 "but %s, so it was not sent again; %s" % (
                                     kind, client_id or named or '?', method, '/' + '/'.join(parts), self.base_url, exc,
                                     LOST_ANSWER_ADVICE[kind] % dict(client=client_id or named or '?', realm=self.realm)))
        if status in (200, 201, 204):
            return data
        named = body.get(CLIENT_ID_KEY[self.provider]) if isinstance(body, dict) else None
        if status in REFUSALS:
            message = refusal_message(status, data, kind, self.realm, self.base_url, token=token,
                                      client_id=client_id or named, where=where)
            raise StaleToken(message) if status == 401 and kind != 'create' else RegistrationError(message)
        detail = response_detail(data if isinstance(data, (dict, list)) else (data or ''))
        raise RegistrationError("Keycloak answered HTTP %s to the registration %s of client '%s': %s" % (
            status, kind, client_id or named, detail))

    def create(self, iat, desired):
        return self._call('POST', iat, 'create', body=desired)

    def create_from_entity_descriptor(self, iat, descriptor):
        """Register a SAML client from its entity descriptor; Keycloak answers in its own (default) format."""
        return self._call('POST', iat, 'create', provider=SAML, body=descriptor, content_type='application/xml')

    def read(self, rat, client_id, where):
        return self._call('GET', rat, 'read', client_id=client_id, where=where)

    def update(self, rat, client_id, body, where):
        return self._call('PUT', rat, 'update', client_id=client_id, body=body, where=where)

    def delete(self, rat, client_id, where):
        return self._call('DELETE', rat, 'delete', client_id=client_id, where=where)

    def install(self, rat, client_id, where):
        """The adapter configuration (keycloak.json) of the client; the install provider does not rotate the RAT."""
        return self._call('GET', rat, 'install', provider='install', client_id=client_id, where=where)


# -- the run ----------------------------------------------------------------------------------------

class SelfRegistration(object):
    """One module run: read the credentials file, then register, converge or delete the client."""

    def __init__(self, module):
        self.module = module
        self.params = params = module.params
        self.provider = params['provider']
        self.realm = params['realm']
        self.path = params['credentials_file']
        self.check_mode = module.check_mode
        self.desired = desired_metadata(params)
        self.stored = read_credentials(self.path)
        self._check_identity()
        self.service = RegistrationService(params, self.realm, self.provider)
        self.rat = None
        self.where = None
        self.rotated = False
        self.changed = False

    def _check_identity(self):
        stored, params = self.stored, self.params
        if not stored:
            return
        if stored.get('realm') != self.realm:
            raise RegistrationError("credentials_file %s holds client '%s' of realm '%s', not realm '%s': use another "
                                    "file per realm" % (self.path, stored.get('client_id'), stored.get('realm'), self.realm))
        wanted = params.get('client_id') or self.desired.get('clientId')
        if wanted and stored.get('client_id') != wanted:
            raise RegistrationError("credentials_file %s holds client '%s', not '%s': use another file per client, or "
                                    "state=absent with the old client_id first" % (self.path, stored.get('client_id'), wanted))

    @property
    def client_id(self):
        return (self.stored or {}).get('client_id') or self.params.get('client_id') or self.desired.get('clientId')

    # -- tokens and the file

    def _current_token(self):
        if self.stored:
            return self.stored['registration_access_token'], 'stored in %s' % self.path
        if self.params.get('registration_access_token'):
            return self.params['registration_access_token'], 'given in registration_access_token'
        return None, None

    def _read(self):
        """The registered client, read with the stored RAT, or with the given one if the stored one is stale."""
        self.rat, self.where = self._current_token()
        given = self.params.get('registration_access_token')
        try:
            return self.service.read(self.rat, self.client_id, self.where)
        except StaleToken:
            if not (self.stored and given and given != self.rat):
                raise
            self.rat, self.where = given, 'given in registration_access_token'
            return self.service.read(self.rat, self.client_id, self.where)

    def _keep(self, rep):
        """Store the credentials of a Keycloak answer; a replaced RAT is written even in check mode (the old one is dead)."""
        rat = rep.get(RAT_KEY[self.provider]) or self.rat
        if rat:
            self.module.no_log_values.add(rat)
        previous = self.stored or {}
        client_id = rep.get(CLIENT_ID_KEY[self.provider])
        new = dict(
            keycloak_url=self.service.base_url.rstrip('/'),
            realm=self.realm,
            provider=self.provider,
            client_id=client_id,
            # The openid-connect provider shows no internal id: Keycloak uses the client id it chose as the id.
            id=rep.get('id') or previous.get('id') or (client_id if self.provider == 'openid-connect' else None),
            secret=rep.get(SECRET_KEY[self.provider]),
            registration_access_token=rat,
            registration_client_uri=rep.get('registration_client_uri') or previous.get('registration_client_uri'),
            token_endpoint='%srealms/%s/protocol/openid-connect/token' % (self.service.base_url, segment(self.realm)),
        )
        # rotated: Keycloak replaced the token this request was sent with (self.rat is None for a registration).
        rotated = bool(self.rat) and rat != self.rat
        token_changed = rat != previous.get('registration_access_token')
        content = [k for k in FILE_KEYS if k != 'registration_access_token' and new.get(k) != previous.get(k)]
        mode_wrong = bool(previous) and not private_mode_ok(self.path)
        if token_changed or content or mode_wrong:
            if rotated or not self.check_mode:
                try:
                    write_private_file(self.path, new)
                except RegistrationError as exc:
                    raise RegistrationError("%s. Client '%s' is registered, but its current registration access token "
                                            "is lost: ask an admin to regenerate it and pass it as "
                                            "registration_access_token" % (exc, client_id))
            self.stored = new
        self.rotated = self.rotated or rotated
        self.rat, self.where = rat, 'stored in %s' % self.path
        # A token replaced by Keycloak is bookkeeping; a new file, new credentials, a token given to adopt or
        # repair the file, or a repaired file mode are changes on the host.
        self.changed = self.changed or bool(content) or mode_wrong or (token_changed and not rotated)

    # -- states

    def present(self):
        if self._current_token()[0] is None:
            return self._register()
        current = self._read()
        self._keep(current)
        changes = differences(self.desired, current, self.provider)
        before = self._view(current)
        if changes:
            self.changed = True
            if not self.check_mode:
                updated = self.service.update(self.rat, self.client_id, update_body(current, self.desired, self.provider),
                                              self.where)
                # The RAT used for the update is dead now: storing the new one comes before anything else.
                self._keep(updated)
                self._warn_not_taken(updated)
                current = updated
            else:
                current = merged(current, self.desired)
        self._adapter_config(registered=True)
        return current, before

    def _register(self):
        iat = self.params.get('initial_access_token')
        # Check mode predicts the registration without a token: a playbook's check run mints none to give.
        if not iat and not self.check_mode:
            raise RegistrationError("No credentials_file %s yet and no initial_access_token: give an initial access "
                                    "token (minted with keycloak_ops.clients.initial_access_token) to register the "
                                    "client, or registration_access_token to adopt a registered one" % self.path)
        self.changed = True
        if self.check_mode:
            self._adapter_config(registered=False)
            return dict(self.desired), {}
        check_writable(self.path)
        if self.provider == SAML:
            return self._register_saml(iat)
        created = self.service.create(iat, self.desired)
        self._keep(created)
        self._warn_not_taken(created)
        self._adapter_config(registered=True)
        return created, {}

    def _register_saml(self, iat):
        """Create from the descriptor, then lay O(metadata) over it through the default provider (one update)."""
        created = self.service.create_from_entity_descriptor(iat, self.params['entity_descriptor'])
        self._keep(created)
        if differences(self.desired, created, self.provider):
            created = self.service.update(self.rat, self.client_id, update_body(created, self.desired, self.provider),
                                          self.where)
            self._keep(created)
            self._warn_not_taken(created)
        return created, {}

    def absent(self):
        if self._current_token()[0] is None:
            return None, {}
        # Reading first tells a stale token from a client to delete, and shows what goes in the diff.
        current = self._read()
        self.rat = current.get(RAT_KEY[self.provider]) or self.rat
        self.changed = True
        if not self.check_mode:
            self.service.delete(self.rat, self.client_id, self.where)
            if os.path.exists(self.path):
                os.remove(self.path)
        return None, self._view(current)

    def _adapter_config(self, registered):
        path = self.params.get('adapter_config_file')
        if not path:
            return
        if not registered:
            self.changed = True
            return
        config = self.service.install(self.rat, self.client_id, self.where)
        try:
            with open(path) as handle:
                unchanged = json.load(handle) == config and private_mode_ok(path)
        except (IOError, OSError, ValueError):
            unchanged = False
        if not unchanged:
            self.changed = True
            if not self.check_mode:
                write_private_file(path, config)

    def _warn_not_taken(self, answer):
        ignored = differences(self.desired, answer, self.provider)
        if ignored:
            self.module.warn("Keycloak did not register metadata %s as given (it ignores or rewrites them), so every "
                             "run will try to update them: drop them from metadata or give them as Keycloak answers"
                             % ', '.join(ignored))

    def _view(self, current):
        return dict((key, current.get(key)) for key in self.desired)

    def result(self, current, before):
        stored = self.stored or {}
        secret = stored.get('secret')
        output = dict(
            changed=self.changed,
            realm=self.realm,
            provider=self.provider,
            client_id=stored.get('client_id') if stored else self.client_id,
            id=stored.get('id'),
            credentials_file=self.path,
            registration_access_token_rotated=self.rotated,
            registered=mask(current) if current else None,
        )
        if self.params['state'] == 'absent':
            output.update(client_id=self.client_id, registered=None)
        if self.params.get('return_secret') and self.params['state'] == 'present':
            output['secret'] = secret
        elif secret:
            self.module.no_log_values.add(secret)
        if self.module._diff:
            after = self._view(current) if current else {}
            output['diff'] = dict(before=mask(before), after=mask(after))
        return output


def run_client_registration(module):
    try:
        run = SelfRegistration(module)
        current, before = run.present() if module.params['state'] == 'present' else run.absent()
        output = run.result(current, before)
    except (RegistrationError, KeycloakOpsError) as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(**output)
