# -*- coding: utf-8 -*-
# Copyright: keycloak_ops contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Internal to keycloak_ops.clients: no stability promise. Modules and plugins of other collections
# must not import it; its names and signatures change whenever the collection needs them to.
"""The options that say which Keycloak to reach and as whom: one argument spec for every module and the lookup
(documented in doc_fragments/keycloak.py), and the checks of those options made before any request."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
from urllib.parse import urlsplit

from ansible.module_utils.basic import env_fallback

from ansible_collections.keycloak_ops.clients.plugins.module_utils._core.errors import KeycloakOpsError

# Options naming files that requests opens; checked first so a wrong path is named, not an errno.
FILE_OPTIONS = (('ca_path', 'KEYCLOAK_CA_PATH'), ('client_cert', 'KEYCLOAK_CLIENT_CERT'),
                ('client_key', 'KEYCLOAK_CLIENT_KEY'))


def keycloak_argument_spec():
    """Connection options shared by every module and lookup (documented in doc_fragments/keycloak.py)."""
    return dict(
        auth_keycloak_url=dict(type='str', aliases=['url'], required=True, no_log=False,
                               fallback=(env_fallback, ['KEYCLOAK_URL'])),
        auth_realm=dict(type='str', fallback=(env_fallback, ['KEYCLOAK_REALM'])),
        auth_client_id=dict(type='str', fallback=(env_fallback, ['KEYCLOAK_CLIENT_ID'])),
        auth_client_secret=dict(type='str', no_log=True, fallback=(env_fallback, ['KEYCLOAK_CLIENT_SECRET'])),
        auth_username=dict(type='str', aliases=['username'], fallback=(env_fallback, ['KEYCLOAK_USER'])),
        auth_password=dict(type='str', aliases=['password'], no_log=True,
                           fallback=(env_fallback, ['KEYCLOAK_PASSWORD'])),
        token=dict(type='str', no_log=True, fallback=(env_fallback, ['KEYCLOAK_ACCESS_TOKEN'])),
        # An AWX credential can only hand a boolean over as text in the environment.
        validate_certs=dict(type='bool', default=True, fallback=(env_fallback, ['KEYCLOAK_VALIDATE_CERTS'])),
        ca_path=dict(type='path', fallback=(env_fallback, ['KEYCLOAK_CA_PATH'])),
        client_cert=dict(type='path', fallback=(env_fallback, ['KEYCLOAK_CLIENT_CERT'])),
        client_key=dict(type='path', no_log=False, fallback=(env_fallback, ['KEYCLOAK_CLIENT_KEY'])),
        connection_timeout=dict(type='int', default=10),
    )


# Connection options of the community.general keycloak modules that have no meaning here. The admin modules accept
# them, so that module_defaults carried over from community.general keep working, and warn that they are ignored.
IGNORED_OPTIONS = dict(
    http_agent=dict(type='str'),
    refresh_token=dict(type='str', no_log=True),
)
MIGRATION_GUIDE = 'docs/migrating-from-community-general.md'


def ignored_options_warning(params):
    """The one-line warning for the ignored community.general options that are set, or None."""
    given = sorted(name for name in IGNORED_OPTIONS if params.get(name) is not None)
    if not given:
        return None
    return ("%s: option%s of the community.general keycloak modules, ignored by keycloak_ops.clients; remove %s "
            "(see the collection's %s)" % (', '.join(given), 's' if len(given) > 1 else '',
                                           'them' if len(given) > 1 else 'it', MIGRATION_GUIDE))


def normalize_base_url(url):
    """Keep any path prefix: python-keycloak joins with urljoin, which drops a prefix without '/'."""
    parts = urlsplit(url or '')
    if parts.scheme not in ('http', 'https') or not parts.netloc:
        raise KeycloakOpsError("auth_keycloak_url %r is not an http(s) URL such as https://sso.example.com" % (url,))
    return url.rstrip('/') + '/'


def check_files(params):
    """Fail with the option and the path when a TLS file option names a file that cannot be read."""
    for option, variable in FILE_OPTIONS:
        path = params.get(option)
        if not path:
            continue
        if not os.path.isfile(path):
            raise KeycloakOpsError("%s (or %s): file '%s' does not exist" % (option, variable, path))
        if not os.access(path, os.R_OK):
            raise KeycloakOpsError("%s (or %s): file '%s' is not readable by this user" % (option, variable, path))
    if params.get('client_key') and not params.get('client_cert'):
        raise KeycloakOpsError("client_key is set without client_cert: give the certificate too")
