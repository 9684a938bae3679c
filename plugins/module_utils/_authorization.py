# -*- coding: utf-8 -*-
# Copyright: keycloak_ops contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Internal to keycloak_ops.clients: no stability promise. Modules and plugins of other collections
# must not import it; its names and signatures change whenever the collection needs them to.
"""Authorization services of a confidential client (its resource server): scopes, resources, policies and
scope permissions, reconciled like every other field of the client (the items themselves: _authorization_items.py).

Only the items declared (by name) are touched, and of each only the fields given. One read of the resource
server's export (GET .../authz/resource-server/settings, which names everything by name) shows what exists;
roles and clients named by policies are looked up before the first write, so a bad reference changes nothing.
Writes go in dependency order: scopes, resources, policies, permissions, each through _write(), which records its
undo in the task's journal (_clients/journal.py). A policy may name a client the same task creates: its id is looked
up when the policy is written, after the task's clients.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.keycloak_ops.clients.plugins.module_utils._authorization_items import (
    KINDS, InvalidAuthorization, check_references, declared, differing, existing,
)
from ansible_collections.keycloak_ops.clients.plugins.module_utils._connection import admin_path, find_client
from ansible_collections.keycloak_ops.clients.plugins.module_utils._masking import mask

SEARCH_ENDPOINT = dict(scopes='scope', resources='resource', policies='policy', permissions='policy')
ITEM = dict(scopes='scope', resources='resource', policies='policy', permissions='permission')


class AuthorizationReconciler(object):
    """Plans (reads only) and applies (writes in order) the declared authorization of clients of one task."""

    def __init__(self, api, check_mode=False, journal=None, clients=None):
        self.api = api
        self.check_mode = check_mode
        self.journal = journal
        # clients(realm, client_id): the client as the task leaves it ({'id': None} until the task creates it).
        self.clients = clients or (lambda realm, client_id: find_client(self.api, realm, client_id))
        self._roles = {}
        self._clients = {}

    def plan(self, client_plan):
        """Add client_plan['authorization']: declared items, their ops and the references resolved to ids."""
        options = client_plan['options']
        items = declared(options.get('authorization'))
        if items is None or client_plan['action'] in ('delete', 'none'):
            return
        realm, client = client_plan['realm'], client_plan.get('current')
        export = None
        if client is not None and client.get('authorizationServicesEnabled'):
            export = self.api.get(self._base(realm, client['id']) + '/settings', absent_ok=True)
        current = existing(export)
        check_references(items, current)
        ops = []
        for kind in KINDS:
            for name, want in sorted(items[kind].items()):
                have = current[kind].get(name)
                if have is None:
                    ops.append(('create', kind, name))
                elif differing(want, have):
                    ops.append(('update', kind, name))
        members, before_members = {}, {}
        for name, policy in items['policies'].items():
            members[name] = self._member_ids(realm, name, policy)
        for op, kind, name in ops:
            if op == 'update' and kind == 'policies':
                # What the undo of the update puts back.
                before_members[name] = self._member_ids(realm, name, current[kind][name])
        client_plan['authorization'] = dict(items=items, current=current, ops=ops, members=members,
                                            before_members=before_members)

    def _member_ids(self, realm, name, policy):
        if policy.get('type') == 'role':
            return self._role_ids(realm, name, policy.get('roles') or [])
        return self._client_ids(realm, name, policy.get('clients') or [])

    def _base(self, realm, uuid):
        return admin_path(realm, 'clients', uuid, 'authz', 'resource-server')

    def _role_ids(self, realm, policy, names):
        ids = []
        for name in names:
            key = (realm, name)
            if key not in self._roles:
                owner, _sep, role = name.rpartition('/')
                if owner:
                    client = self._client(realm, owner)
                    if client is None:
                        raise InvalidAuthorization("policy '%s': role '%s' names client '%s', which does not exist in "
                                                   "realm '%s'" % (policy, name, owner, realm))
                    if client['id'] is None:
                        raise InvalidAuthorization("policy '%s': role '%s' names client '%s', which this task creates "
                                                   "without roles" % (policy, name, owner))
                    path = admin_path(realm, 'clients', client['id'], 'roles', role)
                else:
                    path = admin_path(realm, 'roles', role)
                found = self.api.get(path, absent_ok=True)
                if found is None:
                    raise InvalidAuthorization("policy '%s': role '%s' does not exist in realm '%s'"
                                               % (policy, name, realm))
                self._roles[key] = found['id']
            ids.append(self._roles[key])
        return ids

    def _client(self, realm, client_id):
        key = (realm, client_id)
        if key not in self._clients:
            self._clients[key] = self.clients(realm, client_id)
        return self._clients[key]

    def _client_ids(self, realm, policy, client_ids):
        ids = []
        for client_id in client_ids:
            client = self._client(realm, client_id)
            if client is None:
                raise InvalidAuthorization("policy '%s': client '%s' does not exist in realm '%s'"
                                           % (policy, client_id, realm))
            # A client the task creates has an id once created: _body() looks it up then.
            ids.append(client['id'] or (realm, client_id))
        return ids

    def _resolved(self, ids):
        return [self.clients(*i)['id'] if isinstance(i, tuple) else i for i in ids]

    def apply(self, client_plan, result):
        """Carry out the ops (none in check mode) and fold them into the client's result and diff."""
        authz = client_plan.get('authorization')
        if not authz:
            return
        before, after = self._views(authz)
        result['diff']['before']['authorization'] = before
        result['diff']['after']['authorization'] = after
        if result.get('end_state') is not None:
            result['end_state']['authorization'] = after
        if not authz['ops']:
            return
        result['changed'] = True
        if self.check_mode:
            return
        base = self._base(client_plan['realm'], client_plan['current']['id'])
        client_id = client_plan['client_id']
        for op, kind, name in authz['ops']:
            body = self._body(kind, name, authz)
            what = "%sd authorization %s '%s' of %s" % (op, ITEM[kind], name, client_id)
            if op == 'create':
                self._write(what, 'POST', '%s/%s' % (base, self._endpoint(kind, body)), body,
                            undo=lambda answer, kind=kind: ('DELETE', '%s/%s/%s' % (
                                base, SEARCH_ENDPOINT[kind], _id_of(answer[1])), None))
            else:
                # The export names things without ids; an update looks its one id up by name.
                found = self.api.get('%s/%s/search' % (base, SEARCH_ENDPOINT[kind]), params={'name': name})
                id_field = '_id' if kind == 'resources' else 'id'
                body[id_field] = _id_of(found)
                before = dict(self._body(kind, name, authz, before=True), **{id_field: body[id_field]})
                path = '%s/%s/%s' % (base, self._endpoint(kind, body), body[id_field])
                self._write(what, 'PUT', path, body, undo=('PUT', path, before))

    def _write(self, what, method, path, body, undo):
        """Every write of authorization goes here, recorded with its undo in the task's journal."""
        def send():
            return self.api.request(method, path, body=body)

        if self.journal is None:
            return send()
        return self.journal.write(what, send, undo=undo)

    @staticmethod
    def _endpoint(kind, body):
        return dict(scopes='scope', resources='resource', policies='policy/' + str(body.get('type')),
                    permissions='permission/scope')[kind]

    def _body(self, kind, name, authz, before=False):
        """The representation to send: Keycloak's current fields, overlaid with the declared ones (before: only the
        current ones, what an undo puts back)."""
        want = {} if before else authz['items'][kind][name]
        have = authz['current'][kind].get(name) or {}
        body = {k: v for k, v in dict(have, **want).items() if v is not None}
        body['name'] = name
        if kind == 'resources':
            body['scopes'] = [dict(name=s) for s in body.get('scopes') or []]
        elif kind == 'policies':
            # Members by id: names are ambiguous for client roles ('client/role' with a '/' in the client id).
            member = 'roles' if body['type'] == 'role' else 'clients'
            ids = self._resolved(authz['before_members' if before else 'members'][name])
            body[member] = [dict(id=i, required=False) for i in ids] if member == 'roles' else ids
        return body

    @staticmethod
    def _views(authz):
        """Declared items before and after, only the declared fields, masked like every diff."""
        before: dict = {}
        after: dict = {}
        for kind in KINDS:
            for name, want in sorted(authz['items'][kind].items()):
                have = authz['current'][kind].get(name)
                # Item names are not secrets (mask() would hide a resource called 'secrets'): mask the fields.
                if have is not None:
                    before.setdefault(kind, {})[name] = mask({f: have.get(f) for f in want})
                after.setdefault(kind, {})[name] = mask(dict(want))
        return before, after


def _id_of(representation):
    representation = representation or {}
    return representation.get('id') or representation.get('_id')
