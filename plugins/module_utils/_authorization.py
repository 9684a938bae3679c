# -*- coding: utf-8 -*-
# Copyright: keycloak_ops contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Internal to keycloak_ops.clients: no stability promise. Modules and plugins of other collections
# must not import it; its names and signatures change whenever the collection needs them to.
"""Authorization services of a confidential client (its resource server): its settings, scopes, resources,
policies and permissions, reconciled like every other field of the client (the items themselves, what goes and
the order of the writes: _authorization_items.py).

Items are matched by name; of each only the fields given are compared. What goes: items declared absent, and
under exclusive every undeclared item of the kind. One read of the resource server's export
(GET .../authz/resource-server/settings, which names everything by name) shows what exists; roles, clients,
groups and users named by policies are looked up before the first write, so a bad reference changes nothing.
Every write goes through AuthorizationReconciler._write().
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.keycloak_ops.clients.plugins.module_utils._authorization_items import (
    KINDS, SINGULAR, InvalidAuthorization, declared, existing, plan_ops, removed,
)
from ansible_collections.keycloak_ops.clients.plugins.module_utils._connection import admin_path, find_client
from ansible_collections.keycloak_ops.clients.plugins.module_utils._masking import mask

SEARCH_ENDPOINT = dict(scopes='scope', resources='resource', policies='policy', permissions='policy')
DELETE_ENDPOINT = dict(scopes='scope', resources='resource', policies='policy', permissions='policy')
# Fields of the export's view of a policy that are not fields of the representation the API takes.
NOT_SENT = ('extendChildren',)


class AuthorizationReconciler(object):
    """Plans (reads only) and applies (writes in order) the declared authorization of clients of one task."""

    def __init__(self, api, check_mode=False):
        self.api = api
        self.check_mode = check_mode
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
        members = {}
        for name, policy in sorted(declaration['items']['policies'].items()):
            members[name] = self._members(realm, name, policy)
        client_plan['authorization'] = dict(declaration=declaration, items=declaration['items'], current=current,
                                            gone=removed(declaration, current), ops=ops, members=members)

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
            self._clients[key] = find_client(self.api, realm, client_id)
        return self._clients[key]

    def _client_ids(self, realm, policy, client_ids):
        ids = []
        for client_id in client_ids:
            client = self._client(realm, client_id)
            if client is None:
                raise InvalidAuthorization("policy '%s': client '%s' does not exist in realm '%s'"
                                           % (policy, client_id, realm))
            ids.append(client['id'])
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
            raise InvalidAuthorization("policy '%s': user '%s' does not exist in realm '%s'" % (policy, username, realm))
        return self._users[key]

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
                self._write('PUT', base, self._server_body(authz), "updated the resource server settings of %s" % label)
                continue
            what = "%s authorization %s '%s' of %s" % (op + 'd', SINGULAR[kind], name, label)
            if op == 'create':
                body = self._body(kind, name, authz)
                self._write('POST', '%s/%s' % (base, self._endpoint(kind, body)), body, what)
                continue
            # The export names things without ids: an update or removal looks its one id up by name.
            found = self.api.get('%s/%s/search' % (base, SEARCH_ENDPOINT[kind]), params={'name': name})
            item_id = (found or {}).get('id') or (found or {}).get('_id')
            if op == 'delete':
                if item_id:  # else already gone, e.g. with the policy it was the only part of
                    self._write('DELETE', '%s/%s/%s' % (base, DELETE_ENDPOINT[kind], item_id), None, what)
                continue
            if not item_id:
                raise InvalidAuthorization("%s: Keycloak no longer finds it by name; run the task again" % what)
            body = self._body(kind, name, authz)
            body['_id' if kind == 'resources' else 'id'] = item_id
            self._write('PUT', '%s/%s/%s' % (base, self._endpoint(kind, body), item_id), body, what)

    def _write(self, method, path, body, what):
        """The one way an authorization write is sent (what: the sentence naming it, for journals and errors).

        A POST whose answer is lost is not sent again: the next run finds the item by name and converges.
        """
        if method == 'POST':
            return self.api.post(path, body, check_hint="run the task again: it finds what was %s by name and "
                                                        "converges" % what.split(' ', 1)[0])
        if method == 'DELETE':
            return self.api.request('DELETE', path, absent_ok=True)
        return self.api.request(method, path, body=body)

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

    @staticmethod
    def _body(kind, name, authz):
        """The representation to send: Keycloak's current fields, overlaid with the declared ones (a time policy
        declares every field of its window, unset ones as None: those are left out, and Keycloak drops them)."""
        want, have = authz['items'][kind][name], authz['current'][kind].get(name) or {}
        body = {k: v for k, v in dict(have, **want).items() if v is not None and k not in NOT_SENT}
        body['name'] = name
        if kind == 'resources':
            body['scopes'] = [dict(name=s) for s in body.get('scopes') or []]
        elif kind == 'policies':
            ids = authz['members'].get(name)
            kind_of = body['type']
            if kind_of == 'role':
                # Members by id: names are ambiguous for client roles ('client/role' with a '/' in the client id).
                body['roles'] = [dict(id=i, required=False) for i in ids]
            elif kind_of == 'group':
                extend = bool(dict(have, **want).get('extendChildren'))
                body['groups'] = [dict(id=i, extendChildren=extend) for i in ids]
            elif kind_of in ('client', 'user'):
                body[kind_of + 's'] = ids
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
