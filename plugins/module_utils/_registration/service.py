# -*- coding: utf-8 -*-
# Copyright: keycloak_ops contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Internal to keycloak_ops.clients: no stability promise. Modules and plugins of other collections
# must not import it; its names and signatures change whenever the collection needs them to.
"""The transport of self-registration: calls of the Client Registration Service
(/realms/<realm>/clients-registrations/<provider>), each sent once with the bearer token it needs."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import http.client
import socket
import ssl
from urllib.error import HTTPError, URLError

from ansible.module_utils.common.text.converters import to_text
from ansible.module_utils.urls import Request, SSLValidationError

from ansible_collections.keycloak_ops.clients.plugins.module_utils._core.connection import segment
from ansible_collections.keycloak_ops.clients.plugins.module_utils._core.connection_options import normalize_base_url
from ansible_collections.keycloak_ops.clients.plugins.module_utils._core.errors import KeycloakOpsError, OutcomeUnknown
from ansible_collections.keycloak_ops.clients.plugins.module_utils._core.http_errors import (
    one_line, response_detail, timeout_message, tls_error_message,
)
from ansible_collections.keycloak_ops.clients.plugins.module_utils._core.masking import collect_secrets
from ansible_collections.keycloak_ops.clients.plugins.module_utils._registration.metadata import CLIENT_ID_KEY, SAML
from ansible_collections.keycloak_ops.clients.plugins.module_utils._registration.refusals import (
    REFUSALS, RegistrationError, StaleToken, refusal_message,
)


class LostAnswer(Exception):
    """A write left for Keycloak and no answer came back (see OutcomeUnknown)."""


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


class RegistrationService(object):
    """Calls of the Client Registration Service, each with the bearer token it needs.

    The transport is ansible.module_utils.urls, so the module runs on any host with Python and nothing else
    (the hosts that register are application hosts, not controllers). Each request is sent once: a registration
    or an update that is sent again would register twice or meet a registration access token it already killed.
    """

    def __init__(self, params, realm, provider, hide=None):
        """hide: called with the secrets of every answer (the registration access token, the client secret, private
        keys) as soon as it arrives, so nothing that fails later can show them."""
        self.hide = hide
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
            raise KeycloakOpsError(tls_error_message(self.base_url, exc)) from exc
        except URLError as exc:
            if isinstance(exc.reason, ssl.SSLError):
                raise KeycloakOpsError(tls_error_message(self.base_url, exc.reason)) from exc
            if isinstance(exc.reason, socket.timeout):
                raise KeycloakOpsError(timeout_message(self.base_url, self.timeout)) from exc
            raise KeycloakOpsError("Cannot reach Keycloak at %s: %s" % (self.base_url, one_line(exc.reason, 160))) from exc
        except socket.timeout:
            if method != 'GET':
                raise LostAnswer("no answer within %s seconds (connection_timeout)" % self.timeout) from None
            raise KeycloakOpsError(timeout_message(self.base_url, self.timeout)) from None
        except (IOError, OSError, http.client.HTTPException) as exc:
            # urllib wraps failures before the request left in URLError (above); these came after it was sent.
            if method != 'GET':
                raise LostAnswer("the connection broke before the answer arrived (%s)" % one_line(repr(exc), 80)) from exc
            raise KeycloakOpsError("Cannot reach Keycloak at %s: %s" % (self.base_url, one_line(exc, 160))) from exc
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
                                     LOST_ANSWER_ADVICE[kind] % dict(client=client_id or named or '?',
                                                                     realm=self.realm))) from exc
        if status in (200, 201, 204):
            if self.hide is not None:
                self.hide(collect_secrets(data))
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
