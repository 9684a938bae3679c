# -*- coding: utf-8 -*-
# Copyright: keycloak_ops contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Internal to keycloak_ops.clients: no stability promise. Modules and plugins of other collections
# must not import it; its names and signatures change whenever the collection needs them to.
"""One-line messages for what goes wrong on the way to Keycloak and back: TLS, timeouts, refused connections,
error answers, and the admin role a 403 most likely lacks. Shared by the admin API session (_core/connection.py) and
the Client Registration Service transport (_registration/service.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re
import ssl

try:
    from requests import exceptions as requests_errors
except ImportError:
    # Hosts that only self-register have no requests; only the admin API session needs it (_core/connection.py).
    requests_errors = None  # type: ignore[assignment]

ERROR_TEXT_LIMIT = 300


def one_line(text, limit=ERROR_TEXT_LIMIT):
    text = ' '.join(str(text).split())
    return text if len(text) <= limit else text[:limit - 3] + '...'


def required_role(method, path):
    """The realm-management role a 403 most likely lacks, so the message can name it."""
    write = method != 'GET'
    if '/clients-initial-access' in path:
        # Measured on Keycloak 26: create-client alone is refused; minting needs manage-clients (listing, which
        # the module does first, needs view-clients, which manage-clients implies).
        return 'manage-clients'
    if '/client-policies' in path or path.rstrip('/').count('/') <= 2 and write:
        return 'manage-realm'
    if '/authz/' in path:
        # Measured on Keycloak 26.7: view-clients alone may not even read a resource server's export.
        return 'manage-clients'
    if '/group-by-path' in path:
        return 'view-users'  # measured on 26.7: query-groups is not enough
    if '/users' in path or '/role-mappings' in path:
        return 'manage-users' if write else 'view-users'
    # The realm's default client scopes (default-default-client-scopes) too: measured on Keycloak 26, manage-clients
    # sets them and manage-realm does not.
    if '/clients' in path or 'client-scopes' in path:
        return 'manage-clients' if write else 'view-clients'
    if '/roles' in path:
        return 'manage-realm' if write else 'view-realm'
    return 'manage-realm' if write else 'view-realm'


def response_detail(body):
    """Keycloak errors come as {error, error_description} or {errorMessage}; fall back to raw text."""
    if isinstance(body, bytes):
        body = body.decode('utf-8', 'replace')
    try:
        data = json.loads(body) if isinstance(body, str) else body
    except ValueError:
        return one_line(body or '')
    if not isinstance(data, dict):
        return one_line(body)
    parts = [data.get('error'), data.get('error_description'), data.get('errorMessage')]
    return one_line(': '.join(str(p) for p in parts if p) or json.dumps(data))


def says_realm_missing(body):
    """Keycloak names a missing realm ('Realm does not exist', 'Realm not found.'); a wrong URL path answers
    'Unable to find matching target resource method' instead."""
    if isinstance(body, bytes):
        body = body.decode('utf-8', 'replace')
    text = (body or '').lower()
    return 'realm' in text and ('not found' in text or 'does not exist' in text)


def tls_error_message(url, exc):
    return ("TLS verification failed for %s: %s. Set ca_path (or KEYCLOAK_CA_PATH) to the CA bundle that "
            "signed the server certificate; validate_certs: false only for throwaway servers"
            % (url, one_line(_ssl_reason(exc), 160)))


def timeout_message(url, timeout):
    return "Keycloak at %s did not answer within %s seconds (connection_timeout)" % (url, timeout)


def connection_error_message(exc, url, timeout):
    """Turn a transport failure into advice; the cause chain tells TLS, timeout and refusal apart."""
    cause = exc
    while cause is not None and not isinstance(cause, requests_errors.RequestException):
        cause = cause.__cause__ or cause.__context__
    if isinstance(cause, requests_errors.SSLError) and _speaks_plain_http(cause):
        return ("%s answered the TLS handshake in plain HTTP: the port serves http, not https. Use an http:// URL "
                "for it, or the port where Keycloak serves https" % url)
    if isinstance(cause, requests_errors.SSLError) and tls_handshake_failed(cause):
        return tls_error_message(url, cause)
    if isinstance(cause, requests_errors.SSLError):
        return "The TLS connection to %s broke after the request was sent: %s" % (url, one_line(connect_reason(cause), 160))
    # Exhausted retries wrap a read timeout in a ConnectionError; the text still tells.
    if isinstance(cause, requests_errors.Timeout) or 'TimeoutError' in str(cause) or 'timed out' in str(cause):
        return timeout_message(url, timeout)
    return "Cannot reach Keycloak at %s: %s" % (url, one_line(connect_reason(cause or exc), 160))


def _speaks_plain_http(exc):
    text = str(exc)
    return 'WRONG_VERSION_NUMBER' in text or 'record layer failure' in text or 'http request' in text.lower()


def request_never_sent(exc):
    """Whether a transport failure happened before the request left (no connection, TLS refused), so a POST
    provably did not reach Keycloak; a dropped connection or a read timeout after sending proves nothing."""
    cause = exc
    while cause is not None and not isinstance(cause, requests_errors.RequestException):
        cause = cause.__cause__ or cause.__context__
    if isinstance(cause, requests_errors.ConnectTimeout):
        return True
    if isinstance(cause, requests_errors.SSLError):
        return tls_handshake_failed(cause)
    reason = getattr(cause.args[0], 'reason', None) if cause is not None and cause.args else None
    return type(reason).__name__ in ('NewConnectionError', 'ConnectTimeoutError', 'NameResolutionError')


def _chain(exc):
    """exc and every exception it wraps: causes, contexts, and the errors urllib3 and requests keep in args/reason."""
    seen: list = []
    todo = [exc]
    while todo:
        current = todo.pop()
        if not isinstance(current, BaseException) or any(current is s for s in seen):
            continue
        seen.append(current)
        todo.extend([current.__cause__, current.__context__, getattr(current, 'reason', None)] + list(current.args[:1]))
    return seen


def tls_handshake_failed(exc):
    """Whether a TLS error came from the handshake (nothing was sent yet), not from a stream that broke after the
    request left: both reach us as the same SSLError class, so the frames where the ssl module raised it tell."""
    for error in _chain(exc):
        if isinstance(error, ssl.CertificateError):
            return True
        frames = []
        trace = error.__traceback__
        while trace is not None:
            frames.append(trace.tb_frame.f_code.co_name)
            trace = trace.tb_next
        if 'do_handshake' in frames:
            return True
    return False


def _ssl_reason(exc):
    text = str(exc)
    for marker in ('CERTIFICATE_VERIFY_FAILED', 'hostname mismatch', "doesn't match", 'WRONG_VERSION_NUMBER'):
        if marker in text:
            return text[text.index(marker):].split(')', maxsplit=1)[0].split("'", maxsplit=1)[0]
    return text


def connect_reason(exc):
    text = str(exc)
    tls = re.search(r'\[SSL: ([A-Z0-9_]+)\]', text)
    if tls and not tls_handshake_failed(exc):
        return 'TLS error %s' % tls.group(1)
    for marker in ('Connection refused', 'Remote end closed connection without response', 'Connection reset by peer',
                   'Read timed out', 'Name or service not known', 'nodename nor servname',
                   'No route to host', 'Temporary failure in name resolution'):
        if marker in text:
            return marker
    return text
