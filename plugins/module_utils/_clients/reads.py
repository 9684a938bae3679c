# -*- coding: utf-8 -*-
# Copyright: keycloak_ops contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Internal to keycloak_ops.clients: no stability promise. Modules and plugins of other collections
# must not import it; its names and signatures change whenever the collection needs them to.
"""What a client task reads from Keycloak, each thing once per task: the clients named (from the realm's
listing or exact queries), client scopes, roles, mapper types and the holders of roles."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from typing import Optional

from ansible_collections.keycloak_ops.clients.plugins.module_utils._clients.options import InvalidClient
from ansible_collections.keycloak_ops.clients.plugins.module_utils._core.connection import admin_path, find_client
from ansible_collections.keycloak_ops.clients.plugins.module_utils._core.errors import KeycloakOpsError, Unavailable
from ansible_collections.keycloak_ops.clients.plugins.module_utils._core.parallel import WORKERS, run_bounded
from ansible_collections.keycloak_ops.clients.plugins.module_utils._core.rights import AdminRights

# Client scopes Keycloak attaches by itself when a capability of the client is switched on, by the
# representation field of that capability. Lines whose realms have a 'service_account' scope attach it as a
# default scope to every client with a service account (older lines add protocol mappers to the client
# instead); an exclusive scope list keeps such a scope while the capability is on, so that a second run
# does not detach what the server attached on the first.
SERVER_ATTACHED_SCOPES = (('service_account', 'serviceAccountsEnabled'),)

# Reading the realm's clients in pages replaces one exact clientId query per declared client when the realm is
# small enough. Measured on Keycloak 26.7 (dev H2, 2 CPUs): one exact query costs as much as listing 6 to 50 full
# representations (the fewer, the fewer of them Keycloak has cached); LISTED_PER_QUERY stays at the low end. Keycloak
# builds the representations of a page one after the other, and a client it has not cached (just created or written)
# costs it tens of milliseconds: a page of 300 such clients took 7-12 s (near the 10 s default timeout), the same
# clients in pages of 100, WORKERS at a time, 5-7 s (2 CPUs under load; no faster in pages of 50, which cost twice the
# requests). A page past the end costs a few milliseconds. Below LISTING_MIN_CLIENTS the queries cost less than any
# listing.
LISTED_PER_QUERY = 6
LISTING_PAGE = 100
LISTING_MIN_CLIENTS = 3
# The holders of a role are listed in brief representations, which cost Keycloak little: big pages.
HOLDERS_PAGE = 300

# Keycloak names a client's service-account user after the client (lower-cased); usernames hold 255 characters.
SERVICE_ACCOUNT_PREFIX = 'service-account-'
MAX_USERNAME = 255


class PastTheEnd(Exception):
    """A page of the realm's listing came back short: no further page is started."""


class ClientReads(object):
    """The reads of one client task, cached: a client, scope or role is read once however many items name it."""

    def __init__(self, api):
        self.api = api
        self._scopes_by_realm = {}
        self._planned_scopes = {}
        # (realm, client_id) -> 'present' or 'absent': what an earlier check-mode task would leave.
        self.planned_clients = {}
        self._realm_defaults = {}
        self._roles = {}
        self._clients = {}
        self._mapper_types = None
        # Per realm: how many items declare service-account roles, and per role the service accounts holding it.
        self._granting_items = {}
        self._holders = {}
        self.rights = AdminRights(api)

    def find_client(self, realm, client_id):
        """The client with exactly this clientId, or None, read once per task."""
        key = (realm, client_id)
        if key not in self._clients:
            self._clients[key] = find_client(self.api, realm, client_id)
        return self._clients[key]

    def forget(self, realm, client_id):
        """Read the client again when next asked (another writer created it meanwhile)."""
        self._clients.pop((realm, client_id), None)

    def prefetch(self, items):
        """Find the clients the items name (and the owners of the roles they grant) with the realm's listing instead
        of one query each, where the realm is small enough for that to be cheaper (see LISTED_PER_QUERY)."""
        wanted: dict = {}
        for options in items:
            names = wanted.setdefault(options['realm'], set())
            names.add(options['client_id'])
            names.update((options.get('service_account_client_roles') or {}).keys())
            if options.get('service_account_realm_roles') or options.get('service_account_client_roles'):
                self._granting_items[options['realm']] = self._granting_items.get(options['realm'], 0) + 1
        for realm, names in sorted(wanted.items()):
            names = {n for n in names if (realm, n) not in self._clients}
            if len(names) < LISTING_MIN_CLIENTS:
                continue
            try:
                try:
                    listed = self._listing(realm, names)
                except Unavailable:
                    listed = None  # a page too slow to answer: the light queries still may be
                found = self._queried(realm, names) if listed is None else listed
            except Unavailable:
                raise
            except KeycloakOpsError:
                continue  # refused (unknown realm, missing role): the per-client queries report it, item by item
            self._clients.update(((realm, name), found.get(name)) for name in names)

    def _listing(self, realm, names):
        """The full representations of the named clients from the realm's listing, or None when the realm holds more
        clients than the queries of the named ones would cost to list.

        Pages of LISTING_PAGE go out a few at a time, and no further page starts once one came back short. The first
        pages, side by side, are as many as the named clients fill (and one more); they hold the whole realm when it
        is mostly the task's clients. Before more than one further round, a one-client probe at the limit tells
        whether the realm is too big to list."""
        limit = len(names) * LISTED_PER_QUERY
        size = min(LISTING_PAGE, limit)
        found: dict = {}

        def page(first):
            listed = self.api.get(admin_path(realm, 'clients'), params=dict(
                first=first, max=size, briefRepresentation='false')) or []
            found.update((c.get('clientId'), c) for c in listed if c.get('clientId') in names)
            if len(listed) < size:
                raise PastTheEnd()

        starts = list(range(0, limit, size))
        head, rest = starts[:min(WORKERS, len(names) // size + 1)], starts[min(WORKERS, len(names) // size + 1):]
        if self._pages(page, head) or names <= set(found):
            return found
        probed = len(rest) > WORKERS
        probe = dict(first=limit, max=1, briefRepresentation='true')
        if probed and self.api.get(admin_path(realm, 'clients'), params=probe):
            return None
        # Without a probe, pages full up to the limit mean a realm too big to list.
        if self._pages(page, rest) or probed or names <= set(found):
            return found
        return None

    @staticmethod
    def _pages(page, starts):
        """Read the pages beginning at starts, a few at a time, until one comes back short; whether one did."""
        _done, failed = run_bounded(page, starts, (KeycloakOpsError, PastTheEnd))
        ended = [first for first, exc in failed.items() if isinstance(exc, PastTheEnd)]
        # A failure of a page past the realm's end does not matter: everything was listed before it.
        errors = sorted(first for first, exc in failed.items() if not ended or first < min(ended))
        if errors:
            raise failed[errors[0]]
        return bool(ended)

    def _queried(self, realm, names):
        """The named clients of a big realm, one exact query each, a few at a time."""
        names = sorted(names)
        found, failed = run_bounded(lambda index: find_client(self.api, realm, names[index]), range(len(names)),
                                    KeycloakOpsError)
        if failed:
            raise failed[min(failed)]
        return {names[index]: client for index, client in found.items()}

    def plan_scopes(self, planned, default_realm):
        """Count the scopes an earlier check-mode task would create as existing (with no id): only a check-mode run
        may be told this, as its writes never need the ids."""
        for item in planned or []:
            if isinstance(item, dict):
                if item.get('state') == 'absent' or not item.get('name'):
                    continue
                realm, name = item.get('realm') or default_realm, str(item['name'])
            else:
                realm, name = default_realm, str(item)
            self._planned_scopes.setdefault(realm, set()).add(name)

    def plan_clients(self, planned, default_realm):
        """Count the clients an earlier check-mode task would create (or delete) as existing (or gone): only a
        check-mode run may be told this, as its writes never need their ids."""
        for item in planned or []:
            item = item if isinstance(item, dict) else dict(client_id=item)
            if item.get('client_id'):
                key = (item.get('realm') or default_realm, str(item['client_id']))
                self.planned_clients[key] = 'absent' if item.get('state') == 'absent' else 'present'

    def scope_ids(self, realm):
        if realm not in self._scopes_by_realm:
            scopes = self.api.get(admin_path(realm, 'client-scopes')) or []
            self._scopes_by_realm[realm] = {s['name']: s['id'] for s in scopes}
            for name in self._planned_scopes.get(realm, ()):
                self._scopes_by_realm[realm].setdefault(name, None)
        return self._scopes_by_realm[realm]

    def realm_default_scopes(self, realm, kind):
        """Names of the OIDC scopes the realm gives new clients as default (kind 'default') or optional."""
        key = (realm, kind)
        if key not in self._realm_defaults:
            inherited = self.api.get(admin_path(realm, 'default-%s-client-scopes' % kind)) or []
            self._realm_defaults[key] = [s['name'] for s in inherited
                                         if s.get('protocol', 'openid-connect') == 'openid-connect']
        return self._realm_defaults[key]

    def realm_role(self, realm, name):
        key = (realm, None, name)
        if key not in self._roles:
            role = self.api.get(admin_path(realm, 'roles', name), absent_ok=True)
            if role is None:
                raise InvalidClient("service_account_realm_roles: role '%s' does not exist in realm '%s'"
                                    % (name, realm))
            self._roles[key] = role
        return self._roles[key]

    def client_role(self, realm, client_id, name):
        key = (realm, client_id, name)
        if key not in self._roles:
            owner = self.find_client(realm, client_id)
            if owner is None:
                self.rights.require_view(realm)
                raise InvalidClient("service_account_client_roles: client '%s' does not exist in realm '%s'"
                                    % (client_id, realm))
            role = self.api.get(admin_path(realm, 'clients', owner['id'], 'roles', name), absent_ok=True)
            if role is None:
                raise InvalidClient("service_account_client_roles: client '%s' has no role '%s'" % (client_id, name))
            self._roles[key] = role
        return self._roles[key]

    def known_mapper_types(self):
        """Ids of the OIDC protocol mappers this server has, read once per task and only when mappers are declared
        (Keycloak stores a mapper of an unknown type without complaint; it then breaks token issuance).
        None when the identity may not read the server info."""
        if self._mapper_types is None:
            try:
                info = self.api.get('admin/serverinfo') or {}
            except KeycloakOpsError:
                info = {}
            types = (info.get('protocolMapperTypes') or {}).get('openid-connect')
            self._mapper_types = {t.get('id') for t in types} if types else False
        return self._mapper_types or None

    def check_mapper_types(self, mappers):
        if not mappers:
            return
        known = self.known_mapper_types()
        for index, mapper in enumerate(mappers):
            if known is not None and mapper['protocolMapper'] not in known:
                raise InvalidClient("protocol_mappers[%d]: Keycloak has no protocol mapper type '%s' (for example: %s)"
                                    % (index, mapper['protocolMapper'], ', '.join(sorted(known)[:3])))

    def resolve_scopes(self, realm, names, option):
        if names is None:
            return None
        catalog = self.scope_ids(realm)
        for name in names:
            if name not in catalog:
                # Before calling it unknown: an identity that cannot view clients is shown no scopes at all.
                self.rights.require_view(realm)
                raise InvalidClient("%s: client scope '%s' does not exist in realm '%s'" % (option, name, realm))
        return list(names)

    def service_account_roles(self, realm, current):
        """Roles the service account holds now: {None: realm role names, client_id: names}."""
        user = self.api.get(admin_path(realm, 'clients', current['id'], 'service-account-user'))
        mapped = self.api.get(admin_path(realm, 'users', user['id'], 'role-mappings', 'realm')) or []
        held = {None: {r['name'] for r in mapped}}
        return user['id'], held

    def server_attached_scopes(self, realm, rep):
        """Names of the scopes Keycloak attached by itself to a client like rep (SERVER_ATTACHED_SCOPES)."""
        return {name for name, capability in SERVER_ATTACHED_SCOPES
                if rep.get(capability) and name in self.scope_ids(realm)}

    def missing_by_holders(self, realm, current, realm_roles, client_roles):
        """The declared roles current's service account lacks, from each role's list of holders (one read per role for
        all the items of the task) instead of two reads per client; None where that costs more: few items declare
        roles, or a role has more holders than the per-client reads would cost."""
        items = self._granting_items.get(realm, 0)
        username = SERVICE_ACCOUNT_PREFIX + current['clientId'].lower()
        if items < LISTING_MIN_CLIENTS or len(username) > MAX_USERNAME:
            return None
        missing: dict = dict(realm=[], clients=[])
        try:
            for owner_id, role in [(None, r) for r in realm_roles] + list(client_roles):
                holders = self._role_holders(realm, owner_id, role['name'], 2 * items * LISTED_PER_QUERY)
                if holders is None:
                    return None
                if username in holders:
                    continue
                if owner_id is None:
                    missing['realm'].append(role)
                else:
                    missing['clients'].append((owner_id, role))
        except KeycloakOpsError:
            return None  # the per-client reads report what is wrong
        return missing

    def _role_holders(self, realm, owner_id, name, limit):
        """Usernames holding a realm role (owner_id None) or a client's role directly, read once per task page by
        page; None beyond limit."""
        key = (realm, owner_id, name)
        if key not in self._holders:
            if owner_id is None:
                path = admin_path(realm, 'roles', name, 'users')
            else:
                path = admin_path(realm, 'clients', self.find_client(realm, owner_id)['id'], 'roles', name, 'users')
            names: Optional[set] = set()
            first = 0
            while names is not None:
                page = self.api.get(path, params=dict(first=first, max=HOLDERS_PAGE, briefRepresentation='true')) or []
                names.update(u.get('username') for u in page)
                if len(names) > limit:
                    names = None
                elif len(page) < HOLDERS_PAGE:
                    break
                first += HOLDERS_PAGE
            self._holders[key] = names
        return self._holders[key]


class ReadAhead(object):
    """The task's session for a reader that sends one GET per client, such as the authorization reconciler (each
    resource server's settings): the GETs named to read() go out a few at a time, and each answer is served once
    from here when the reader asks for it; every other request goes to the session as it is."""

    def __init__(self, api):
        self._api = api
        self._answers: dict = {}

    def __getattr__(self, name):
        return getattr(self._api, name)

    def read(self, paths):
        """GET each path (a 404 reads as None), a few at a time. A failed read is left to the reader, which sends it
        again and reports it in its place."""
        paths = sorted(set(paths))
        done, _failed = run_bounded(lambda index: self._api.get(paths[index], absent_ok=True), range(len(paths)),
                                    KeycloakOpsError)
        self._answers.update((paths[index], answer) for index, answer in done.items())

    def get(self, path, params=None, absent_ok=False):
        if params is None and path in self._answers and (absent_ok or self._answers[path] is not None):
            return self._answers.pop(path)
        return self._api.get(path, params=params, absent_ok=absent_ok)
