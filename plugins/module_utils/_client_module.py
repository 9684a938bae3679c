# -*- coding: utf-8 -*-
# Copyright: keycloak_ops contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Internal to keycloak_ops.clients: no stability promise. Modules and plugins of other collections
# must not import it; its names and signatures change whenever the collection needs them to.
"""The run of a client module, shared by confidential_client and public_client: validate all, plan all, apply.

The module is a KeycloakModule (_module.py) built with the client options as item_options.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.keycloak_ops.clients.plugins.module_utils._authorization import AuthorizationReconciler
from ansible_collections.keycloak_ops.clients.plugins.module_utils._authorization_items import (
    InvalidAuthorization, with_authorization,
)
from ansible_collections.keycloak_ops.clients.plugins.module_utils._client_items import item_label as _label
from ansible_collections.keycloak_ops.clients.plugins.module_utils._client_options import InvalidClient, merged_options
from ansible_collections.keycloak_ops.clients.plugins.module_utils._client_validation import validate
from ansible_collections.keycloak_ops.clients.plugins.module_utils._clients import ClientReconciler
from ansible_collections.keycloak_ops.clients.plugins.module_utils._connection import (
    KeycloakOpsError, Unavailable, admin_path,
)
from ansible_collections.keycloak_ops.clients.plugins.module_utils._masking import collect_secrets
from ansible_collections.keycloak_ops.clients.plugins.module_utils._parallel import run_bounded


def run_client_module(module, kind):
    many = module.many
    items = module.items()

    merged = []
    for index, options in enumerate(items):
        options = merged_options(options, kind)
        try:
            validate(options, kind)
            options = with_authorization(options)
        except (InvalidClient, InvalidAuthorization) as exc:
            module.fail_json(msg="%s: %s" % (_label(index, options, many), exc))
        merged.append(options)

    api = module.api
    return_secret = module.params.get('return_secret')
    reconciler = ClientReconciler(api, kind, check_mode=module.check_mode, generate_secrets=return_secret)
    authorization = AuthorizationReconciler(api, check_mode=module.check_mode)
    if module.check_mode:
        reconciler.plan_scopes(module.params.get('planned_client_scopes'), module.params.get('realm'))
    try:
        reconciler.prefetch(merged)
    except Unavailable as exc:
        # The realm's listing serves every item: no single item is to blame.
        module.fail_json(msg="%s; nothing was changed" % exc)
    plans = []
    for index, options in enumerate(merged):
        try:
            plans.append(reconciler.plan(options))
            authorization.plan(plans[-1])
        except (InvalidClient, InvalidAuthorization, KeycloakOpsError) as exc:
            module.fail_json(msg="%s: %s; nothing was changed" % (_label(index, options, many), exc))

    if not return_secret:
        module.hide(collect_secrets([p['current'] for p in plans if p.get('current')]))
    try:
        check_rights(reconciler.rights, plans, return_secret)
    except KeycloakOpsError as exc:
        module.fail_json(msg="%s; nothing was changed" % exc)

    def apply(index):
        plan = plans[index]
        result = reconciler.apply(plan)
        authorization.apply(plan, result)
        if return_secret and result['state'] == 'present' and _secret_known(plan, module.check_mode):
            result['secret'] = _secret_of(api, plan)
        return result

    results = [None] * len(plans)
    # Deletions last: everything before them can still be undone if a later item fails.
    for batch in ([i for i, p in enumerate(plans) if p['action'] != 'delete'],
                  [i for i, p in enumerate(plans) if p['action'] == 'delete']):
        done, failed = run_bounded(apply, batch, (InvalidClient, InvalidAuthorization, KeycloakOpsError))
        for index, result in done.items():
            results[index] = result
        if failed:
            index, error = _reported_failure(failed)
            module.fail_json(msg="%s: %s; %s" % (_label(index, plans[index]['options'], many), error,
                                                 _after_failure(reconciler, error, results)))
    for plan, result in zip(plans, results):
        _warn(module, kind, plan, result)
    module.exit_items(results)


def _reported_failure(failed):
    """The failure to report when items running side by side failed: Keycloak not answering decides what happens
    next (nothing is rolled back), else the first failing item of the declaration."""
    unavailable = sorted(i for i, exc in failed.items() if isinstance(exc, Unavailable))
    index = unavailable[0] if unavailable else min(failed)
    return index, failed[index]


def _secret_known(plan, check_mode):
    """In check mode only a client that exists and stays confidential has its secret already (a read, no write)."""
    if not check_mode:
        return True
    return plan['action'] == 'update' and plan['changes'].get('publicClient') is None


def check_rights(rights, plans, return_secret):
    """Refuse before the first write when the identity cannot do every planned step, naming the missing role.

    Costs nothing on a run that changes nothing: the roles are read only when some write is planned.
    """
    for plan in plans:
        realm = plan['realm']
        if plan['current'] is None:
            # Absent may only mean hidden: query-clients alone lists no client it cannot view.
            rights.require_view(realm)
        if not _writes(plan):
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


def _writes(plan):
    """Whether applying the plan sends any write request."""
    if plan['action'] in ('create', 'delete'):
        return True
    if plan['action'] != 'update':
        return False
    grant = plan['roles_to_grant']
    return bool(plan['changes'] or plan['scope_ops'] or plan['mapper_ops'] or grant['realm'] or grant['clients'])


def _after_failure(reconciler, exc, results):
    """The end of the error line. A refusal by Keycloak undoes this task's writes; an unreachable or failing
    server does not: its undo would meet the same failure, and every write it acknowledged stays valid."""
    if isinstance(exc, Unavailable):
        done = ', '.join(sorted(r['client_id'] for r in results if r and r['changed'])) or 'none'
        return ("nothing rolled back, as Keycloak is not answering: clients changed in this task before: %s; "
                "run the task again once Keycloak answers, it converges" % done)
    if not reconciler.undo:
        return "nothing was changed"
    failed = reconciler.rollback()
    if failed:
        return "rolling back this task's writes failed for: %s; fix by hand" % ', '.join(failed)
    return "this task's earlier writes were rolled back, nothing is changed"


def _secret_of(api, plan):
    given = plan['options'].get('secret') or plan.get('generated_secret')
    if given:
        return given
    current = plan.get('current') or {}
    if current.get('secret') and plan['action'] == 'update' and plan['changes'].get('publicClient') is None:
        return current['secret']
    value = api.get(admin_path(plan['realm'], 'clients', current['id'], 'client-secret')) or {}
    return value.get('value')


def _warn(module, kind, plan, result):
    if kind != 'confidential' or result['state'] != 'present':
        return
    if 'client_credentials' not in result['grants'] and plan['options'].get('preset') != 'web':
        module.warn("client '%s' has service accounts off: Keycloak refuses its client-credentials grant "
                    "(unauthorized_client). Set service_accounts: true or preset: service if it calls APIs "
                    "on its own behalf." % result['client_id'])
