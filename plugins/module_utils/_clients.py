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
    desired_state, mapper_ops, representation_changes,
)
from ansible_collections.keycloak_ops.clients.plugins.module_utils._client_reads import ClientReads
from ansible_collections.keycloak_ops.clients.plugins.module_utils._client_views import (
    client_result, managed_view, merged, with_scope_ops,
)
from ansible_collections.keycloak_ops.clients.plugins.module_utils._connection import KeycloakOpsError, admin_path

# Collections that Keycloak manages through their own endpoints; a PUT of the client ignores them.
# Collections that Keycloak manages through their own endpoints; a PUT of the client ignores them.
SEPARATELY_MANAGED = ('protocolMappers', 'defaultClientScopes', 'optionalClientScopes')

# A secret generated here when the task needs it back, so that no read follows the create: Keycloak's own are 32
# characters of letters and digits from a CSPRNG (SecretGenerator), and so are these.
SECRET_LENGTH = 32
SECRET_ALPHABET = string.ascii_letters + string.digits


def new_secret():
    return ''.join(secrets.choice(SECRET_ALPHABET) for _index in range(SECRET_LENGTH))


class ClientReconciler(ClientReads):
    """Plans and applies client changes for one module run, sharing one API session and lookups."""

    def __init__(self, api, kind, check_mode=False, generate_secrets=False):
        super(ClientReconciler, self).__init__(api)
        self.kind = kind
        self.check_mode = check_mode
        # Send a secret generated here with each create (the caller returns it), instead of reading it back.
        self.generate_secrets = generate_secrets and kind == 'confidential'
        # (what, method, path, body) that undo this task's writes, newest last: see rollback().
        self.undo = []

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
        plan['mapper_ops'] = mapper_ops(desired['mappers'], current.get('protocolMappers') or [])
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
        return {kind: sorted(names) for kind, names in lists.items()}

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

    def _missing_roles(self, realm, current, realm_roles, client_roles):
        missing: dict = dict(realm=[], clients=[])
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
        for owner_id in sorted({cid for cid, _role in client_roles}):
            owner_uuid = self.find_client(realm, owner_id)['id']
            names = {r['name'] for r in self.api.get(
                admin_path(realm, 'users', user_id, 'role-mappings', 'clients', owner_uuid)) or []}
            missing['clients'].extend((cid, r) for cid, r in client_roles
                                      if cid == owner_id and r['name'] not in names)
        return missing

    # -- apply ---------------------------------------------------------------------------------

    def apply(self, plan):
        """Carry out one plan (no write in check mode); return the per-client result."""
        action = plan['action']
        if action == 'none':
            return client_result(plan, changed=False, before={}, after={})
        if action == 'delete':
            if not self.check_mode:
                self.api.delete(admin_path(plan['realm'], 'clients', plan['current']['id']))
            return client_result(plan, changed=True, before=managed_view(plan['current'], None), after={})
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
        after = managed_view(self._as_server_keeps(plan['realm'], body, desired), desired)
        if self.check_mode:
            return client_result(plan, changed=True, before={}, after=after)
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
        return client_result(plan, changed=True, before={}, after=after)

    def _update(self, plan):
        current, desired = plan['current'], plan['desired']
        changed = bool(plan['changes'] or plan['scope_ops'] or plan['mapper_ops']
                       or plan['roles_to_grant']['realm'] or plan['roles_to_grant']['clients'])
        before = managed_view(current, desired)
        merged_rep = merged(current, plan['changes'])
        after_rep = self._as_server_keeps(plan['realm'], with_scope_ops(merged_rep, plan['scope_ops']), desired)
        after = managed_view(after_rep, desired)
        if changed and not self.check_mode:
            realm, uuid = plan['realm'], current['id']
            what = 'updated client %s' % plan['client_id']
            if plan['changes']:
                body = {k: v for k, v in merged_rep.items() if k not in SEPARATELY_MANAGED}
                self.api.put(admin_path(realm, 'clients', uuid), body)
                original = {k: v for k, v in current.items() if k not in SEPARATELY_MANAGED}
                self._remember(what, 'PUT', admin_path(realm, 'clients', uuid), original)
            for op, kind, name in plan['scope_ops']:
                path = admin_path(realm, 'clients', uuid, kind + '-client-scopes', self.scope_ids(realm)[name])
                if op == 'add':
                    self.api.put(path, None)
                else:
                    self.api.delete(path)
                self._remember(what, 'DELETE' if op == 'add' else 'PUT', path)
            by_name = {m.get('name'): m for m in current.get('protocolMappers') or []}
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
        plan['current'] = merged_rep
        return client_result(plan, changed=changed, before=before, after=after)

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
        for owner_id in sorted({cid for cid, _role in grant['clients']}):
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
