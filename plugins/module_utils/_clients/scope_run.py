# -*- coding: utf-8 -*-
# Copyright: keycloak_ops contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Internal to keycloak_ops.clients: no stability promise. Modules and plugins of other collections
# must not import it; its names and signatures change whenever the collection needs them to.
"""The run of client_scope: validate every scope, read each realm's scopes once, plan all, check the rights,
then write only what differs, undoing this task's writes when Keycloak refuses one.

Reads per realm: the realm's client scopes (one listing: full representations with their mappers), its default
and optional scopes (two, only when some item declares realm_default) and the server's mapper types (one, only
when a mapper is declared by its Keycloak id). A run that changes nothing sends no write and no rights check.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.keycloak_ops.clients.plugins.module_utils._clients.scopes import (
    CREATE_ATTRIBUTES, InvalidScope, desired_scope, mapper_ops, planned_rep, realm_default_of, scope_changes,
    scope_view,
)
from ansible_collections.keycloak_ops.clients.plugins.module_utils._core.connection import admin_path
from ansible_collections.keycloak_ops.clients.plugins.module_utils._core.errors import KeycloakOpsError, Unavailable
from ansible_collections.keycloak_ops.clients.plugins.module_utils._core.rights import AdminRights

KINDS = ('default', 'optional')
WHY_VIEW = "reading client scopes needs (with query-clients alone Keycloak hides them)"
# Measured on Keycloak 26.x with service accounts holding single roles: manage-clients creates, changes and deletes
# client scopes and their mappers and sets the realm's default and optional scopes; manage-realm does not (403),
# not even with view-clients.
WHY_WRITE = "creating, changing and deleting client scopes, and setting the realm's default client scopes, needs"


class ScopeReconciler(object):
    """Plans and applies the scopes of one task over one session; records how to undo each write."""

    def __init__(self, api, check_mode=False):
        self.api = api
        self.check_mode = check_mode
        self.rights = AdminRights(api)
        self._scopes = {}
        self._defaults = {}
        self._mapper_types = None
        # (what, method, path, body) that undo this task's writes, newest last; deletions cannot be undone.
        self.undo = []
        self.deleted = []

    # -- reads ----------------------------------------------------------------------------------------------------

    def scopes(self, realm):
        """The realm's client scopes by name, full representations, read once per task."""
        if realm not in self._scopes:
            listed = self.api.get(admin_path(realm, 'client-scopes')) or []
            self._scopes[realm] = {s.get('name'): s for s in listed}
        return self._scopes[realm]

    def realm_defaults(self, realm):
        """{'default': ids, 'optional': ids} of the realm's default client scopes, read once per task."""
        if realm not in self._defaults:
            self._defaults[realm] = {kind: {s.get('id') for s in self.api.get(
                admin_path(realm, 'default-%s-client-scopes' % kind)) or []} for kind in KINDS}
        return self._defaults[realm]

    def _known_mapper_types(self, protocol):
        if self._mapper_types is None:
            try:
                info = self.api.get('admin/serverinfo') or {}
            except KeycloakOpsError:
                info = {}
            self._mapper_types = {p: {t.get('id') for t in types}
                                  for p, types in (info.get('protocolMapperTypes') or {}).items()}
        return self._mapper_types.get(protocol)

    # -- plan -----------------------------------------------------------------------------------------------------

    def plan(self, options):
        realm, name = options['realm'], options['name']
        current = self.scopes(realm).get(name)
        plan = dict(realm=realm, name=name, current=current, options=options, desired=None)
        if options.get('state') == 'absent':
            plan['action'] = 'delete' if current else 'none'
            return plan
        desired = desired_scope(options, (current or {}).get('protocol'))
        for index, mapper in enumerate(desired['mappers']):
            known = self._known_mapper_types(mapper['protocol']) if mapper['raw'] else None
            if known is not None and mapper['protocolMapper'] not in known:
                raise InvalidScope("protocol_mappers[%d]: Keycloak has no %s protocol mapper type '%s' (for example: %s)"
                                   % (index, mapper['protocol'], mapper['protocolMapper'], ', '.join(sorted(known)[:3])))
        plan['desired'] = desired
        want = desired['realm_default']
        have = None
        if current is not None and want is not None:
            have = realm_default_of(current.get('id'), self.realm_defaults(realm))
        elif want is not None:
            have = 'none'
        plan['realm_default'] = (have, want if want is not None else have)
        plan['default_ops'] = [] if want is None or have == want else (
            ([('remove', have)] if have != 'none' else []) + ([('add', want)] if want != 'none' else []))
        if current is None:
            plan['action'] = 'create'
            plan['mapper_ops'] = mapper_ops(desired['mappers'], [])
            return plan
        plan['action'] = 'update'
        plan['changes'] = scope_changes(desired['rep'], current)
        plan['mapper_ops'] = mapper_ops(desired['mappers'], current.get('protocolMappers') or [])
        return plan

    @staticmethod
    def writes(plan):
        if plan['action'] in ('create', 'delete'):
            return True
        return plan['action'] == 'update' and bool(plan['changes'] or plan['mapper_ops'] or plan['default_ops'])

    def check_rights(self, plans):
        """Refuse before the first write when the identity cannot do every planned step; free when nothing changes."""
        for plan in plans:
            if plan['current'] is None:
                # Absent may only mean hidden: query-clients alone lists no scope.
                self.rights.require_view(plan['realm'], WHY_VIEW)
            if self.writes(plan):
                self.rights.require(plan['realm'], 'manage-clients', WHY_WRITE)

    # -- apply ----------------------------------------------------------------------------------------------------

    def apply(self, plan):
        action = plan['action']
        if action == 'none':
            return self._result(plan, False, {}, {})
        if action == 'delete':
            before = scope_view(plan['current'], None)
            if not self.check_mode:
                self.api.delete(admin_path(plan['realm'], 'client-scopes', plan['current']['id']))
                self.deleted.append(plan['name'])
            return self._result(plan, True, before, {})
        changes = plan.get('changes') or {}
        after_rep = planned_rep(plan['current'], changes, plan['mapper_ops'])
        if plan['current'] is None:
            after_rep = dict(after_rep, **plan['desired']['rep'])
        have, want = plan['realm_default']
        before = scope_view(plan['current'], plan['desired'], have) if plan['current'] else {}
        after = scope_view(after_rep, plan['desired'], want)
        changed = self.writes(plan)
        if changed and not self.check_mode:
            if plan['current'] is None:
                self._create(plan)
            else:
                self._update(plan)
            self._set_realm_default(plan)
        return self._result(plan, changed, before, after)

    def _create(self, plan):
        realm, desired = plan['realm'], plan['desired']
        body = dict(desired['rep'], protocol=desired['rep'].get('protocol') or 'openid-connect',
                    attributes=dict(CREATE_ATTRIBUTES, **(desired['rep'].get('attributes') or {})))
        body['protocolMappers'] = [mapper for _op, mapper, _existing in plan['mapper_ops']]
        _status, _body, headers = self.api.post(
            admin_path(realm, 'client-scopes'), body,
            check_hint="look for client scope '%s' in realm '%s' before running the task again" % (plan['name'], realm))
        scope_id = (headers.get('Location') or '').rstrip('/').rsplit('/', 1)[-1]
        self._remember('created client scope %s' % plan['name'], 'DELETE', admin_path(realm, 'client-scopes', scope_id))
        plan['current'] = dict(body, id=scope_id)

    def _update(self, plan):
        realm, current = plan['realm'], plan['current']
        what = 'updated client scope %s' % plan['name']
        path = admin_path(realm, 'client-scopes', current['id'])
        if plan['changes']:
            original = {k: v for k, v in current.items() if k != 'protocolMappers'}
            # Keycloak's PUT replaces the whole scope (a body without its name fails with 500).
            body = planned_rep(original, plan['changes'], [])
            self.api.put(path, {k: v for k, v in body.items() if k != 'protocolMappers'})
            self._remember(what, 'PUT', path, original)
        models = path + '/protocol-mappers/models'
        for op, mapper, existing in plan['mapper_ops']:
            if op == 'add':
                _status, _body, headers = self.api.post(
                    models, mapper, check_hint="look for mapper '%s' of client scope '%s' before running the task "
                                               "again" % (mapper['name'], plan['name']))
                mapper_id = (headers.get('Location') or '').rstrip('/').rsplit('/', 1)[-1]
                # Without an id in the answer the mapper stands and cannot be taken back: rollback names it.
                self._remember(what, 'DELETE' if mapper_id else None, models + '/' + mapper_id)
            elif op == 'update':
                self.api.put(models + '/' + existing['id'], mapper)
                self._remember(what, 'PUT', models + '/' + existing['id'], existing)
            else:
                self.api.delete(models + '/' + existing['id'])
                self._remember(what, 'POST', models, {k: v for k, v in existing.items() if k != 'id'})

    def _set_realm_default(self, plan):
        realm, scope_id = plan['realm'], plan['current']['id']
        for op, kind in plan['default_ops']:
            path = admin_path(realm, 'default-%s-client-scopes' % kind, scope_id)
            if op == 'add':
                self.api.put(path, None)
            else:
                self.api.delete(path)
            self._remember('set the realm default of client scope %s' % plan['name'],
                           'DELETE' if op == 'add' else 'PUT', path)

    def _result(self, plan, changed, before, after):
        current = plan.get('current') or {}
        header = '%s/%s' % (plan['realm'], plan['name'])
        state = 'absent' if plan['action'] in ('delete', 'none') else 'present'
        result = dict(name=plan['name'], realm=plan['realm'], changed=changed, state=state, id=current.get('id'),
                      diff=dict(before=before, after=after, before_header=header, after_header=header))
        if state == 'present':
            result['end_state'] = after
        return result

    # -- rollback -------------------------------------------------------------------------------------------------

    def _remember(self, what, method, path, body=None):
        self.undo.append((what, method, path, body))

    def rollback(self):
        """Undo this task's writes, newest first. Returns the descriptions of what could not be undone."""
        failed = []
        while self.undo:
            what, method, path, body = self.undo.pop()
            if method is None:
                failed.append(what)
                continue
            # Only a delete meeting 404 (or 409) finds its work done; a put back that meets 404 restored nothing.
            expected = (200, 201, 204, 404, 409) if method == 'DELETE' else (200, 201, 204)
            try:
                self.api.request(method, path, body=body, expected=expected)
            except KeycloakOpsError:
                failed.append(what)
        return sorted(set(failed))


def run_client_scope_module(module):
    items = module.items()
    for index, options in enumerate(items):
        # Everything that can be told without Keycloak first, so a bad item costs no request.
        if options.get('state') != 'absent':
            with module.failing(module.label(index, options), '; nothing was changed'):
                desired_scope(options)
    reconciler = ScopeReconciler(module.api, check_mode=module.check_mode)
    plans = []
    for index, options in enumerate(items):
        try:
            plans.append(reconciler.plan(options))
        except Unavailable as exc:
            module.fail_json(msg="%s; nothing was changed" % exc)
        except (InvalidScope, KeycloakOpsError) as exc:
            module.fail_json(msg="%s: %s; nothing was changed" % (module.label(index, options), exc))
    with module.failing(suffix='; nothing was changed'):
        reconciler.check_rights(plans)

    results = [None] * len(plans)
    # Deletions last: a deleted scope cannot be put back as it was (its clients lose it), everything else can.
    order = [i for i, p in enumerate(plans) if p['action'] != 'delete'] + \
            [i for i, p in enumerate(plans) if p['action'] == 'delete']
    for index in order:
        try:
            results[index] = reconciler.apply(plans[index])
        except KeycloakOpsError as exc:
            module.fail_json(msg="%s: %s; %s" % (module.label(index, plans[index]['options']), exc,
                                                 after_failure(reconciler, exc, plans, results)))
    module.exit_items(results)


def after_failure(reconciler, exc, plans, results):
    """The end of the error line: exactly what stands after this task."""
    deleted = ("; deleted before the failure, not restored: %s" % ', '.join(reconciler.deleted)
               if reconciler.deleted else '')
    if isinstance(exc, Unavailable):
        done = ', '.join(p['name'] for p, r in zip(plans, results) if r and r['changed']) or 'none'
        return ("nothing rolled back, as Keycloak is not answering: client scopes changed in this task before: %s; "
                "run the task again once Keycloak answers, it converges" % done)
    if not reconciler.undo:
        return "nothing else was changed%s" % deleted if deleted else "nothing was changed"
    failed = reconciler.rollback()
    if failed:
        return "rolling back this task's writes failed for: %s; fix by hand%s" % (', '.join(failed), deleted)
    if deleted:
        return "this task's other writes were rolled back%s" % deleted
    return "this task's earlier writes were rolled back, nothing is changed"
