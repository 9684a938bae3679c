# -*- coding: utf-8 -*-
# Copyright: keycloak_ops contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Internal to keycloak_ops.clients: no stability promise. Modules and plugins of other collections
# must not import it; its names and signatures change whenever the collection needs them to.
"""The run of a client module, shared by confidential_client and public_client: validate, plan, apply.

Apply goes in stages, so that a refusal finds every write it has to undo still undoable:
1. clients created and updated (a few at a time): every client of the task then exists;
2. what names clients: service-account role grants and authorization items (a few at a time);
3. updates after which Keycloak deletes something by itself (authorization services or service accounts off),
   one at a time: what Keycloak deletes cannot be undone;
4. deletes, one at a time, after every other write succeeded: a deleted client cannot be brought back as it was.
A refusal rolls back every undoable write of the task (the journal, journal.py); the failure message and the
failed result's `stands` name exactly the writes that stand. When Keycloak stops answering nothing is rolled back:
the message and `stands`/`may_stand` name what stands and what may, and a re-run converges.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.keycloak_ops.clients.plugins.module_utils._clients.authorization import AuthorizationReconciler
from ansible_collections.keycloak_ops.clients.plugins.module_utils._clients.authorization_items import (
    InvalidAuthorization, with_authorization,
)
from ansible_collections.keycloak_ops.clients.plugins.module_utils._core.items import item_label as _label
from ansible_collections.keycloak_ops.clients.plugins.module_utils._clients.options import InvalidClient, merged_options
from ansible_collections.keycloak_ops.clients.plugins.module_utils._clients.validation import validate
from ansible_collections.keycloak_ops.clients.plugins.module_utils._clients.journal import Journal
from ansible_collections.keycloak_ops.clients.plugins.module_utils._clients.plan import Planner
from ansible_collections.keycloak_ops.clients.plugins.module_utils._clients.reads import ClientReads, ReadAhead
from ansible_collections.keycloak_ops.clients.plugins.module_utils._clients.write import ClientWriter
from ansible_collections.keycloak_ops.clients.plugins.module_utils._core.connection import admin_path
from ansible_collections.keycloak_ops.clients.plugins.module_utils._core.errors import OneLineError, Unavailable
from ansible_collections.keycloak_ops.clients.plugins.module_utils._core.masking import collect_secrets
from ansible_collections.keycloak_ops.clients.plugins.module_utils._core.parallel import run_bounded

# Every failure a person reads (a refusal, bad input found late, Keycloak not answering); run_bounded turns any
# other error into a one-line WorkerError.
FAILURES = (OneLineError,)


def run_client_module(module, kind):
    merged = _validated(module, kind)
    task = ClientTask(module, kind)
    plans = task.plan(merged)
    results = task.apply(plans)
    for plan, result in zip(plans, results):
        _warn(module, kind, plan, result)
    module.exit_items(results)


def _validated(module, kind):
    """Every item's options, presets filled in, checked without a request."""
    merged = []
    for index, options in enumerate(module.items()):
        options = merged_options(options, kind)
        try:
            validate(options, kind)
            options = with_authorization(options)
        except (InvalidClient, InvalidAuthorization) as exc:
            module.fail_json(msg="%s: %s" % (_label(index, options, module.many), exc))
        merged.append(options)
    return merged


class ClientTask(object):
    """One task's reads, planner, writer and journal, over the module's one session."""

    def __init__(self, module, kind):
        self.module = module
        self.kind = kind
        self.return_secret = module.params.get('return_secret')
        self.reads = ClientReads(module.api)
        if module.check_mode:
            self.reads.plan_scopes(module.params.get('planned_client_scopes'), module.params.get('realm'))
            self.reads.plan_clients(module.params.get('planned_clients'), module.params.get('realm'))
        self.planner = Planner(self.reads, kind)
        self.journal = Journal(module.api)
        self.writer = ClientWriter(self.planner, self.journal, check_mode=module.check_mode,
                                   generate_secrets=self.return_secret)
        self.authorization_reads = ReadAhead(module.api)
        self.authorization = AuthorizationReconciler(self.authorization_reads, check_mode=module.check_mode,
                                                     journal=self.journal,
                                                     clients=self.planner.client)

    # -- plan ----------------------------------------------------------------------------------

    def plan(self, merged):
        """Every client's plan, then its authorization against the task's planned clients; reads only."""
        module = self.module
        try:
            self.reads.prefetch(merged)
        except Unavailable as exc:
            # The realm's listing serves every item: no single item is to blame.
            module.fail_json(msg="%s; nothing was changed" % exc, stands=[])
        plans = []
        for index, options in enumerate(merged):
            with module.failing(_label(index, options, module.many), '; nothing was changed', stands=[]):
                plans.append(self.planner.plan(options))
        # After every client is planned: a policy may name a client declared later in the task. The settings of each
        # resource server are one read of their own (Keycloak's client listing carries none; its partial export, which
        # does, needs manage-realm, exports every client of the realm and is a POST): read a few at a time first.
        self.authorization_reads.read(settings_path(plan) for plan in plans if settings_path(plan))
        for index, plan in enumerate(plans):
            with module.failing(_label(index, plan['options'], module.many), '; nothing was changed', stands=[]):
                self.authorization.plan(plan)
        if not self.return_secret:
            module.hide(collect_secrets([p['current'] for p in plans if p.get('current')]))
        with module.failing(suffix='; nothing was changed', stands=[]):
            check_rights(self.reads.rights, plans, self.return_secret)
        return plans

    # -- apply ---------------------------------------------------------------------------------

    def apply(self, plans):
        results: list = [None] * len(plans)

        def write(index):
            results[index] = plans[index].apply(self.writer)

        def name(index):
            plan, result = plans[index], results[index]
            self.writer.grant_roles(plan)
            self.authorization.apply(plan, result)
            if self.kind != 'confidential' or result['state'] != 'present':
                return
            known = _secret_known(plan, self.module.check_mode)
            # Whether a read of the secret now (client_secret_info: the provision role's next task) gives the secret
            # the task leaves: not in check mode for a client that would be created, made confidential or given a
            # new secret.
            result['secret_readable'] = known and not (self.module.check_mode and 'secret' in plan['changes'])
            if self.return_secret and known:
                result['secret'] = _secret_of(self.module.api, plan)

        def whole(index):
            write(index)
            name(index)

        stage: dict = {}
        for index, plan in enumerate(plans):
            stage.setdefault(plan.stage(), []).append(index)
        self._run(plans, write, stage.get('write', []))
        self._run(plans, name, stage.get('write', []))
        self._run(plans, whole, stage.get('side effects', []), workers=1)
        self._run(plans, whole, stage.get('delete', []), workers=1)
        return results

    def _run(self, plans, work, indexes, workers=None):
        kwargs = {} if workers is None else dict(workers=workers)
        _done, failed = run_bounded(work, indexes, FAILURES, **kwargs)
        if not failed:
            return
        index, error = _reported_failure(failed)
        tail, outcome = after_failure(self.journal, error)
        self.module.fail_json(msg="%s: %s; %s" % (_label(index, plans[index]['options'], self.module.many), error, tail),
                              **outcome)


def _reported_failure(failed):
    """The failure to report when items running side by side failed: Keycloak not answering decides what happens
    next (nothing is rolled back), else the first failing item of the declaration."""
    unavailable = sorted(i for i, exc in failed.items() if isinstance(exc, Unavailable))
    index = unavailable[0] if unavailable else min(failed)
    return index, failed[index]


def after_failure(journal, exc):
    """The end of the error line and the failed result's lists of writes. A refusal (or an unexpected error) undoes
    every undoable write of the task; an unreachable or failing server does not: its undo would meet the same failure,
    and every write it acknowledged stays valid."""
    if isinstance(exc, Unavailable):
        stands, maybe = journal.stands(), journal.may_stand()
        return ("nothing rolled back, as Keycloak is not answering: writes of this task that stand: %s; whose outcome "
                "is unknown: %s; run the task again once Keycloak answers, it converges"
                % (', '.join(stands) or 'none', ', '.join(maybe) or 'none'), dict(stands=stands, may_stand=maybe))
    if not journal:
        return "nothing was changed", dict(stands=[])
    stands = journal.rollback()
    if stands:
        return ("this task's other writes were rolled back; these stand: %s" % ', '.join(stands),
                dict(stands=stands))
    return "this task's earlier writes were rolled back, nothing is changed", dict(stands=[])


def settings_path(plan):
    """What the authorization reconciler reads of a client it plans: the settings of its existing resource server (the
    export naming every item), or None."""
    current = plan.get('current') or {}
    if not plan['options'].get('authorization') or plan['action'] in ('delete', 'none'):
        return None
    if not current.get('authorizationServicesEnabled'):
        return None
    return admin_path(plan['realm'], 'clients', current['id'], 'authz', 'resource-server', 'settings')


def _secret_known(plan, check_mode):
    """In check mode only a client that exists and stays confidential has its secret already (a read, no write)."""
    if not check_mode:
        return True
    return plan['action'] == 'update' and plan['changes'].get('publicClient') is None


def _secret_of(api, plan):
    given = plan['options'].get('secret') or plan.get('generated_secret')
    if given:
        return given
    current = plan.get('current') or {}
    if current.get('secret') and plan['action'] == 'update' and plan['changes'].get('publicClient') is None:
        return current['secret']
    value = api.get(admin_path(plan['realm'], 'clients', current['id'], 'client-secret')) or {}
    return value.get('value')


def check_rights(rights, plans, return_secret):
    """Refuse before the first write when the identity cannot do every planned step, naming the missing role.

    Costs nothing on a run that changes nothing: the roles are read only when some write is planned.
    """
    for plan in plans:
        realm = plan['realm']
        if plan['current'] is None:
            # Absent may only mean hidden: query-clients alone lists no client it cannot view.
            rights.require_view(realm)
        if (plan.get('authorization') or {}).get('ops'):
            # Measured on Keycloak 26.7: either role may change a resource server (and read its export).
            rights.require(realm, ('manage-clients', 'manage-authorization'),
                           "changing a client's authorization (its resource server) needs")
        if not plan.writes():
            continue
        rights.require(realm, 'manage-clients', "creating, changing and deleting clients needs")
        if return_secret:
            rights.require(realm, 'manage-clients', "reading client secrets (return_secret) needs")
        grant = plan.get('roles_to_grant') or {}
        if grant.get('realm') or grant.get('clients'):
            rights.require(realm, 'manage-users', "granting roles to a service account needs")
        for owner, role in grant.get('clients') or []:
            if owner == 'realm-management':
                rights.require(realm, (role['name'], 'realm-admin'),
                               "granting it needs (Keycloak lets an admin grant only realm-management roles it holds)")


def _warn(module, kind, plan, result):
    if kind != 'confidential' or result['state'] != 'present':
        return
    if 'client_credentials' not in result['grants'] and plan['options'].get('preset') != 'web':
        module.warn("client '%s' has service accounts off: Keycloak refuses its client-credentials grant "
                    "(unauthorized_client). Set service_accounts: true or preset: service if it calls APIs "
                    "on its own behalf." % result['client_id'])
