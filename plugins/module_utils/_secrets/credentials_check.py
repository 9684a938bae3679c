# -*- coding: utf-8 -*-
# Copyright: keycloak_ops contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Internal to keycloak_ops.clients: no stability promise. Modules and plugins of other collections
# must not import it; its names and signatures change whenever the collection needs them to.
"""The run of client_credentials_check: each client asks its realm's token endpoint for a client-credentials token
with its secret, as its consumer would, a few at a time over one session with the connection options of every
module (URL, CA, client certificate); the result says per client whether a token came, and why not, never the
secret or the token."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import re
import traceback
from typing import Optional
from urllib.parse import quote, quote_plus

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.keycloak_ops.clients.plugins.module_utils._core.connection_options import (
    check_files, normalize_base_url,
)
from ansible_collections.keycloak_ops.clients.plugins.module_utils._core.errors import KeycloakOpsError
from ansible_collections.keycloak_ops.clients.plugins.module_utils._core.http_errors import (
    connection_error_message, one_line, response_detail, says_realm_missing,
)
from ansible_collections.keycloak_ops.clients.plugins.module_utils._core.parallel import run_bounded

REQUESTS_IMPORT_ERROR: Optional[str] = None
try:
    import requests
except ImportError:
    REQUESTS_IMPORT_ERROR = traceback.format_exc()

AUTH_METHODS = ('client_secret_basic', 'client_secret_post')
# A client registered with one method is refused the other (measured on Keycloak 26.6 and 26.7): "Invalid method used
# to get client secret. Client requires method 'client_secret_post' to obtain client secret from the request".
REQUIRED_METHOD = re.compile(r"requires method '([a-z_]+)'")

CHECK_ITEM = dict(
    client_id=dict(type='str', aliases=['clientId']),
    realm=dict(type='str'),
    secret=dict(type='str', no_log=True, aliases=['client_secret']),
    auth_method=dict(type='str', choices=['auto'] + list(AUTH_METHODS), default='auto'),
)

# Keys of the results of client_secret and confidential_client and of the client_credentials filter's entries, so
# that those can be checked as they are; they say nothing to the check.
RESULT_KEYS = frozenset(('id', 'changed', 'action', 'reason', 'graceful', 'created_at', 'expires_at',
                         'rotated_expires_at', 'rotation_policy', 'token_url', 'issuer_url', 'state', 'diff'))


def basic_authorization(client_id, secret):
    """RFC 6749 2.3.1: both are form-encoded before they are joined; Keycloak decodes them so."""
    pair = '%s:%s' % (quote_plus(client_id), quote_plus(secret))
    return 'Basic ' + base64.b64encode(pair.encode('utf-8')).decode('ascii')


class CredentialsCheck(object):
    """Token requests of many clients over one HTTP session; transport failures raise, refusals are results."""

    def __init__(self, params):
        self.base_url = normalize_base_url(params['auth_keycloak_url'])
        self.timeout = params.get('connection_timeout') or 10
        check_files(params)
        self.session = requests.Session()
        # Given with every request: requests lets REQUESTS_CA_BUNDLE override a session's own verify.
        self.verify = params.get('ca_path') or params.get('validate_certs', True)
        self.cert = None
        if params.get('client_cert'):
            self.cert = (params['client_cert'], params['client_key']) if params.get('client_key') else params['client_cert']

    def token_url(self, realm):
        return '%srealms/%s/protocol/openid-connect/token' % (self.base_url, quote(str(realm), safe=''))

    def _request(self, url, client_id, secret, method):
        """(status, body) of one token request; sent once (a failed one is not repeated by the transport)."""
        form = {'grant_type': 'client_credentials'}
        headers = {'Accept': 'application/json'}
        if method == 'client_secret_basic':
            headers['Authorization'] = basic_authorization(client_id, secret)
        else:
            form.update(client_id=client_id, client_secret=secret)
        try:
            response = self.session.post(url, data=form, headers=headers, timeout=self.timeout, allow_redirects=False,
                                         verify=self.verify, cert=self.cert)
        except requests.RequestException as exc:
            raise KeycloakOpsError(connection_error_message(exc, self.base_url.rstrip('/'), self.timeout)) from None
        try:
            body = response.json()
        except ValueError:
            body = response.text
        return response.status_code, body

    def check(self, item):
        """One client's result: ok, the method used, and a one-line reason when no token came."""
        realm, client_id, method = item['realm'], item['client_id'], item['auth_method']
        result = dict(client_id=client_id, realm=realm, ok=False, auth_method=None, status=None, error=None)
        if not item.get('secret'):
            result['error'] = 'no secret given'
            return result
        url = self.token_url(realm)
        used = AUTH_METHODS[0] if method == 'auto' else method
        status, body = self._request(url, client_id, item['secret'], used)
        if method == 'auto' and status != 200:
            # The client tells which method it was registered with: ask once more, that way.
            wanted = REQUIRED_METHOD.search(str(body.get('error_description') if isinstance(body, dict) else body))
            if wanted and wanted.group(1) in AUTH_METHODS and wanted.group(1) != used:
                used = wanted.group(1)
                status, body = self._request(url, client_id, item['secret'], used)
        result.update(auth_method=used, status=status)
        if status == 200 and isinstance(body, dict) and body.get('access_token'):
            result['ok'] = True
        elif status == 404 and says_realm_missing(str(body)):
            result['error'] = "realm '%s' does not exist (HTTP 404 from %s)" % (realm, url)
        else:
            result['error'] = one_line('HTTP %s %s' % (status, response_detail(body if body else '')), 200)
        return result


def run_credentials_check(module):
    """Check every client's secret at the token endpoint, a few at a time; a KeycloakModule."""
    if REQUESTS_IMPORT_ERROR:
        module.fail_json(msg=missing_required_lib('requests'), exception=REQUESTS_IMPORT_ERROR)
    if module.params.get('clients'):
        module.params['clients'] = [{k: v for k, v in raw.items() if k not in RESULT_KEYS} if isinstance(raw, dict)
                                    else raw for raw in module.params['clients']]
    items = module.items()
    module.hide((item.get('secret') for item in items), declared=True)
    with module.failing():
        checker = CredentialsCheck(module.params)
    done, failed = run_bounded(lambda index: checker.check(items[index]), range(len(items)), KeycloakOpsError)
    if failed:
        index = min(failed)
        module.fail_json(msg='%s: %s' % (module.label(index, items[index]), failed[index]))
    results = [done[index] for index in range(len(items))]
    for result in results:
        result['changed'] = False
    refused = [(module.label(i, items[i]), r['error']) for i, r in enumerate(results) if not r['ok']]
    if refused:
        module.fail_json(msg='%d of %d clients got no token: %s' % (
            len(refused), len(results), '; '.join('%s: %s' % pair for pair in refused)),
            clients=results, **({} if module.many else {k: v for k, v in results[0].items() if k != 'changed'}))
    module.exit_items(results)
