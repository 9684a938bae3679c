# -*- coding: utf-8 -*-
# Copyright: keycloak_ops contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Internal to keycloak_ops.clients: no stability promise. Modules and plugins of other collections
# must not import it; its names and signatures change whenever the collection needs them to.
"""Authorization services of a confidential client (its resource server): its settings, scopes, resources,
policies and permissions, reconciled like every other field of the client (the items themselves, what goes and
the order of the writes: _clients/authorization_items.py).

Items are matched by name; of each only the fields given are compared. What goes: items declared absent, and
under exclusive every undeclared item of the kind. One read of the resource server's export
(GET .../authz/resource-server/settings, which names everything by name) shows what exists; roles, clients,
groups and users named by policies are looked up before the first write, so a bad reference changes nothing.
A policy may name a client the same task creates: its id is looked up when the policy is written, after the task's
clients. Every write goes through AuthorizationReconciler._write(), which records its undo in the task's journal
(_clients/journal.py): a create is undone by a delete, an update by putting the item back as it was, a removal by
creating the item again from what the export showed.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.keycloak_ops.clients.plugins.module_utils._clients.authorization_items import (
    KINDS, SINGULAR, InvalidAuthorization, declared, existing, plan_ops, removed,
)
from ansible_collections.keycloak_ops.clients.plugins.module_utils._core.connection import admin_path, find_client
from ansible_collections.keycloak_ops.clients.plugins.module_utils._core.masking import mask

# Where an item of each kind is found by name (…/search) and deleted by id.
ITEM_ENDPOINT = dict(scopes='scope', resources='resource', policies='policy', permissions='policy')
# Fields of the export's view of a policy that are not fields of the representation the API takes.
NOT_SENT = ('extendChildren',)


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
        self._groups = {}
        self._users = {}

    def plan(self, client_plan):
        """Add client_plan['authorization']: the declaration, what exists, the ops and the members' ids."""
        options = client_plan['options']
        declaration = declared(options.get('authorization'))
        if declaration is None or client_plan['action'] in ('delete', 'none'):
            return
        realm, client = client_plan['realm'], client_plan.get('current')
        export = None
        if client is not None and client.get('authorizationServicesEnabled'):
            export = self.api.get(self._base(realm, client['id']) + '/settings', absent_ok=True)
        # Keycloak 26 gives a new resource server no items (measured on 26.7: no "Default Resource", "Default
        # Policy" or "Default Permission" through the admin API); where a server or the console made them, they
        # are in the export like any other item.
        current = existing(export)
        ops = plan_ops(declaration, current)
        members, before_members = {}, {}
        for name, policy in sorted(declaration['items']['policies'].items()):
            members[name] = self._members(realm, name, policy)
        for op, kind, name in ops:
            if kind == 'policies' and op in ('update', 'delete'):
                # What the undo of the update or removal puts back.
                before_members[name] = self._before_members(realm, name, current[kind][name])
        client_plan['authorization'] = dict(declaration=declaration, items=declaration['items'], current=current,
                                            gone=removed(declaration, current), ops=ops, members=members,
                                            before_members=before_members)

    def _before_members(self, realm, name, policy):
        """The ids of a policy's members as Keycloak has them; a member that no longer resolves cannot be put back."""
        try:
            return self._members(realm, name, policy)
        except InvalidAuthorization:
            return None

    def _base(self, realm, uuid):
        return admin_path(realm, 'clients', uuid, 'authz', 'resource-server')

    def _members(self, realm, policy, fields):
        """The ids the API takes for a policy's members (names are ambiguous or not accepted), or None."""
        kind = fields['type']
        if kind == 'role':
            return self._role_ids(realm, policy, fields['roles'])
        if kind == 'client':
            return self._client_ids(realm, policy, fields['clients'])
        if kind == 'group':
            return [self._group_id(realm, policy, path) for path in fields['groups']]
        if kind == 'user':
            return [self._user_id(realm, policy, name) for name in fields['users']]
        return None

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

    def _group_id(self, realm, policy, path):
        # Keycloak stores a group policy naming a group that does not exist (measured on 26.7): look it up here.
        key = (realm, path)
        if key not in self._groups:
            found = self.api.get(admin_path(realm, 'group-by-path', *path.strip('/').split('/')), absent_ok=True)
            self._groups[key] = (found or {}).get('id')
        if self._groups[key] is None:
            raise InvalidAuthorization("policy '%s': group '%s' does not exist in realm '%s' (groups are named by "
                                       "path, for example /staff/payroll)" % (policy, path, realm))
        return self._groups[key]

    def _user_id(self, realm, policy, username):
        key = (realm, username)
        if key not in self._users:
            found = self.api.get(admin_path(realm, 'users'), params={'username': username, 'exact': 'true'}) or []
            self._users[key] = next((u['id'] for u in found if u.get('username') == username), None)
        if self._users[key] is None:
            # Keycloak lists no user to an identity holding query-users without view-users (measured on 26.7).
            raise InvalidAuthorization("policy '%s': user '%s' does not exist in realm '%s' (or the identity lacks the "
                                       "'view-users' role of realm-management, without which Keycloak lists no user)"
                                       % (policy, username, realm))
        return self._users[key]

    def _resolved(self, ids):
        """Member ids with the clients this task created looked up now ((realm, client_id) until then)."""
        if ids is None:
            return None
        return [self.clients(*i)['id'] if isinstance(i, tuple) else i for i in ids]

    # -- apply ---------------------------------------------------------------------------------

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
        label = "client %s" % client_plan['client_id']
        for op, kind, name in authz['ops']:
            if kind == 'server':
                old = {k: v for k, v in authz['current']['server'].items() if v is not None}
                self._write("updated the resource server settings of %s" % label, 'PUT', base,
                            self._server_body(authz), undo=('PUT', base, old))
                continue
            what = "%s authorization %s '%s' of %s" % (op + 'd', SINGULAR[kind], name, label)
            if op == 'create':
                body = self._body(kind, name, authz)
                self._write(what, 'POST', '%s/%s' % (base, self._endpoint(kind, body)), body,
                            undo=lambda answer, kind=kind: _delete_created(base, kind, answer))
                continue
            # The export names things without ids: an update or removal looks its one id up by name.
            item_id = _id_of(self.api.get('%s/%s/search' % (base, ITEM_ENDPOINT[kind]), params={'name': name}))
            before = self._body(kind, name, authz, before=True)
            if op == 'delete':
                if item_id:  # else already gone, e.g. with the policy it was the only part of
                    self._write(what, 'DELETE', '%s/%s/%s' % (base, ITEM_ENDPOINT[kind], item_id), None,
                                undo=('POST', '%s/%s' % (base, self._endpoint(kind, before)), before))
                continue
            if not item_id:
                raise InvalidAuthorization("%s: Keycloak no longer finds it by name; run the task again" % what)
            id_field = '_id' if kind == 'resources' else 'id'
            body = dict(self._body(kind, name, authz), **{id_field: item_id})
            path = '%s/%s/%s' % (base, self._endpoint(kind, body), item_id)
            self._write(what, 'PUT', path, body, undo=('PUT', path, dict(before, **{id_field: item_id})))

    def _write(self, what, method, path, body, undo):
        """The one way an authorization write is sent, recorded with its undo in the task's journal (what: the
        sentence naming it). A POST whose answer is lost is not sent again: the next run finds the item by name
        and converges."""
        hint = "run the task again: it finds what was %s by name and converges" % what.split(' ', 1)[0]

        def send():
            return self.api.request(method, path, body=body, absent_ok=method == 'DELETE',
                                    check_hint=hint if method == 'POST' else None)

        if self.journal is None:
            return send()
        return self.journal.write(what, send, undo=undo)

    @staticmethod
    def _server_body(authz):
        """The resource server's settings: Keycloak resets what a PUT leaves out (measured on 26.7), so all go."""
        have = authz['current']['server']
        body = {k: v for k, v in have.items() if v is not None}
        body.update(authz['declaration']['server'])
        return body

    @staticmethod
    def _endpoint(kind, body):
        return dict(scopes='scope', resources='resource', policies='policy/' + str(body.get('type')),
                    permissions='permission/' + str(body.get('type')))[kind]

    def _body(self, kind, name, authz, before=False):
        """The representation to send: Keycloak's current fields, overlaid with the declared ones (a time policy
        declares every field of its window, unset ones as None: those are left out, and Keycloak drops them);
        before: only the current ones, what an undo puts back."""
        want = {} if before else authz['items'][kind][name]
        have = authz['current'][kind].get(name) or {}
        body = {k: v for k, v in dict(have, **want).items() if v is not None and k not in NOT_SENT}
        body['name'] = name
        if kind == 'resources':
            body['scopes'] = [dict(name=s) for s in body.get('scopes') or []]
        elif kind == 'policies':
            ids = self._resolved(authz['before_members' if before else 'members'].get(name))
            kind_of = body['type']
            if kind_of == 'role':
                # Members by id: names are ambiguous for client roles ('client/role' with a '/' in the client id).
                body['roles'] = [dict(id=i, required=False) for i in ids or []]
            elif kind_of == 'group':
                extend = bool(dict(have, **want).get('extendChildren'))
                body['groups'] = [dict(id=i, extendChildren=extend) for i in ids or []]
            elif kind_of in ('client', 'user'):
                body[kind_of + 's'] = ids or []
        return body

    @staticmethod
    def _views(authz):
        """Declared items before and after, only the declared fields; an item that goes shows all its fields
        before and is missing after. Masked like every diff."""
        before: dict = {}
        after: dict = {}
        current, declaration = authz['current'], authz['declaration']
        for kind in KINDS:
            for name, want in sorted(authz['items'][kind].items()):
                have = current[kind].get(name)
                # Item names are not secrets (mask() would hide a resource called 'secrets'): mask the fields.
                if have is not None:
                    before.setdefault(kind, {})[name] = mask({f: have.get(f) for f in want})
                after.setdefault(kind, {})[name] = mask(dict(want))
            for name in sorted(authz['gone'][kind]):
                fields = {f: v for f, v in current[kind][name].items() if v not in (None, [])}
                before.setdefault(kind, {})[name] = mask(fields)
        if declaration['server']:
            before['settings'] = {f: current['server'].get(f) for f in declaration['server']}
            after['settings'] = dict(declaration['server'])
        return before, after


def _id_of(representation):
    representation = representation or {}
    return representation.get('id') or representation.get('_id')


def _delete_created(base, kind, answer):
    """The undo of a create: a delete of the id Keycloak answered with (none: the journal says it cannot undo)."""
    item_id = _id_of(answer[1] if isinstance(answer[1], dict) else None)
    if not item_id:
        raise ValueError('no id in the answer')
    return ('DELETE', '%s/%s/%s' % (base, ITEM_ENDPOINT[kind], item_id), None)
