# -*- coding: utf-8 -*-
# Copyright: keycloak_ops contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Internal to keycloak_ops.clients: no stability promise. Modules and plugins of other collections
# must not import it; its names and signatures change whenever the collection needs them to.
"""Reconcile clients against Keycloak: read everything, plan, then write only what differs.

All reads of every client happen in plan(), before the first write of any client, so a bad item
(unknown scope, unknown role, unknown realm) fails the task with nothing created.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import secrets
import string

from ansible_collections.keycloak_ops.clients.plugins.module_utils._client_options import (
    InvalidClient, desired_state, representation_changes,
)
from ansible_collections.keycloak_ops.clients.plugins.module_utils._connection import (
    KeycloakOpsError, Unavailable, admin_path, find_client,
)
from ansible_collections.keycloak_ops.clients.plugins.module_utils._masking import MASK, mask
from ansible_collections.keycloak_ops.clients.plugins.module_utils._parallel import WORKERS, run_bounded
from ansible_collections.keycloak_ops.clients.plugins.module_utils._rights import AdminRights

# Collections that Keycloak manages through their own endpoints; a PUT of the client ignores them.
SEPARATELY_MANAGED = ('protocolMappers', 'defaultClientScopes', 'optionalClientScopes')

# Client scopes Keycloak attaches by itself when a capability of the client is switched on, by the
# representation field of that capability. Lines whose realms have a 'service_account' scope attach it as a
# default scope to every client with a service account (older lines add protocol mappers to the client
# instead); an exclusive scope list keeps such a scope while the capability is on, so that a second run
# does not detach what the server attached on the first.
SERVER_ATTACHED_SCOPES = (('service_account', 'serviceAccountsEnabled'),)

# Reading the realm's clients in pages replaces one exact clientId query per declared client when the realm is
# small enough. Measured on Keycloak 26.7 (dev H2, 2 CPUs): one exact query costs as much as listing 6 to 50 full
# representations (the fewer, the fewer of them Keycloak has cached); LISTED_PER_QUERY stays at the low end. A page
# costs more than linearly in its size when the clients are not cached (1,000 clients: 8-22 s, in pages of 100:
# 2-3 s; four pages of 300 side by side outlasted a 10 s timeout in a realm of 5,000), so the first page, which
# holds the whole realm for most tasks, has at most 300 and the later ones 100. Below LISTING_MIN_CLIENTS the queries
# cost less than any listing.
LISTED_PER_QUERY = 6
LISTING_PAGE = 300
LATER_PAGE = 100
LISTING_MIN_CLIENTS = 3

# Keycloak names a client's service-account user after the client (lower-cased); usernames hold 255 characters.
SERVICE_ACCOUNT_PREFIX = 'service-account-'
MAX_USERNAME = 255

# A secret generated here when the task needs it back, so that no read follows the create: Keycloak's own are 32
# characters of letters and digits from a CSPRNG (SecretGenerator), and so are these.
SECRET_LENGTH = 32
SECRET_ALPHABET = string.ascii_letters + string.digits


def new_secret():
    return ''.join(secrets.choice(SECRET_ALPHABET) for _index in range(SECRET_LENGTH))


class ClientReconciler(object):
    """Plans and applies client changes for one module run, sharing one API session and lookups."""

    def __init__(self, api, kind, check_mode=False, generate_secrets=False):
        self.api = api
        self.kind = kind
        self.check_mode = check_mode
        # Send a secret generated here with each create (the caller returns it), instead of reading it back.
        self.generate_secrets = generate_secrets and kind == 'confidential'
        self._scopes_by_realm = {}
        self._realm_defaults = {}
        self._roles = {}
        self._clients = {}
        self._mapper_types = None
        # Per realm: how many items declare service-account roles, and per role the service accounts holding it.
        self._granting_items = {}
        self._holders = {}
        self.rights = AdminRights(api)
        # (what, method, path, body) that undo this task's writes, newest last: see rollback().
        self.undo = []

    # -- reads ---------------------------------------------------------------------------------

    def find_client(self, realm, client_id):
        """The client with exactly this clientId, or None, read once per task."""
        key = (realm, client_id)
        if key not in self._clients:
            self._clients[key] = find_client(self.api, realm, client_id)
        return self._clients[key]

    def prefetch(self, items):
        """Find the clients the items name (and the owners of the roles they grant) with the realm's listing instead
        of one query each, where the realm is small enough for that to be cheaper (see LISTED_PER_QUERY)."""
        wanted = {}
        for options in items:
            names = wanted.setdefault(options['realm'], set())
            names.add(options['client_id'])
            names.update((options.get('service_account_client_roles') or {}).keys())
            if options.get('service_account_realm_roles') or options.get('service_account_client_roles'):
                self._granting_items[options['realm']] = self._granting_items.get(options['realm'], 0) + 1
        for realm, names in sorted(wanted.items()):
            names = set(n for n in names if (realm, n) not in self._clients)
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
        clients than the queries of the named ones would cost to list. The first page tells for most realms; past
        it, a brief probe, then smaller pages a few at a time."""
        limit = len(names) * LISTED_PER_QUERY
        found = {}

        def page(first, size):
            listed = self.api.get(admin_path(realm, 'clients'), params=dict(
                first=first, max=size, briefRepresentation='false')) or []
            found.update((c.get('clientId'), c) for c in listed if c.get('clientId') in names)
            return len(listed) < size

        size = min(LISTING_PAGE, limit)
        if page(0, size):
            return found
        if size == limit or self.api.get(admin_path(realm, 'clients'), params=dict(
                first=limit, max=1, briefRepresentation='true')):
            return None
        first = size
        while True:
            firsts = [first + index * LATER_PAGE for index in range(WORKERS)]
            ends, failed = run_bounded(lambda index: page(firsts[index], LATER_PAGE), range(WORKERS),
                                       KeycloakOpsError)
            if failed:
                raise failed[min(failed)]
            if any(ends.values()):
                return found
            first += WORKERS * LATER_PAGE

    def _queried(self, realm, names):
        """The named clients of a big realm, one exact query each, a few at a time."""
        names = sorted(names)
        found, failed = run_bounded(lambda index: find_client(self.api, realm, names[index]), range(len(names)),
                                    KeycloakOpsError)
        if failed:
            raise failed[min(failed)]
        return dict((names[index], client) for index, client in found.items())

    def scope_ids(self, realm):
        if realm not in self._scopes_by_realm:
            scopes = self.api.get(admin_path(realm, 'client-scopes')) or []
            self._scopes_by_realm[realm] = dict((s['name'], s['id']) for s in scopes)
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
            self._mapper_types = set(t.get('id') for t in types) if types else False
        return self._mapper_types or None

    def _check_mapper_types(self, mappers):
        if not mappers:
            return
        known = self.known_mapper_types()
        for index, mapper in enumerate(mappers):
            if known is not None and mapper['protocolMapper'] not in known:
                raise InvalidClient("protocol_mappers[%d]: Keycloak has no protocol mapper type '%s' (for example: %s)"
                                    % (index, mapper['protocolMapper'], ', '.join(sorted(known)[:3])))

    def _resolve_scopes(self, realm, names, option):
        if names is None:
            return None
        catalog = self.scope_ids(realm)
        for name in names:
            if name not in catalog:
                # Before calling it unknown: an identity that cannot view clients is shown no scopes at all.
                self.rights.require_view(realm)
                raise InvalidClient("%s: client scope '%s' does not exist in realm '%s'" % (option, name, realm))
        return list(names)

    def _service_account_roles(self, realm, current):
        """Roles the service account holds now: {None: realm role names, client_id: names}."""
        user = self.api.get(admin_path(realm, 'clients', current['id'], 'service-account-user'))
        mapped = self.api.get(admin_path(realm, 'users', user['id'], 'role-mappings', 'realm')) or []
        held = {None: set(r['name'] for r in mapped)}
        return user['id'], held

    # -- plan ----------------------------------------------------------------------------------

    def plan(self, options):
        """Everything one client needs, decided from reads only; returns a plan dict for apply()."""
        realm, client_id = options['realm'], options['client_id']
        current = self.find_client(realm, client_id)
        plan = dict(realm=realm, client_id=client_id, current=current, options=options)
        if options.get('state') == 'absent':
            plan['action'] = 'delete' if current else 'none'
            return plan
        desired = desired_state(options, self.kind)
        desired['default_scopes'] = self._resolve_scopes(realm, desired['default_scopes'], 'default_client_scopes')
        desired['optional_scopes'] = self._resolve_scopes(realm, desired['optional_scopes'], 'optional_client_scopes')
        self._check_mapper_types(desired['mappers'])
        realm_roles = [self.realm_role(realm, name) for name in desired['realm_roles']]
        client_roles = [(cid, self.client_role(realm, cid, name))
                        for cid, names in sorted(desired['client_roles'].items()) for name in names]
        plan.update(desired=desired, realm_roles=realm_roles, client_roles=client_roles)
        if current is None:
            plan['action'] = 'create'
            plan['create_scopes'] = self._create_scopes(realm, desired)
            plan['roles_to_grant'] = dict(realm=realm_roles, clients=client_roles)
            return plan
        plan['action'] = 'update'
        plan['changes'] = self._rep_changes(desired['rep'], current)
        plan['scope_ops'] = self._scope_ops(realm, desired, current)
        plan['mapper_ops'] = self._mapper_ops(desired['mappers'], current.get('protocolMappers') or [])
        plan['roles_to_grant'] = self._missing_roles(realm, current, realm_roles, client_roles)
        return plan

    def _create_scopes(self, realm, desired):
        """Scope lists for the create request: Keycloak attaches exactly the lists it is sent.

        Unless exclusive, start from the realm's defaults as the console does, so that a client asking for
        'email' still gets 'basic' (the sub claim) and 'roles'.
        """
        if desired['default_scopes'] is None and desired['optional_scopes'] is None:
            return {}
        lists = {}
        for kind in ('default', 'optional'):
            wanted = desired[kind + '_scopes']
            if wanted is not None and desired['scopes_exclusive']:
                lists[kind] = set(wanted)
            else:
                lists[kind] = set(self.realm_default_scopes(realm, kind))
                lists[kind] |= set(wanted or [])
        # A scope asked for in one list leaves the other, where the realm's defaults may have put it.
        lists['optional'] -= set(desired['default_scopes'] or [])
        lists['default'] -= set(desired['optional_scopes'] or [])
        return dict((kind, sorted(names)) for kind, names in lists.items())

    def _rep_changes(self, desired_rep, current):
        changes = representation_changes(desired_rep, current)
        if self.kind == 'confidential' and current.get('publicClient'):
            # The console flow "created as public, switched to confidential": a secret-based authenticator.
            changes['clientAuthenticatorType'] = 'client-secret'
        return changes

    def _scope_ops(self, realm, desired, current):
        """[(op, kind, name)] with op in add/remove and kind default/optional; removals first."""
        have = {'default': set(current.get('defaultClientScopes') or []),
                'optional': set(current.get('optionalClientScopes') or [])}
        want = {'default': desired['default_scopes'], 'optional': desired['optional_scopes']}
        removes, adds = [], []
        for kind in ('default', 'optional'):
            if want[kind] is None:
                continue
            other = 'optional' if kind == 'default' else 'default'
            for name in want[kind]:
                if name in have[kind]:
                    continue
                if name in have[other]:
                    # Keycloak refuses a scope that is both default and optional: move it.
                    removes.append(('remove', other, name))
                adds.append(('add', kind, name))
            if desired['scopes_exclusive']:
                kept = self.server_attached_scopes(realm, dict(current, **desired['rep']))
                unwanted = have[kind] - set(want[kind]) - kept
                removes.extend(('remove', kind, name) for name in sorted(unwanted))
        return sorted(set(removes)) + adds

    @staticmethod
    def _mapper_ops(desired_mappers, current_mappers):
        by_name = dict((m.get('name'), m) for m in current_mappers)
        ops = []
        for mapper in desired_mappers:
            existing = by_name.get(mapper['name'])
            if existing is None:
                ops.append(('add', mapper))
                continue
            have_config = existing.get('config') or {}
            if existing.get('protocolMapper') != mapper['protocolMapper'] or any(
                    have_config.get(k) != v for k, v in mapper['config'].items()):
                merged = dict(existing, protocolMapper=mapper['protocolMapper'],
                              config=dict(have_config, **mapper['config']))
                ops.append(('update', merged))
        return ops

    def server_attached_scopes(self, realm, rep):
        """Names of the scopes Keycloak attached by itself to a client like rep (SERVER_ATTACHED_SCOPES)."""
        return set(name for name, capability in SERVER_ATTACHED_SCOPES
                   if rep.get(capability) and name in self.scope_ids(realm))

    def _missing_roles(self, realm, current, realm_roles, client_roles):
        missing = dict(realm=[], clients=[])
        if not realm_roles and not client_roles:
            return missing
        if not current.get('serviceAccountsEnabled'):
            # Turning service accounts on creates the service-account user; it holds nothing yet.
            return dict(realm=realm_roles, clients=client_roles)
        by_holders = self._missing_by_holders(realm, current, realm_roles, client_roles)
        if by_holders is not None:
            return by_holders
        user_id, held = self._service_account_roles(realm, current)
        missing['realm'] = [r for r in realm_roles if r['name'] not in held[None]]
        for owner_id in sorted(set(cid for cid, _role in client_roles)):
            owner_uuid = self.find_client(realm, owner_id)['id']
            names = set(r['name'] for r in self.api.get(
                admin_path(realm, 'users', user_id, 'role-mappings', 'clients', owner_uuid)) or [])
            missing['clients'].extend((cid, r) for cid, r in client_roles
                                      if cid == owner_id and r['name'] not in names)
        return missing

    def _missing_by_holders(self, realm, current, realm_roles, client_roles):
        """The declared roles current's service account lacks, from each role's list of holders (one read per role for
        all the items of the task) instead of two reads per client; None where that costs more: few items declare
        roles, or a role has more holders than the per-client reads would cost."""
        items = self._granting_items.get(realm, 0)
        username = SERVICE_ACCOUNT_PREFIX + current['clientId'].lower()
        if items < LISTING_MIN_CLIENTS or len(username) > MAX_USERNAME:
            return None
        missing = dict(realm=[], clients=[])
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
            names, first = set(), 0
            while names is not None:
                page = self.api.get(path, params=dict(first=first, max=LISTING_PAGE, briefRepresentation='true')) or []
                names.update(u.get('username') for u in page)
                if len(names) > limit:
                    names = None
                elif len(page) < LISTING_PAGE:
                    break
                first += LISTING_PAGE
            self._holders[key] = names
        return self._holders[key]

    # -- apply ---------------------------------------------------------------------------------

    def apply(self, plan):
        """Carry out one plan (no write in check mode); return the per-client result."""
        action = plan['action']
        if action == 'none':
            return self._result(plan, changed=False, before={}, after={})
        if action == 'delete':
            if not self.check_mode:
                self.api.delete(admin_path(plan['realm'], 'clients', plan['current']['id']))
            return self._result(plan, changed=True, before=self._view(plan['current'], None), after={})
        if action == 'create':
            return self._create(plan)
        return self._update(plan)

    def _create(self, plan):
        desired = plan['desired']
        body = dict(desired['rep'], protocol='openid-connect')
        if self.kind == 'confidential':
            body['clientAuthenticatorType'] = 'client-secret'
        if desired['mappers']:
            body['protocolMappers'] = desired['mappers']
        for kind, scopes in plan['create_scopes'].items():
            body[kind + 'ClientScopes'] = scopes
        after = self._view(self._as_server_keeps(plan['realm'], body, desired), desired)
        if self.check_mode:
            return self._result(plan, changed=True, before={}, after=after)
        if self.generate_secrets and not body.get('secret'):
            body['secret'] = plan['generated_secret'] = new_secret()
        status, _body, headers = self.api.request(
            'POST', admin_path(plan['realm'], 'clients'), body=body, expected=(201, 409))
        if status == 409:
            # A retried POST (or another writer) got there first: converge on what now exists.
            plan.pop('generated_secret', None)  # the client holds another writer's secret, read as before
            self._clients.pop((plan['realm'], plan['client_id']), None)
            replanned = self.plan(plan['options'])
            if replanned['current'] is None:
                raise KeycloakOpsError("Keycloak reports client '%s' as existing in realm '%s' but it cannot be read"
                                       % (plan['client_id'], plan['realm']))
            plan.update(replanned)  # the caller reads the client through plan (its id, for the secret)
            result = self._update(plan)
            # Most likely our own POST succeeded before a retry: the client exists because of this task.
            result['changed'] = True
            return result
        plan['current'] = dict(body, id=headers.get('Location', '').rstrip('/').rsplit('/', 1)[-1])
        self._remember('created client %s' % plan['client_id'], 'DELETE',
                       admin_path(plan['realm'], 'clients', plan['current']['id']))
        self._grant_roles(plan)
        return self._result(plan, changed=True, before={}, after=after)

    def _update(self, plan):
        current, desired = plan['current'], plan['desired']
        changed = bool(plan['changes'] or plan['scope_ops'] or plan['mapper_ops']
                       or plan['roles_to_grant']['realm'] or plan['roles_to_grant']['clients'])
        before = self._view(current, desired)
        merged = self._merge(current, plan['changes'])
        after = self._view(self._as_server_keeps(plan['realm'], self._after_scopes(merged, plan['scope_ops']), desired),
                           desired)
        if changed and not self.check_mode:
            realm, uuid = plan['realm'], current['id']
            what = 'updated client %s' % plan['client_id']
            if plan['changes']:
                body = dict((k, v) for k, v in merged.items() if k not in SEPARATELY_MANAGED)
                self.api.put(admin_path(realm, 'clients', uuid), body)
                original = dict((k, v) for k, v in current.items() if k not in SEPARATELY_MANAGED)
                self._remember(what, 'PUT', admin_path(realm, 'clients', uuid), original)
            for op, kind, name in plan['scope_ops']:
                path = admin_path(realm, 'clients', uuid, kind + '-client-scopes', self.scope_ids(realm)[name])
                if op == 'add':
                    self.api.put(path, None)
                else:
                    self.api.delete(path)
                self._remember(what, 'DELETE' if op == 'add' else 'PUT', path)
            by_name = dict((m.get('name'), m) for m in current.get('protocolMappers') or [])
            for op, mapper in plan['mapper_ops']:
                models = admin_path(realm, 'clients', uuid, 'protocol-mappers', 'models')
                if op == 'add':
                    _status, _body, headers = self.api.post(models, mapper)
                    mapper_id = (headers.get('Location') or '').rstrip('/').rsplit('/', 1)[-1]
                    if mapper_id:
                        self._remember(what, 'DELETE', models + '/' + mapper_id)
                else:
                    self.api.put(models + '/' + mapper['id'], mapper)
                    self._remember(what, 'PUT', models + '/' + mapper['id'], by_name.get(mapper['name']))
            self._grant_roles(plan)
        plan['current'] = merged
        return self._result(plan, changed=changed, before=before, after=after)

    def _as_server_keeps(self, realm, rep, desired):
        """rep with the scopes Keycloak attaches by itself (SERVER_ATTACHED_SCOPES), so that results and check mode
        show what the server will hold, without reading each client back after writing it."""
        if desired['default_scopes'] is None:
            return rep  # scopes are not in the view: no need to know
        held = set(rep.get('defaultClientScopes') or []) | set(rep.get('optionalClientScopes') or [])
        attached = self.server_attached_scopes(realm, rep) - held
        if not attached:
            return rep
        return dict(rep, defaultClientScopes=sorted(set(rep.get('defaultClientScopes') or []) | attached))

    def _grant_roles(self, plan):
        grant = plan['roles_to_grant']
        if not grant['realm'] and not grant['clients']:
            return
        realm, uuid = plan['realm'], plan['current']['id']
        user = self.api.get(admin_path(realm, 'clients', uuid, 'service-account-user'))
        mappings = admin_path(realm, 'users', user['id'], 'role-mappings')
        what = 'granted roles to %s' % plan['client_id']
        if grant['realm']:
            self.api.post(mappings + '/realm', grant['realm'])
            self._remember(what, 'DELETE', mappings + '/realm', grant['realm'])
        for owner_id in sorted(set(cid for cid, _role in grant['clients'])):
            owner_uuid = self.find_client(realm, owner_id)['id']
            roles = [r for cid, r in grant['clients'] if cid == owner_id]
            self.api.post(mappings + '/clients/' + owner_uuid, roles)
            self._remember(what, 'DELETE', mappings + '/clients/' + owner_uuid, roles)

    # -- rollback ------------------------------------------------------------------------------

    def _remember(self, what, method, path, body=None):
        self.undo.append((what, method, path, body))

    def rollback(self):
        """Undo this task's writes, newest first: delete what it created, put back what it changed as read.

        Returns the descriptions of what could not be undone (empty when everything was).
        """
        failed = []
        while self.undo:
            what, method, path, body = self.undo.pop()
            try:
                self.api.request(method, path, body=body, expected=(200, 201, 204, 404))
            except KeycloakOpsError:
                failed.append(what)
        return sorted(set(failed))

    # -- views and results ---------------------------------------------------------------------

    @staticmethod
    def _merge(current, changes):
        merged = dict(current)
        for field, value in changes.items():
            if field == 'attributes':
                merged['attributes'] = dict(current.get('attributes') or {}, **value)
            else:
                merged[field] = value
        return merged

    @staticmethod
    def _after_scopes(rep, scope_ops):
        scopes = {'default': list(rep.get('defaultClientScopes') or []),
                  'optional': list(rep.get('optionalClientScopes') or [])}
        for op, kind, name in scope_ops:
            if op == 'add' and name not in scopes[kind]:
                scopes[kind].append(name)
            elif op == 'remove' and name in scopes[kind]:
                scopes[kind].remove(name)
        return dict(rep, defaultClientScopes=scopes['default'], optionalClientScopes=scopes['optional'])

    def _view(self, rep, desired):
        """The managed part of a representation, masked: what diffs and results show."""
        if desired is None:
            keys = ['clientId', 'name', 'enabled', 'publicClient', 'secret']
            return mask(dict((k, rep.get(k)) for k in keys if k in rep))
        view = dict((k, rep.get(k)) for k in desired['rep'] if k != 'attributes')
        if 'attributes' in desired['rep']:
            have = rep.get('attributes') or {}
            view['attributes'] = dict((k, have.get(k)) for k in desired['rep']['attributes'])
        if desired['default_scopes'] is not None:
            view['defaultClientScopes'] = sorted(rep.get('defaultClientScopes') or [])
        if desired['optional_scopes'] is not None:
            view['optionalClientScopes'] = sorted(rep.get('optionalClientScopes') or [])
        if desired['mappers']:
            # Only the managed mappers: some lines add mappers of their own (service accounts before 26.x).
            managed = set(m['name'] for m in desired['mappers'])
            view['protocolMappers'] = sorted(m.get('name') for m in rep.get('protocolMappers') or []
                                             if m.get('name') in managed)
        if 'clientAuthenticatorType' in rep and rep.get('publicClient') is False:
            view['clientAuthenticatorType'] = rep['clientAuthenticatorType']
        return mask(view)

    @staticmethod
    def _show_service_account_roles(plan, before, after):
        """The declared service-account roles in the diff and end_state: held before (declared minus those to grant)
        and after (all declared), so a grant is a visible change. Roles granted by other means are not shown."""
        desired = plan.get('desired')
        if not desired or not (desired['realm_roles'] or desired['client_roles']) or not after:
            return
        grant = plan.get('roles_to_grant') or dict(realm=[], clients=[])
        granting_realm = set(r['name'] for r in grant['realm'])
        granting_client = set((cid, r['name']) for cid, r in grant['clients'])
        after['serviceAccountRoles'] = dict(realm=sorted(desired['realm_roles']),
                                            clients=dict((cid, sorted(names))
                                                         for cid, names in desired['client_roles'].items()))
        if before:
            before['serviceAccountRoles'] = dict(
                realm=sorted(n for n in desired['realm_roles'] if n not in granting_realm),
                clients=dict((cid, sorted(n for n in names if (cid, n) not in granting_client))
                             for cid, names in desired['client_roles'].items()))

    def _result(self, plan, changed, before, after):
        self._show_service_account_roles(plan, before, after)
        current = plan.get('current') or {}
        if before.get('secret') == MASK and after.get('secret') == MASK and plan.get('changes', {}).get('secret'):
            after['secret'] = MASK + ' (changed)'
        state = 'absent' if plan['action'] == 'delete' or (plan['action'] == 'none') else 'present'
        result = dict(client_id=plan['client_id'], realm=plan['realm'], changed=changed, state=state,
                      id=current.get('id'), diff=dict(before=before, after=after,
                                                      before_header='%s/%s' % (plan['realm'], plan['client_id']),
                                                      after_header='%s/%s' % (plan['realm'], plan['client_id'])))
        if state == 'present':
            result['end_state'] = after
            result['grants'] = grant_types(current)
        return result


def grant_types(rep):
    """OAuth grants the client can use, so a missing client-credentials grant is visible in the result."""
    grants = []
    if rep.get('standardFlowEnabled', True):
        grants.append('authorization_code')
    if rep.get('serviceAccountsEnabled') and not rep.get('publicClient'):
        grants.append('client_credentials')
    if rep.get('directAccessGrantsEnabled'):
        grants.append('password')
    if (rep.get('attributes') or {}).get('oauth2.device.authorization.grant.enabled') == 'true':
        grants.append('device_code')
    return grants
