# -*- coding: utf-8 -*-
# Copyright: keycloak_ops contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Internal to keycloak_ops.clients: no stability promise. Modules and plugins of other collections
# must not import it; its names and signatures change whenever the collection needs them to.
"""Client secrets through the admin API: read (never a masked value or a vault reference), regenerate, retire,
their times and age, and the client-policy calls of graceful rotation (the documents: _secrets/rotation_policy.py).

SecretManager serves a module run or a lookup on one KeycloakAPI session; the run of client_secret that plans
and applies rotations is in _secrets/rotation.py. Clients of many items are found together (ClientReads: the realm's
listing where that is cheaper than a query each); their full representation holds the secret and, as the
attribute ROTATED, the rotated secret, so a secret costs a request of its own only where the representation
lacks it (an identity shown a mask).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.keycloak_ops.clients.plugins.module_utils._clients.reads import ClientReads
from ansible_collections.keycloak_ops.clients.plugins.module_utils._core.connection import admin_path
from ansible_collections.keycloak_ops.clients.plugins.module_utils._core.errors import KeycloakOpsError
from ansible_collections.keycloak_ops.clients.plugins.module_utils._core.http_errors import response_detail
from ansible_collections.keycloak_ops.clients.plugins.module_utils._core.durations import iso_time
from ansible_collections.keycloak_ops.clients.plugins.module_utils._secrets.rotation_policy import (
    POLICY_ATTRIBUTE, ROTATION_EXECUTOR,
)

# Client attributes Keycloak keeps about the secret (epoch seconds, as strings).
CREATED = 'client.secret.creation.time'
EXPIRES = 'client.secret.expiration.time'
ROTATED_CREATED = 'client.secret.rotated.creation.time'
ROTATED_EXPIRES = 'client.secret.rotated.expiration.time'
# The rotated secret itself (measured on Keycloak 26.7: in the representation of a single client and of the listing).
ROTATED = 'client.secret.rotated'


def epoch(attributes, key):
    try:
        value = (attributes or {}).get(key)
        return None if value is None else int(value)
    except (TypeError, ValueError):
        return None


def secret_age(attributes, now):
    """Seconds since Keycloak created the current secret, or None when it did not record the time."""
    created = epoch(attributes, CREATED)
    return None if created is None else max(0, int(now) - created)


def is_masked(value):
    """Keycloak >= 26.8 answers '**********' instead of the secret to an admin without manage-clients."""
    return isinstance(value, str) and bool(value) and value.strip('*') == ''


def is_vault_reference(value):
    """A secret kept in Keycloak's vault: the admin API answers the reference, not the value."""
    return isinstance(value, str) and value.startswith('${vault.') and value.endswith('}')


class SecretManager(object):
    """Secret reads and writes of one module run (or lookup), on one KeycloakAPI session."""

    def __init__(self, api):
        self.api = api
        self.reads = ClientReads(api)
        self.rights = self.reads.rights

    def prefetch(self, items):
        """Find the clients of many items ({realm, client_id}) at once, before find_client() asks for each."""
        self.reads.prefetch(items)

    def find_client(self, realm, client_id):
        """The confidential client with exactly this clientId (Keycloak's clientId query is an exact match)."""
        client = self.reads.find_client(realm, client_id)
        # Messages leave out the client id: callers prefix it (with the item index of a list).
        if client is None:
            # Only now are the roles read: an identity that cannot view clients is told so, not "no such client".
            self.rights.require_view(realm)
            raise KeycloakOpsError("no such client in realm '%s' (client ids are case-sensitive)" % realm)
        if client.get('publicClient'):
            raise KeycloakOpsError("is a public client in realm '%s'; public clients have no secret" % realm)
        return client

    def _secret_path(self, realm, client, *more):
        return admin_path(realm, 'clients', client['id'], 'client-secret', *more)

    def _checked(self, value, realm, what='secret'):
        if is_masked(value):
            raise KeycloakOpsError(
                "Keycloak answered a masked %s ('%s') instead of the value: %s lacks the 'manage-clients' role of "
                "realm-management in realm '%s', which reading a client secret needs (view-clients only shows the mask)"
                % (what, value, self.api.identity, realm))
        if is_vault_reference(value):
            raise KeycloakOpsError("the %s is the vault reference %s: Keycloak resolves it from its vault, "
                                   "read it there" % (what, value))
        if not value:
            raise KeycloakOpsError("Keycloak returned no %s (realm '%s')" % (what, realm))
        return value

    def read_secret(self, realm, client):
        return self._checked((self.api.get(self._secret_path(realm, client)) or {}).get('value'), realm)

    def current_secret(self, realm, client):
        """The secret from the client's representation; read on its own where the representation lacks it or shows a
        mask (the read then fails naming the missing role)."""
        value = client.get('secret')
        if value and not is_masked(value):
            return self._checked(value, realm)
        return self.read_secret(realm, client)

    def rotated_secret(self, realm, client):
        """The rotated secret from the client's attributes, or None when the attributes say there is none."""
        attributes = client.get('attributes') or {}
        if not attributes.get(ROTATED_CREATED):
            return None
        value = attributes.get(ROTATED)
        if value and not is_masked(value):
            return self._checked(value, realm, 'rotated secret')
        return self.read_rotated(realm, client)

    def read_rotated(self, realm, client):
        """The rotated (previous) secret, or None: Keycloak answers 404 when there is none."""
        body = self.api.get(self._secret_path(realm, client, 'rotated'), absent_ok=True)
        if body is None:
            return None
        return self._checked(body.get('value'), realm, 'rotated secret')

    def regenerate(self, realm, client):
        hint = ("read the secret with client_secret_info: if it is not the one the consumers hold, it was regenerated; "
                "deliver it rather than regenerating again")
        answer = self.api.post(self._secret_path(realm, client), check_hint=hint)[1] or {}
        return self._checked(answer.get('value'), realm)

    def retire(self, realm, client):
        self.api.delete(self._secret_path(realm, client, 'rotated'))

    def info(self, realm, client_id, now):
        """What client_secret_info returns for one client: the secret, its times and the rotated secret."""
        client = self.find_client(realm, client_id)
        attributes = client.get('attributes') or {}
        secret = self.current_secret(realm, client)
        rotated = self.rotated_secret(realm, client)
        rotated_expires = epoch(attributes, ROTATED_EXPIRES) if rotated else None
        return dict(client_id=client_id, realm=realm, id=client['id'], secret=secret,
                    created_at=iso_time(epoch(attributes, CREATED)), age=secret_age(attributes, now),
                    expires_at=iso_time(epoch(attributes, EXPIRES)), rotated_secret=rotated,
                    rotated_expires_at=iso_time(rotated_expires),
                    rotated_expired=None if rotated_expires is None else rotated_expires <= now)

    def reread(self, realm, client):
        return self.api.get(admin_path(realm, 'clients', client['id']))

    def join_policy(self, realm, client, name):
        """Set the attribute the rotation policy matches (name '' takes the client out again)."""
        # A partial representation: Keycloak updates only the fields sent and merges attributes.
        self.api.put(admin_path(realm, 'clients', client['id']),
                     {'clientId': client['clientId'], 'attributes': {POLICY_ATTRIBUTE: name}})

    def client_policies(self, realm):
        """(profiles, policies) of the realm, without Keycloak's global ones."""
        profiles = (self.api.get(admin_path(realm, 'client-policies', 'profiles')) or {}).get('profiles') or []
        policies = (self.api.get(admin_path(realm, 'client-policies', 'policies')) or {}).get('policies') or []
        return profiles, policies

    def write_client_policies(self, realm, profiles=None, policies=None):
        """PUT replaces the realm's whole list: callers send what they read with only their entry changed."""
        if profiles is not None:
            path = admin_path(realm, 'client-policies', 'profiles')
            status, body, _headers = self.api.request('PUT', path, body={'profiles': profiles},
                                                      expected=(200, 204, 400))
            if status == 400:
                raise KeycloakOpsError(
                    "Keycloak refused the %s executor in realm '%s' (HTTP 400: %s): it needs the "
                    "client-secret-rotation feature (kc.sh start --features=client-secret-rotation) and periods "
                    "Keycloak accepts"
                    % (ROTATION_EXECUTOR, realm, response_detail(body or '')))
        if policies is not None:
            self.api.put(admin_path(realm, 'client-policies', 'policies'), {'policies': policies})
