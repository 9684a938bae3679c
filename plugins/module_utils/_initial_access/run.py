# -*- coding: utf-8 -*-
# Copyright: keycloak_ops contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Internal to keycloak_ops.clients: no stability promise. Modules and plugins of other collections
# must not import it; its names and signatures change whenever the collection needs them to.
"""The run of initial_access_token: list the tokens of a realm, mint one (state=present) or revoke the chosen ones
(state=absent), with a diff of token summaries that never shows a token value."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.keycloak_ops.clients.plugins.module_utils._core.durations import MAX_SECONDS, parse_duration
from ansible_collections.keycloak_ops.clients.plugins.module_utils._initial_access.tokens import (
    InitialAccessTokens, to_revoke,
)
from ansible_collections.keycloak_ops.clients.plugins.module_utils._core.rights import AdminRights
from ansible_collections.keycloak_ops.clients.plugins.module_utils._core.tokens import fingerprint


def run_initial_access_token(module):
    params = module.params
    # Without state the module only lists: minting a token (never idempotent) is always asked for explicitly.
    state, realm = params['state'] or 'list', params['realm']
    if state == 'present':
        with module.failing():
            # 0 means "never expires" to Keycloak.
            expiration = parse_duration('expiration', params['expiration'], allow_zero=True)
        if params['count'] < 1:
            module.fail_json(msg="count must be at least 1: Keycloak refuses every registration with count 0")
        if params['count'] > MAX_SECONDS:
            module.fail_json(msg="count must be at most %d (Keycloak keeps it as a 32-bit integer)" % MAX_SECONDS)
    elif state == 'absent' and not (params['id'] or params['expired'] or params['used_up']):
        module.fail_json(msg="state=absent needs id, expired=true or used_up=true to say which tokens to revoke")

    tokens_api = InitialAccessTokens(module.api, realm)
    with module.failing("realm '%s'" % realm):
        if state in ('present', 'absent'):
            AdminRights(module.api).require(realm, 'manage-clients', 'minting and revoking initial access tokens needs')
        before = tokens_api.list()
        result = dict(changed=False, realm=realm)
        if state == 'present':
            result.update(_create(module, tokens_api, expiration))
        elif state == 'absent':
            chosen = to_revoke(before, params['id'], params['expired'], params['used_up'])
            if not module.check_mode:
                # A token revoked meanwhile by someone else is absent all the same.
                for token in chosen:
                    tokens_api.revoke(token['id'])
            result.update(changed=bool(chosen), revoked=[t['id'] for t in chosen])
        after = before if not result['changed'] or module.check_mode else tokens_api.list()
    if module.check_mode and state == 'absent':
        after = [t for t in before if t['id'] not in result['revoked']]
    result['tokens'] = after
    if module._diff:
        planned = after + ([_planned(result)] if module.check_mode and state == 'present' else [])
        result['diff'] = dict(before=dict(tokens=[_diff_line(t) for t in before]),
                              after=dict(tokens=[_diff_line(t) for t in planned]))
    module.exit_json(**result)


def _create(module, tokens_api, expiration):
    count = module.params['count']
    if module.check_mode:
        return dict(changed=True, token=None, fingerprint=None, id=None, count=count, remaining=count,
                    expiration=expiration, expires_at=None)
    created = tokens_api.create(count, expiration)
    # The value is returned on purpose (it is the point of the task) and so is not added to no_log_values.
    return dict(created, changed=True, fingerprint=fingerprint(created['token']))


def _planned(result):
    return dict(id='(new)', count=result['count'], remaining=result['count'], expiration=result['expiration'],
                expires_at=None, expired=False, used_up=False)


def _diff_line(token):
    expires = token['expires_at'] or 'never'
    return '%s count=%s remaining=%s expires=%s' % (token['id'], token['count'], token['remaining'], expires)
