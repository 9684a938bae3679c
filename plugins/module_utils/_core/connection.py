# -*- coding: utf-8 -*-
# Copyright: keycloak_ops contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Internal to keycloak_ops.clients: no stability promise. Modules and plugins of other collections
# must not import it; its names and signatures change whenever the collection needs them to.
"""The one place that talks to the admin API: options, authentication, one session, retries; the messages of
its failures are in _core/http_errors.py."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import threading
import traceback
from datetime import datetime, timezone
from typing import Optional

from urllib.parse import quote, urljoin

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.keycloak_ops.clients.plugins.module_utils._core.connection_options import check_files, normalize_base_url
from ansible_collections.keycloak_ops.clients.plugins.module_utils._core.errors import KeycloakOpsError, OutcomeUnknown, Unavailable
from ansible_collections.keycloak_ops.clients.plugins.module_utils._core.http_errors import (
    connect_reason, connection_error_message, one_line, request_never_sent, required_role, response_detail,
    says_realm_missing,
)

KEYCLOAK_IMPORT_ERROR: Optional[str] = None
try:
    from keycloak import KeycloakOpenIDConnection
    from keycloak.exceptions import KeycloakConnectionError, KeycloakError
    from requests.exceptions import RequestException
    from urllib3.util.retry import Retry
except ImportError:
    KEYCLOAK_IMPORT_ERROR = traceback.format_exc()
    Retry = object  # type: ignore[assignment,misc]

RETRIED_STATUSES = (502, 503, 504)
RETRY_COUNT = 3
# Requests that may be sent again after a lost answer or a 502/503/504: repeating them changes nothing more.
# POST is left out: it creates a client, regenerates a secret or mints a token, and a second one would do it
# twice. A POST is retried only when the connection failed before the request was sent (urllib3's connect
# counter), which never reached Keycloak. See docs/retries.md.
RETRIED_METHODS = frozenset(('GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS'))
# Keycloak's token lifetime bounds a given token; we cannot renew it, so treat it as long-lived.
GIVEN_TOKEN_LIFETIME = 10 * 365 * 24 * 3600


class SentOnceRetry(Retry):
    """urllib3's Retry, except that a failure it does not classify is treated as a failure after sending.

    urllib3 retries a connect failure (the request never left), a read failure (it may have arrived) only for the
    allowed methods, and any other failure for every method: a TLS error while the answer is read is such an
    "other" failure, so a POST that Keycloak received would be sent again. Only the connect counter may resend
    a request that is not in allowed_methods.
    """

    def _is_read_error(self, err):
        return not self._is_connection_error(err)


def segment(value):
    """Quote one path segment: client ids may hold '/', ':' or spaces."""
    return quote(str(value), safe='')


class KeycloakAPI(object):
    """An authenticated session: one token and one connection pool for a whole module run."""

    def __init__(self, params):
        self.base_url = normalize_base_url(params['auth_keycloak_url'])
        self.auth_realm = params.get('auth_realm') or 'master'
        self.timeout = params.get('connection_timeout') or 10
        self.identity = self._describe_identity(params)
        self.username = None if params.get('token') else params.get('auth_username')
        check_files(params)
        verify = params.get('ca_path') or params.get('validate_certs', True)
        cert = None
        if params.get('client_cert'):
            cert = (params['client_cert'], params['client_key']) if params.get('client_key') else params['client_cert']
        retry = SentOnceRetry(total=RETRY_COUNT, connect=RETRY_COUNT, read=1, status=RETRY_COUNT, backoff_factor=0.5,
                              status_forcelist=RETRIED_STATUSES, allowed_methods=RETRIED_METHODS, raise_on_status=False)
        given_token = params.get('token')
        self.connection = KeycloakOpenIDConnection(
            server_url=self.base_url,
            realm_name=self.auth_realm,
            client_id=params.get('auth_client_id') or 'admin-cli',
            client_secret_key=params.get('auth_client_secret'),
            username=None if given_token else params.get('auth_username'),
            password=None if given_token else params.get('auth_password'),
            token={'access_token': given_token, 'expires_in': GIVEN_TOKEN_LIFETIME} if given_token else None,
            verify=verify,
            cert=cert,
            timeout=self.timeout,
            max_retries=retry,  # type: ignore[arg-type]  # typed int, handed on to requests' HTTPAdapter
        )
        # Requests go out on python-keycloak's pool, with headers of their own (_send).
        self._session = self.connection._s
        # python-keycloak adds POST to the allowed methods of the Retry it is given: mount a copy without it, on
        # the admin session and on the token endpoint's (a token request is a POST too: sent once).
        sessions = [self._session]
        if given_token:
            self.connection.grant_type = None
        else:
            sessions.append(self.connection.keycloak_openid.connection._s)
        for session in sessions:
            for adapter in session.adapters.values():
                adapter.max_retries = retry.new(allowed_methods=RETRIED_METHODS)  # type: ignore[attr-defined]
        # Worker threads share this session: python-keycloak renews the token by replacing it, so two threads
        # finding it expired would both renew it with the one refresh token. One renewal at a time.
        self._token_lock = threading.Lock()
        self.auth_mode = 'token' if given_token else self.connection.grant_type
        if not self.auth_mode:
            raise KeycloakOpsError(
                "No Keycloak credentials: set auth_username and auth_password, auth_client_secret, or token "
                "(or KEYCLOAK_USER/KEYCLOAK_PASSWORD, KEYCLOAK_CLIENT_SECRET, KEYCLOAK_ACCESS_TOKEN)")

    @staticmethod
    def _describe_identity(params):
        if params.get('token'):
            return 'the given token'
        if params.get('auth_username'):
            return "user '%s'" % params['auth_username']
        return "client '%s'" % (params.get('auth_client_id') or 'admin-cli')

    def login(self):
        """Fetch the token now, so bad credentials fail before any other request."""
        if self.auth_mode == 'token':
            return
        with self._token_lock:
            self._renew(self.connection.get_token)

    def access_token(self):
        token = self.connection.token or {}
        return token.get('access_token') if isinstance(token, dict) else None

    def _renew(self, renewal):
        """Run a python-keycloak token call (get_token or refresh_token), its failures as one line."""
        try:
            renewal()
        except KeycloakConnectionError as exc:
            raise Unavailable(connection_error_message(exc, self.base_url, self.timeout)) from exc
        except KeycloakError as exc:
            raise KeycloakOpsError(self._login_error(exc)) from exc

    def _bearer(self):
        """The access token to send, renewed first when it is (nearly) expired or missing."""
        with self._token_lock:
            expires_at = self.connection.expires_at
            if self.auth_mode != 'token' and (self.access_token() is None or expires_at is None
                                              or datetime.now(tz=timezone.utc) >= expires_at):
                # refresh_token() logs in again when there is no refresh token or it expired.
                self._renew(self.connection.refresh_token)
            return self.access_token()

    def _bearer_after_401(self, refused):
        """A token after Keycloak refused `refused`: renewed unless another thread already did."""
        with self._token_lock:
            if self.access_token() == refused:
                self._renew(self.connection.refresh_token)
            return self.access_token()

    def _login_error(self, exc):
        detail = response_detail(exc.response_body)
        code = exc.response_code
        if code == 404 and not says_realm_missing(exc.response_body):
            return ("%s answered 404 for its token endpoint: the URL path is wrong (Keycloak 17+ serves at the root, "
                    "older or relative-path servers under a prefix such as /auth); fix auth_keycloak_url"
                    % self.base_url)
        if code == 404:
            return "Realm '%s' (auth_realm) does not exist on %s" % (self.auth_realm, self.base_url)
        if code in (400, 401):
            return ("Keycloak rejected the %s login of %s in realm '%s' (HTTP %s %s): check the credentials"
                    % ((self.auth_mode or '').replace('_', '-'), self.identity, self.auth_realm, code, detail))
        return "Login to %s failed with HTTP %s: %s" % (self.base_url, code, detail)

    # -- requests -----------------------------------------------------------------------------

    def request(self, method, path, body=None, params=None, expected=(200, 201, 204), absent_ok=False,
                content_type=None, check_hint=None):
        """Send one request; return (status, parsed body, headers); raise KeycloakOpsError on anything else.

        absent_ok: a 404 answers (404, None, headers) instead of failing (lookups of things that may not exist).
        content_type: send body (a str) as it is, with this Content-Type, instead of as JSON.
        check_hint: for a POST, how a person checks what happened when its answer is lost (OutcomeUnknown).
        """
        if body is None and method in ('GET', 'DELETE'):
            data = None
        elif content_type is not None:
            data = body
        else:
            data = json.dumps(body) if body is not None else ''
        try:
            token = self._bearer()
            response = self._send(method, path, data, params, content_type, token)
            # A 401 means Keycloak did nothing: send once more with a renewed token (a given token cannot be renewed).
            if response.status_code == 401 and self.auth_mode != 'token':
                response = self._send(method, path, data, params, content_type, self._bearer_after_401(token))
        except RequestException as exc:
            if method not in RETRIED_METHODS and not request_never_sent(exc):
                raise OutcomeUnknown(
                    "the outcome of %s %s is unknown: the request was sent but the connection to %s broke before "
                    "Keycloak's answer arrived (%s), so it was not sent again; %s"
                    % (method, '/' + path, self.base_url, one_line(connect_reason(exc), 80),
                       check_hint or 'read the object back before running the task again')) from exc
            raise Unavailable(connection_error_message(exc, self.base_url, self.timeout)) from exc
        status = response.status_code
        if status in expected:
            return status, self._parse(response), response.headers
        if status == 404 and absent_ok and not self._realm_missing(response):
            return status, None, response.headers
        error = Unavailable if status in RETRIED_STATUSES else KeycloakOpsError
        raise error(self.http_error_message(method, path, status, response))

    def _send(self, method, path, data, params, content_type, token):
        """One request on the shared pool; its headers are its own, so threads never see each other's."""
        headers = {'Content-Type': content_type or 'application/json'}
        if token:
            headers['Authorization'] = 'Bearer ' + token
        return self._session.request(method, urljoin(self.base_url, path), params=params, data=data, headers=headers,
                                     timeout=self.timeout, verify=self.connection.verify, cert=self.connection.cert)

    @staticmethod
    def _parse(response):
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            return response.text

    @staticmethod
    def _realm_missing(response):
        return says_realm_missing(response.content)

    def http_error_message(self, method, path, status, response):
        detail = response_detail(response.content)
        where = '%s %s' % (method, '/' + path.split('?')[0])
        if status == 401:
            return ("Keycloak no longer accepts the token of %s (HTTP 401 on %s): it expired or was revoked"
                    % (self.identity, where))
        if status == 403:
            realm = path.split('/')[2] if path.startswith('admin/realms/') else self.auth_realm
            return ("Forbidden (HTTP 403 on %s): %s lacks the '%s' role of realm-management in realm '%s'"
                    % (where, self.identity, required_role(method, path), realm))
        if status == 404 and self._realm_missing(response) and path.startswith('admin/realms/'):
            return "Realm '%s' does not exist on %s" % (path.split('/')[2], self.base_url)
        if status == 404 and 'matching target resource' in detail:
            return ("%s has no admin API at %s (HTTP 404): the URL path is wrong; fix auth_keycloak_url"
                    % (self.base_url, where))
        return "Keycloak answered HTTP %s to %s: %s" % (status, where, detail or response.reason)

    def get(self, path, params=None, absent_ok=False):
        return self.request('GET', path, params=params, absent_ok=absent_ok)[1]

    def post(self, path, body=None, expected=(200, 201, 204), check_hint=None):
        return self.request('POST', path, body=body, expected=expected, check_hint=check_hint)

    def put(self, path, body):
        return self.request('PUT', path, body=body)[1]

    def delete(self, path, absent_ok=True):
        return self.request('DELETE', path, absent_ok=absent_ok)[0] != 404


def admin_path(realm, *parts):
    """admin/realms/<realm>/<parts...> with every segment quoted."""
    return '/'.join(['admin/realms', segment(realm)] + [segment(p) for p in parts])


def find_client(api, realm, client_id):
    """The client with exactly this clientId, or None. Keycloak's clientId query matches exactly (the id is
    URL-encoded by requests), so no list of every client is ever fetched; the check guards older servers."""
    found = api.get(admin_path(realm, 'clients'), params={'clientId': client_id}) or []
    return next((c for c in found if c.get('clientId') == client_id), None)


def connect(module):
    """Authenticated KeycloakAPI for a module, or fail_json with one line."""
    if KEYCLOAK_IMPORT_ERROR:
        module.fail_json(msg=missing_required_lib('python-keycloak'), exception=KEYCLOAK_IMPORT_ERROR)
    try:
        api = KeycloakAPI(module.params)
        api.login()
    except KeycloakOpsError as exc:
        module.fail_json(msg=str(exc))
    return api
