# -*- coding: utf-8 -*-
# Copyright: keycloak_ops contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Internal to keycloak_ops.clients: no stability promise. Modules and plugins of other collections
# must not import it; its names and signatures change whenever the collection needs them to.
"""Carry out client plans (plan.py): every write goes through the task's journal (journal.py) with its undo, or with
the reason it has none. Check mode sends nothing and returns the predicted result."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import secrets
import string

from ansible_collections.keycloak_ops.clients.plugins.module_utils._clients.journal import NOT_WRITTEN
from ansible_collections.keycloak_ops.clients.plugins.module_utils._clients.views import (
    client_result, managed_view, merged, with_scope_ops,
)
from ansible_collections.keycloak_ops.clients.plugins.module_utils._core.connection import admin_path
from ansible_collections.keycloak_ops.clients.plugins.module_utils._core.errors import KeycloakOpsError

# Collections that Keycloak manages through their own endpoints; a PUT of the client ignores them.
SEPARATELY_MANAGED = ('protocolMappers', 'defaultClientScopes', 'optionalClientScopes')

# A secret generated here when the task needs it back, so that no read follows the create: Keycloak's own are 32
# characters of letters and digits from a CSPRNG (SecretGenerator), and so are these.
SECRET_LENGTH = 32
SECRET_ALPHABET = string.ascii_letters + string.digits


def new_secret():
    return ''.join(secrets.choice(SECRET_ALPHABET) for _index in range(SECRET_LENGTH))


def _location_id(headers):
    return (headers.get('Location') or '').rstrip('/').rsplit('/', 1)[-1]


class ClientWriter(object):
    """Writes the plans of one task over its one session, recording each write in the journal."""

    def __init__(self, planner, journal, check_mode=False, generate_secrets=False):
        self.planner = planner
        self.reads = planner.reads
        self.api = planner.reads.api
        self.kind = planner.kind
        self.journal = journal
        self.check_mode = check_mode
        # Send a secret generated here with each create (the caller returns it), instead of reading it back.
        self.generate_secrets = generate_secrets and self.kind == 'confidential'

    def keep(self, plan):
        return client_result(plan, changed=False, before={}, after={})

    def delete(self, plan):
        if not self.check_mode:
            path = admin_path(plan['realm'], 'clients', plan['current']['id'])
            self.journal.write('deleted client %s' % plan['client_id'], lambda: self.api.delete(path),
                               final='cannot be undone')
        return client_result(plan, changed=True, before=managed_view(plan['current'], None), after={})

    def create(self, plan):
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
        clients = admin_path(plan['realm'], 'clients')
        status, _body, headers = self.journal.write(
            'created client %s' % plan['client_id'],
            lambda: self.api.request('POST', clients, body=body, expected=(201, 409)),
            # 409: another writer's client (the POST is sent once); this task goes on to update it.
            undo=lambda answer: ('DELETE', clients + '/' + _location_id(answer[2]), None) if answer[0] == 201
            else NOT_WRITTEN)
        if status == 409:
            return self._converge(plan)
        plan['current'] = dict(body, id=_location_id(headers))
        return client_result(plan, changed=True, before={}, after=after)

    def _converge(self, plan):
        """A retried POST (or another writer) got there first: converge on what now exists."""
        plan.pop('generated_secret', None)  # the client holds another writer's secret, read as before
        self.reads.forget(plan['realm'], plan['client_id'])
        replanned = self.planner.plan(plan['options'])
        if replanned['current'] is None:
            raise KeycloakOpsError("Keycloak reports client '%s' as existing in realm '%s' but it cannot be read"
                                   % (plan['client_id'], plan['realm']))
        result = self.update(replanned)
        # The task goes on with the plan it holds: it reads the client through it (its id, its roles to grant).
        plan.update(replanned)
        self.planner.planned[(plan['realm'], plan['client_id'])] = plan
        # Most likely our own POST succeeded before a retry: the client exists because of this task.
        result['changed'] = True
        return result

    def update(self, plan):
        current, desired = plan['current'], plan['desired']
        changed = plan.writes()
        before = managed_view(current, desired)
        merged_rep = merged(current, plan['changes'])
        after_rep = self._as_server_keeps(plan['realm'], with_scope_ops(merged_rep, plan['scope_ops']), desired)
        after = managed_view(after_rep, desired)
        if changed and not self.check_mode:
            effects = plan.side_effects()
            if not effects:
                self._put(plan, merged_rep, None)
            self._scopes(plan)
            self._mappers(plan)
            if effects:
                # Last, after every undoable write of this client: what Keycloak deletes here cannot come back.
                self._put(plan, merged_rep, '; '.join(effects) + ', cannot be undone')
        plan['current'] = merged_rep
        return client_result(plan, changed=changed, before=before, after=after)

    def _put(self, plan, merged_rep, final):
        if not plan['changes']:
            return
        path = admin_path(plan['realm'], 'clients', plan['current']['id'])
        body = {k: v for k, v in merged_rep.items() if k not in SEPARATELY_MANAGED}
        original = restoring(plan['current'], plan['changes'])
        self.journal.write('updated client %s' % plan['client_id'], lambda: self.api.put(path, body),
                           undo=None if final else ('PUT', path, original), final=final)

    def _scopes(self, plan):
        realm, uuid = plan['realm'], plan['current']['id']
        for op, kind, name in plan['scope_ops']:
            path = admin_path(realm, 'clients', uuid, kind + '-client-scopes', self.reads.scope_ids(realm)[name])
            if op == 'add':
                self.journal.write('attached client scopes to %s' % plan['client_id'],
                                   lambda path=path: self.api.put(path, None), undo=('DELETE', path, None))
            else:
                self.journal.write('detached client scopes from %s' % plan['client_id'],
                                   lambda path=path: self.api.delete(path), undo=('PUT', path, None))

    def _mappers(self, plan):
        realm, uuid = plan['realm'], plan['current']['id']
        models = admin_path(realm, 'clients', uuid, 'protocol-mappers', 'models')
        by_name = {m.get('name'): m for m in plan['current'].get('protocolMappers') or []}
        what = 'changed protocol mappers of %s' % plan['client_id']
        for op, mapper in plan['mapper_ops']:
            if op == 'add':
                self.journal.write(what, lambda mapper=mapper: self.api.post(models, mapper),
                                   undo=lambda answer: ('DELETE', models + '/' + _location_id(answer[2]), None)
                                   if _location_id(answer[2]) else None)
            else:
                path = models + '/' + mapper['id']
                self.journal.write(what, lambda path=path, mapper=mapper: self.api.put(path, mapper),
                                   undo=('PUT', path, by_name.get(mapper['name'])))

    def grant_roles(self, plan):
        """The service-account roles the plan grants: after every client of the task exists."""
        grant = plan.get('roles_to_grant') or {}
        if self.check_mode or plan['action'] not in ('create', 'update') or not (grant['realm'] or grant['clients']):
            return
        realm, uuid = plan['realm'], plan['current']['id']
        user = self.api.get(admin_path(realm, 'clients', uuid, 'service-account-user'))
        mappings = admin_path(realm, 'users', user['id'], 'role-mappings')
        what = 'granted roles to %s' % plan['client_id']
        if grant['realm']:
            self.journal.write(what, lambda: self.api.post(mappings + '/realm', grant['realm']),
                               undo=('DELETE', mappings + '/realm', grant['realm']))
        for owner_id in sorted({cid for cid, _role in grant['clients']}):
            path = mappings + '/clients/' + self.planner.client(realm, owner_id)['id']
            roles = [r for cid, r in grant['clients'] if cid == owner_id]
            self.journal.write(what, lambda path=path, roles=roles: self.api.post(path, roles),
                               undo=('DELETE', path, roles))

    def _as_server_keeps(self, realm, rep, desired):
        """rep with the scopes Keycloak attaches by itself (SERVER_ATTACHED_SCOPES), so that results and check mode
        show what the server will hold, without reading each client back after writing it."""
        if desired['default_scopes'] is None:
            return rep  # scopes are not in the view: no need to know
        held = set(rep.get('defaultClientScopes') or []) | set(rep.get('optionalClientScopes') or [])
        attached = self.reads.server_attached_scopes(realm, rep) - held
        if not attached:
            return rep
        return dict(rep, defaultClientScopes=sorted(set(rep.get('defaultClientScopes') or []) | attached))


def restoring(current, changes):
    """The body of a PUT that puts a client back as it was read. Keycloak keeps every field a PUT leaves out (or
    sends as null), so a field or attribute the update set where the client had none is sent cleared: the empty
    value is the nearest Keycloak's API can come to "not set"."""
    body = {k: v for k, v in current.items() if k not in SEPARATELY_MANAGED}
    for field, value in changes.items():
        if field == 'attributes':
            attributes = dict(current.get('attributes') or {})
            for key in value:
                attributes.setdefault(key, '')
            body['attributes'] = attributes
        elif body.get(field) is None and isinstance(value, (str, list, dict)):
            body[field] = type(value)()
    return body
