# -*- coding: utf-8 -*-
# Copyright: keycloak_ops contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The run of a client module, shared by confidential_client and public_client: validate all, plan all, apply."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.keycloak_ops.clients.plugins.module_utils.client_options import (
    InvalidClient, client_items, given_secrets, merged_options, validate,
)
from ansible_collections.keycloak_ops.clients.plugins.module_utils.clients import ClientReconciler
from ansible_collections.keycloak_ops.clients.plugins.module_utils.connection import (
    KeycloakOpsError, admin_path, connect,
)
from ansible_collections.keycloak_ops.clients.plugins.module_utils.masking import collect_secrets

# Shorter strings are too likely to appear elsewhere in output to be scrubbed as secrets.
MIN_SCRUBBED_LENGTH = 8


class ClientsModule(AnsibleModule):
    """An AnsibleModule whose O(clients) items may carry secrets.

    Raw list items cannot be marked no_log, so their secrets are registered as soon as the parameters are read:
    before a validation error, the invocation log (syslog/journal) or any result could show them.
    """

    def __init__(self, client_options, **kwargs):
        self._client_options = client_options
        super(ClientsModule, self).__init__(**kwargs)

    def _load_params(self):
        super(ClientsModule, self)._load_params()
        self.no_log_values.update(given_secrets(self.params.get('clients'), self._client_options))


def _label(index, options, many):
    return "clients[%d] (client '%s')" % (index, options.get('client_id')) if many else "client '%s'" % options.get('client_id')


def run_client_module(module, kind, client_options):
    many = module.params.get('clients') is not None
    try:
        items = client_items(module.params, client_options)
    except InvalidClient as exc:
        module.fail_json(msg=str(exc))

    merged = []
    for index, options in enumerate(items):
        options = merged_options(options, kind)
        try:
            validate(options, kind)
        except InvalidClient as exc:
            module.fail_json(msg="%s: %s" % (_label(index, options, many), exc))
        merged.append(options)

    api = connect(module)
    reconciler = ClientReconciler(api, kind, check_mode=module.check_mode)
    plans = []
    for index, options in enumerate(merged):
        try:
            plans.append(reconciler.plan(options))
        except (InvalidClient, KeycloakOpsError) as exc:
            module.fail_json(msg="%s: %s; nothing was changed" % (_label(index, options, many), exc))

    return_secret = module.params.get('return_secret')
    if not return_secret:
        _scrub(module, collect_secrets([p['current'] for p in plans if p.get('current')]))
    results = []
    for index, plan in enumerate(plans):
        try:
            result = reconciler.apply(plan)
            if return_secret and result['state'] == 'present' and _secret_exists(plan, module.check_mode):
                result['secret'] = _secret_of(api, plan)
        except (InvalidClient, KeycloakOpsError) as exc:
            done = ', '.join(r['client_id'] for r in results if r['changed']) or 'none'
            module.fail_json(msg="%s: %s (clients already changed in this task: %s)"
                             % (_label(index, plan['options'], many), exc, done), clients=results)
        _warn(module, kind, plan, result)
        results.append(result)
    _exit(module, results, many)


def _secret_exists(plan, check_mode):
    # A check run writes nothing, so only the secret of a confidential client that is there already can be read
    # (a read, allowed in check mode): a Check job of a provisioned inventory can then deliver, as a real run would.
    current = plan.get('current')
    return not check_mode or bool(current and not current.get('publicClient'))


def _secret_of(api, plan):
    given = plan['options'].get('secret')
    if given:
        return given
    current = plan.get('current') or {}
    if current.get('secret') and plan['action'] == 'update' and plan['changes'].get('publicClient') is None:
        return current['secret']
    value = api.get(admin_path(plan['realm'], 'clients', current['id'], 'client-secret')) or {}
    return value.get('value')


def _scrub(module, secrets):
    module.no_log_values.update(s for s in secrets if isinstance(s, str) and len(s) >= MIN_SCRUBBED_LENGTH)


def _warn(module, kind, plan, result):
    if kind != 'confidential' or result['state'] != 'present':
        return
    if 'client_credentials' not in result['grants'] and plan['options'].get('preset') != 'web':
        module.warn("client '%s' has service accounts off: Keycloak refuses its client-credentials grant "
                    "(unauthorized_client). Set service_accounts: true or preset: service if it calls APIs "
                    "on its own behalf." % result['client_id'])


def _exit(module, results, many):
    changed = any(r['changed'] for r in results)
    diffs = [r.pop('diff') for r in results]
    output = dict(changed=changed, clients=results)
    if module._diff:
        output['diff'] = [d for d, r in zip(diffs, results) if r['changed']] if many else diffs[0]
    if not many:
        single = results[0]
        output.update((k, v) for k, v in single.items() if k != 'changed')
    module.exit_json(**output)
