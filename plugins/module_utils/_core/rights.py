# -*- coding: utf-8 -*-
# Copyright: keycloak_ops contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Internal to keycloak_ops.clients: no stability promise. Modules and plugins of other collections
# must not import it; its names and signatures change whenever the collection needs them to.
"""The admin roles an identity holds in a realm, established once per task, so a task refuses before its first
write instead of failing half-way, and a client the identity cannot see is never reported absent.

Where the roles come from, cheapest first:
  1. the access token's resource_access claim (full tokens, e.g. a service account's): no request;
  2. lightweight tokens (admin-cli on Keycloak 26 carries no roles and no subject, and userinfo refuses it):
     the user by name (password grant), the realm's management client, and the user's effective (composite)
     roles of it: three requests, which need view-users in the realm the identity logs in to.
When neither works (a given opaque token, no view-users to read one's own mappings), the roles are unknown and
the task goes on; Keycloak's 403 is then mapped to the missing role as before.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.keycloak_ops.clients.plugins.module_utils._core.connection import admin_path
from ansible_collections.keycloak_ops.clients.plugins.module_utils._core.errors import KeycloakOpsError
from ansible_collections.keycloak_ops.clients.plugins.module_utils._core.tokens import token_claims

# Roles that imply seeing clients: Keycloak lets manage-clients view what it may manage.
VIEW_CLIENTS = ('view-clients', 'manage-clients')
# What holding a role also allows, including granting the implied roles (measured on Keycloak 26.7: an admin
# with manage-users may grant view-users and query-groups, but not view-events, which it does not hold).
IMPLIED = {
    'manage-users': ('view-users', 'query-users', 'query-groups'),
    'view-users': ('query-users', 'query-groups'),
    'manage-clients': ('view-clients', 'query-clients'),
    'view-clients': ('query-clients',),
    'manage-realm': ('view-realm', 'query-realms'),
    'manage-events': ('view-events',),
    'manage-identity-providers': ('view-identity-providers',),
    'manage-authorization': ('view-authorization',),
}


class AdminRights(object):
    """Effective realm-management roles of the API's identity per target realm (None when they cannot be told)."""

    def __init__(self, api):
        self.api = api
        self._roles = {}
        self._can_view = {}
        self.requests = 0  # what establishing the roles cost, for the tests

    def management_client(self, realm):
        """The client holding the admin roles for realm, in the realm the identity logs in to: the master realm
        keeps them, its own included, in '<realm>-realm' clients; other realms in 'realm-management'."""
        if self.api.auth_realm == 'master':
            return '%s-realm' % realm
        if self.api.auth_realm == realm:
            return 'realm-management'
        return None

    def roles(self, realm):
        if realm not in self._roles:
            self._roles[realm] = self._read_roles(realm)
        return self._roles[realm]

    def _read_roles(self, realm):
        owner = self.management_client(realm)
        if owner is None:
            return set()
        claims = token_claims(self.api.access_token())
        if 'resource_access' in claims or 'realm_access' in claims:
            held = set(((claims.get('resource_access') or {}).get(owner) or {}).get('roles') or [])
        else:
            try:
                held = self._roles_from_mappings(owner, claims.get('sub'))
            except KeycloakOpsError:
                held = None
        if held is None:
            return None
        return held.union(*[IMPLIED.get(role, ()) for role in held])

    def _roles_from_mappings(self, owner, subject):
        auth_realm = self.api.auth_realm
        if not subject and self.api.username:
            self.requests += 1
            users = self.api.get(admin_path(auth_realm, 'users'), params={'username': self.api.username, 'exact': 'true'})
            subject = next((u['id'] for u in users or [] if u.get('username') == self.api.username.lower()), None)
        if not subject:
            return None
        self.requests += 2
        found = self.api.get(admin_path(auth_realm, 'clients'), params={'clientId': owner}) or []
        if not found:
            return None
        mapped = self.api.get(admin_path(auth_realm, 'users', subject, 'role-mappings', 'clients', found[0]['id'],
                                         'composite')) or []
        return {r.get('name') for r in mapped}

    def require(self, realm, needed, why):
        """Fail unless the identity holds one of the roles in needed (a name or a tuple of alternatives)."""
        held = self.roles(realm)
        if held is None:
            return
        alternatives = (needed,) if isinstance(needed, str) else tuple(needed)
        if not held.intersection(alternatives):
            raise KeycloakOpsError(
                "%s lacks the '%s' role of realm-management in realm '%s', which %s"
                % (self.api.identity, alternatives[0], realm, why))

    def require_view(self, realm, why="reading clients needs (with query-clients alone Keycloak hides them)"):
        """Seeing clients (and client scopes): with only query-clients Keycloak answers an empty list for clients
        and client scopes that exist.

        When the roles cannot be read, the realm's management client tells: every realm has it, and Keycloak
        lists it only to an identity that may view clients (one request).
        """
        if self.roles(realm) is not None:
            self.require(realm, VIEW_CLIENTS, why)
            return
        if realm not in self._can_view:
            self.requests += 1
            owner = 'master-realm' if realm == 'master' else 'realm-management'
            self._can_view[realm] = bool(self.api.get(admin_path(realm, 'clients'), params={'clientId': owner}))
        if not self._can_view[realm]:
            raise KeycloakOpsError("%s lacks the 'view-clients' role of realm-management in realm '%s', which %s"
                                   % (self.api.identity, realm, why))
