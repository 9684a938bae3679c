# -*- coding: utf-8 -*-
# Copyright: keycloak_ops contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Internal to keycloak_ops.clients: no stability promise. Modules and plugins of other collections
# must not import it; its names and signatures change whenever the collection needs them to.
"""Plan each client of a task from reads only: Keep, Create, Update or Delete, each knowing its own writes.

All reads of every client happen here, before the first write of any client, so a bad item (unknown scope, unknown
role, unknown realm) fails the task with nothing created. The planner sends no write; the writer (write.py) carries a
plan out. A plan is a mapping (realm, client_id, options, current, desired, ...) that the authorization planner and the
result views read as well.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.keycloak_ops.clients.plugins.module_utils._clients.options import (
    desired_state, mapper_ops, representation_changes,
)
from ansible_collections.keycloak_ops.clients.plugins.module_utils._core.connection import admin_path


class ClientPlan(dict):
    """What one client needs; `action` names the kind of plan, apply() hands it to the writer's matching step."""

    action = ''

    def __init__(self, **fields):
        dict.__init__(self, action=self.action, **fields)

    def writes(self):
        """Whether applying the plan sends any write request."""
        return False

    def stage(self):
        """When the task runs it (run.py): with the creates and plain updates, after them when Keycloak deletes
        something by itself ('side effects'), or last ('delete')."""
        return 'write'

    def apply(self, writer):
        return writer.keep(self)


class Keep(ClientPlan):
    """Nothing to do: absent and meant to be, or (an Update without changes is one too) as declared."""

    action = 'none'


class Create(ClientPlan):
    action = 'create'

    def writes(self):
        return True

    def apply(self, writer):
        return writer.create(self)


class Update(ClientPlan):
    action = 'update'

    def writes(self):
        grant = self['roles_to_grant']
        return bool(self['changes'] or self['scope_ops'] or self['mapper_ops'] or grant['realm'] or grant['clients'])

    def stage(self):
        return 'side effects' if self.side_effects() else 'write'

    def side_effects(self):
        """What Keycloak deletes by itself when this update is written: no rollback can bring it back."""
        changes, current = self['changes'], self['current']
        effects = []
        if changes.get('authorizationServicesEnabled') is False and current.get('authorizationServicesEnabled'):
            effects.append('authorization services off: Keycloak deleted its resource server')
        service_accounts_off = (changes.get('serviceAccountsEnabled') is False
                                or changes.get('publicClient') is True)
        if service_accounts_off and current.get('serviceAccountsEnabled'):
            effects.append('service accounts off: Keycloak deleted its service-account user and its roles')
        return effects

    def apply(self, writer):
        return writer.update(self)


class Delete(ClientPlan):
    action = 'delete'

    def stage(self):
        return 'delete'

    def writes(self):
        return True

    def apply(self, writer):
        return writer.delete(self)


class Planner(object):
    """Decides every client's plan from the reads (reads.py) it is given; sends no write."""

    def __init__(self, reads, kind):
        self.reads = reads
        self.kind = kind
        # (realm, client_id) -> the plan of each client of the task, so that references between them resolve.
        self.planned = {}

    def plan(self, options):
        realm, client_id = options['realm'], options['client_id']
        current = self.reads.find_client(realm, client_id)
        fields = dict(realm=realm, client_id=client_id, current=current, options=options)
        if options.get('state') == 'absent':
            plan = Delete(**fields) if current else Keep(**fields)
        else:
            plan = self._present(fields)
        self.planned[(realm, client_id)] = plan
        return plan

    def client(self, realm, client_id):
        """The client as it will be once the task's clients are written: its representation, or for a client this
        task creates {'clientId', 'id': None} until created (then its id); None when absent or deleted."""
        plan = self.planned.get((realm, client_id))
        if plan is None:
            earlier = self.reads.planned_clients.get((realm, client_id))
            if earlier == 'absent':
                return None
            found = self.reads.find_client(realm, client_id)
            if found is None and earlier == 'present':
                return dict(clientId=client_id, id=None)
            return found
        if plan.action == 'delete' or (plan.action == 'none' and not plan['current']):
            return None
        if plan.action == 'create' and not plan.get('current'):
            return dict(clientId=client_id, id=None)
        return plan['current']

    def _present(self, fields):
        realm, current, reads = fields['realm'], fields['current'], self.reads
        desired = desired_state(fields['options'], self.kind)
        desired['default_scopes'] = reads.resolve_scopes(realm, desired['default_scopes'], 'default_client_scopes')
        desired['optional_scopes'] = reads.resolve_scopes(realm, desired['optional_scopes'], 'optional_client_scopes')
        reads.check_mapper_types(desired['mappers'])
        realm_roles = [reads.realm_role(realm, name) for name in desired['realm_roles']]
        client_roles = [(cid, reads.client_role(realm, cid, name))
                        for cid, names in sorted(desired['client_roles'].items()) for name in names]
        fields.update(desired=desired, realm_roles=realm_roles, client_roles=client_roles)
        if current is None:
            return Create(create_scopes=self._create_scopes(realm, desired),
                          roles_to_grant=dict(realm=realm_roles, clients=client_roles), **fields)
        return Update(changes=self._rep_changes(desired['rep'], current),
                      scope_ops=self._scope_ops(realm, desired, current),
                      mapper_ops=mapper_ops(desired['mappers'], current.get('protocolMappers') or []),
                      roles_to_grant=self._missing_roles(realm, current, realm_roles, client_roles), **fields)

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
                lists[kind] = set(self.reads.realm_default_scopes(realm, kind))
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
                kept = self.reads.server_attached_scopes(realm, dict(current, **desired['rep']))
                unwanted = have[kind] - set(want[kind]) - kept
                removes.extend(('remove', kind, name) for name in sorted(unwanted))
        return sorted(set(removes)) + adds

    def _missing_roles(self, realm, current, realm_roles, client_roles):
        if not realm_roles and not client_roles:
            return dict(realm=[], clients=[])
        if not current.get('serviceAccountsEnabled'):
            # Turning service accounts on creates the service-account user; it holds nothing yet.
            return dict(realm=realm_roles, clients=client_roles)
        reads = self.reads
        by_holders = reads.missing_by_holders(realm, current, realm_roles, client_roles)
        if by_holders is not None:
            return by_holders
        user_id, held = reads.service_account_roles(realm, current)
        missing: dict = dict(realm=[r for r in realm_roles if r['name'] not in held[None]], clients=[])
        for owner_id in sorted({cid for cid, _role in client_roles}):
            owner_uuid = reads.find_client(realm, owner_id)['id']
            names = {r['name'] for r in reads.api.get(
                admin_path(realm, 'users', user_id, 'role-mappings', 'clients', owner_uuid)) or []}
            missing['clients'].extend((cid, r) for cid, r in client_roles
                                      if cid == owner_id and r['name'] not in names)
        return missing
