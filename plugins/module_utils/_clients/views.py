# -*- coding: utf-8 -*-
# Copyright: keycloak_ops contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Internal to keycloak_ops.clients: no stability promise. Modules and plugins of other collections
# must not import it; its names and signatures change whenever the collection needs them to.
"""What a client task shows: the managed, masked part of a representation, before and after, and the result
of each client."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.keycloak_ops.clients.plugins.module_utils._core.masking import MASK, mask


def merged(current, changes):
    """current with the planned changes applied; attributes are merged key by key, as Keycloak does."""
    result = dict(current)
    for field, value in changes.items():
        if field == 'attributes':
            result['attributes'] = dict(current.get('attributes') or {}, **value)
        else:
            result[field] = value
    return result


def with_scope_ops(rep, scope_ops):
    scopes = {'default': list(rep.get('defaultClientScopes') or []),
              'optional': list(rep.get('optionalClientScopes') or [])}
    for op, kind, name in scope_ops:
        if op == 'add' and name not in scopes[kind]:
            scopes[kind].append(name)
        elif op == 'remove' and name in scopes[kind]:
            scopes[kind].remove(name)
    return dict(rep, defaultClientScopes=scopes['default'], optionalClientScopes=scopes['optional'])


def managed_view(rep, desired):
    """The managed part of a representation, masked: what diffs and results show."""
    if desired is None:
        keys = ['clientId', 'name', 'enabled', 'publicClient', 'secret']
        return mask({k: rep.get(k) for k in keys if k in rep})
    view = {k: rep.get(k) for k in desired['rep'] if k != 'attributes'}
    if 'attributes' in desired['rep']:
        have = rep.get('attributes') or {}
        view['attributes'] = {k: have.get(k) for k in desired['rep']['attributes']}
    if desired['default_scopes'] is not None:
        view['defaultClientScopes'] = sorted(rep.get('defaultClientScopes') or [])
    if desired['optional_scopes'] is not None:
        view['optionalClientScopes'] = sorted(rep.get('optionalClientScopes') or [])
    if desired['mappers']:
        # Only the managed mappers: some lines add mappers of their own (service accounts before 26.x).
        managed = {m['name'] for m in desired['mappers']}
        view['protocolMappers'] = sorted(m.get('name') for m in rep.get('protocolMappers') or []
                                         if m.get('name') in managed)
    if 'clientAuthenticatorType' in rep and rep.get('publicClient') is False:
        view['clientAuthenticatorType'] = rep['clientAuthenticatorType']
    return mask(view)


def _show_service_account_roles(plan, before, after):
    """The declared service-account roles in the diff and end_state: held before (declared minus those to grant)
    and after (all declared), so a grant is a visible change. Roles granted by other means are not shown."""
    desired = plan.get('desired')
    if not desired or not (desired['realm_roles'] or desired['client_roles']) or not after:
        return
    grant = plan.get('roles_to_grant') or dict(realm=[], clients=[])
    granting_realm = {r['name'] for r in grant['realm']}
    granting_client = {(cid, r['name']) for cid, r in grant['clients']}
    after['serviceAccountRoles'] = dict(realm=sorted(desired['realm_roles']),
                                        clients={cid: sorted(names) for cid, names in desired['client_roles'].items()})
    if before:
        before['serviceAccountRoles'] = dict(
            realm=sorted(n for n in desired['realm_roles'] if n not in granting_realm),
            clients={cid: sorted(n for n in names if (cid, n) not in granting_client)
                     for cid, names in desired['client_roles'].items()})


def client_result(plan, changed, before, after):
    _show_service_account_roles(plan, before, after)
    current = plan.get('current') or {}
    if before.get('secret') == MASK and after.get('secret') == MASK and plan.get('changes', {}).get('secret'):
        after['secret'] = MASK + ' (changed)'
    state = 'absent' if plan['action'] == 'delete' or (plan['action'] == 'none') else 'present'
    result = dict(client_id=plan['client_id'], realm=plan['realm'], changed=changed, state=state,
                  id=current.get('id'), diff=dict(before=before, after=after,
                                                  before_header='%s/%s' % (plan['realm'], plan['client_id']),
                                                  after_header='%s/%s' % (plan['realm'], plan['client_id'])))
    if state == 'present':
        result['end_state'] = after
        result['grants'] = grant_types(current)
    return result


def grant_types(rep):
    """OAuth grants the client can use, so a missing client-credentials grant is visible in the result."""
    grants = []
    if rep.get('standardFlowEnabled', True):
        grants.append('authorization_code')
    if rep.get('serviceAccountsEnabled') and not rep.get('publicClient'):
        grants.append('client_credentials')
    if rep.get('directAccessGrantsEnabled'):
        grants.append('password')
    if (rep.get('attributes') or {}).get('oauth2.device.authorization.grant.enabled') == 'true':
        grants.append('device_code')
    return grants
