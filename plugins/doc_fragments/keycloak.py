# -*- coding: utf-8 -*-
# Copyright: keycloak_ops contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # Option names follow community.general's Keycloak modules so that a
    # module_defaults block written for them carries over unchanged, and the
    # environment variables follow terraform-provider-keycloak.
    # The options that reach the server. Every module extends this; modules that log in as an admin
    # extend DOCUMENTATION (the credentials) too, client_registration does not.
    SERVER = r"""
options:
  auth_keycloak_url:
    description:
      - Base URL of the Keycloak server, for example V(https://sso.example.com).
      - A path prefix such as the legacy V(/auth) or a reverse-proxy path is kept,
        with or without a trailing slash.
      - If not set, the value of the E(KEYCLOAK_URL) environment variable is used.
    type: str
    required: true
    aliases:
      - url
  validate_certs:
    description:
      - Verify the TLS certificate of the server.
      - Prefer O(ca_path) for a private CA; disable only for throwaway test servers.
      - If not set, the value of the E(KEYCLOAK_VALIDATE_CERTS) environment variable is used.
    type: bool
    default: true
  ca_path:
    description:
      - PEM file of the CA certificates that signed the server certificate.
      - If not set, the value of the E(KEYCLOAK_CA_PATH) environment variable is used.
    type: path
  client_cert:
    description:
      - PEM client certificate for mutual TLS with the server (or the proxy in front of it).
      - If not set, the value of the E(KEYCLOAK_CLIENT_CERT) environment variable is used.
    type: path
  client_key:
    description:
      - PEM private key of O(client_cert).
      - If not set, the value of the E(KEYCLOAK_CLIENT_KEY) environment variable is used.
    type: path
  connection_timeout:
    description:
      - Seconds to wait for the server on each request.
      - Modules with admin credentials retry connection errors and HTTP 502, 503 and 504 answers up to three
        times with backoff; M(keycloak_ops.clients.client_registration) sends each request once.
    type: int
    default: 10
"""

    DOCUMENTATION = r"""
options:
  auth_realm:
    description:
      - Realm in which the credentials below authenticate (not necessarily the realm being managed).
      - If not set, the value of the E(KEYCLOAK_REALM) environment variable is used, and V(master) without it.
    type: str
  auth_client_id:
    description:
      - OpenID Connect client used to obtain the admin token.
      - If not set, the value of the E(KEYCLOAK_CLIENT_ID) environment variable is used, and V(admin-cli) without it.
    type: str
  auth_client_secret:
    description:
      - Secret of O(auth_client_id).
      - Without O(auth_username), the token is obtained with the client-credentials grant of this
        client's service account. This is the recommended mode for AWX/AAP; give the service account
        only the realm-management roles its tasks need, which each module's notes name (C(manage-clients) for
        clients, their secrets and client scopes).
      - If not set, the value of the E(KEYCLOAK_CLIENT_SECRET) environment variable is used.
    type: str
  auth_username:
    description:
      - Username for the password grant.
      - If not set, the value of the E(KEYCLOAK_USER) environment variable is used.
    type: str
    aliases:
      - username
  auth_password:
    description:
      - Password for the password grant.
      - If not set, the value of the E(KEYCLOAK_PASSWORD) environment variable is used.
    type: str
    aliases:
      - password
  token:
    description:
      - An access token to use as is, instead of logging in.
      - It cannot be renewed, so it must outlive the task.
      - If not set, the value of the E(KEYCLOAK_ACCESS_TOKEN) environment variable is used.
    type: str
requirements:
  - python-keycloak >= 5.0.0
notes:
  - Authentication picks, in order, O(token), the password grant (O(auth_username) and O(auth_password)),
    then the client-credentials grant (O(auth_client_secret)).
  - One token and one HTTP connection pool serve the whole task; an expired token is renewed on the fly.
"""

    # Lookups (and other non-module plugins) read the same options; config entries are not module options,
    # so the variables and ansible.cfg keys they may come from are added here. A lookup extends
    # keycloak_ops.clients.keycloak, keycloak_ops.clients.keycloak.SERVER and keycloak_ops.clients.keycloak.PLUGINS.
    # Secrets (auth_client_secret, auth_password, token) are only taken from the environment, never from ansible.cfg.
    PLUGINS = r"""
options:
  auth_keycloak_url:
    env:
      - name: KEYCLOAK_URL
    ini:
      - section: keycloak_ops_clients
        key: url
  auth_realm:
    env:
      - name: KEYCLOAK_REALM
    ini:
      - section: keycloak_ops_clients
        key: auth_realm
  auth_client_id:
    env:
      - name: KEYCLOAK_CLIENT_ID
    ini:
      - section: keycloak_ops_clients
        key: auth_client_id
  auth_client_secret:
    env:
      - name: KEYCLOAK_CLIENT_SECRET
  auth_username:
    env:
      - name: KEYCLOAK_USER
    ini:
      - section: keycloak_ops_clients
        key: auth_username
  auth_password:
    env:
      - name: KEYCLOAK_PASSWORD
  token:
    env:
      - name: KEYCLOAK_ACCESS_TOKEN
  validate_certs:
    env:
      - name: KEYCLOAK_VALIDATE_CERTS
    ini:
      - section: keycloak_ops_clients
        key: validate_certs
  ca_path:
    env:
      - name: KEYCLOAK_CA_PATH
    ini:
      - section: keycloak_ops_clients
        key: ca_path
  client_cert:
    env:
      - name: KEYCLOAK_CLIENT_CERT
    ini:
      - section: keycloak_ops_clients
        key: client_cert
  client_key:
    env:
      - name: KEYCLOAK_CLIENT_KEY
    ini:
      - section: keycloak_ops_clients
        key: client_key
  connection_timeout:
    ini:
      - section: keycloak_ops_clients
        key: connection_timeout
"""

    # The community.general options that mean nothing here, taken by the modules of the action group (the ones
    # module_defaults carried over from community.general reach) and ignored with a warning.
    ACTIONGROUPS = r"""
options:
  http_agent:
    description:
      - Accepted so that C(module_defaults) written for the community.general keycloak modules keep working,
        and ignored; a module warns when it is set. See the collection's guide
        C(docs/migrating-from-community-general.md).
    type: str
    version_added: 2.0.0
  refresh_token:
    description:
      - Accepted so that C(module_defaults) written for the community.general keycloak modules keep working,
        and ignored; a module warns when it is set. Tokens are obtained and renewed from the credentials of the
        connection options (or given as O(token)).
    type: str
    version_added: 2.0.0
attributes:
  action_group:
    description: Use C(group/keycloak_ops.clients.keycloak) in C(module_defaults) to set defaults for this module.
    support: full
    membership:
      - keycloak_ops.clients.keycloak
"""
