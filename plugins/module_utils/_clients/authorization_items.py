# -*- coding: utf-8 -*-
# Copyright: keycloak_ops contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Internal to keycloak_ops.clients: no stability promise. Modules and plugins of other collections
# must not import it; its names and signatures change whenever the collection needs them to.
"""Authorization services of a confidential client (its resource server), as items: scopes, resources, policies
and permissions, each {kind: {name: fields}} whether declared (the option O(authorization)) or existing (the
resource server's export), so the two compare field by field. Here too: which items go (state absent, exclusive),
the order of the writes, and the checks that make a declaration fail before any write (types, shapes, references,
cycles of aggregate policies).

Pure logic, unit tested; the reconciler that reads and writes them is in _clients/authorization.py.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import json

from ansible_collections.keycloak_ops.clients.plugins.module_utils._core.errors import InvalidInput

POLICY_TYPES = ('role', 'client', 'group', 'user', 'aggregate', 'time')
PERMISSION_TYPES = ('scope', 'resource')
DECISION_STRATEGIES = ('unanimous', 'affirmative', 'consensus')
ENFORCEMENT_MODES = ('enforcing', 'permissive', 'disabled')
LOGICS = ('positive', 'negative')
STATES = ('present', 'absent')

# Time policy: option -> Keycloak's field, with the range each bound takes (Keycloak compares both ends inclusive).
TIME_BOUNDS = (
    ('day_of_month', 'dayMonth', 1, 31),
    ('month', 'month', 1, 12),
    ('year', 'year', 1, 9999),
    ('hour', 'hour', 0, 23),
    ('minute', 'minute', 0, 59),
)
TIME_DATES = (('not_before', 'notBefore'), ('not_on_or_after', 'notOnOrAfter'))
TIME_FORMAT = '%Y-%m-%d %H:%M:%S'
TIME_OPTIONS = tuple(o for o, _f in TIME_DATES) + tuple(
    o + suffix for o, _f, _l, _h in TIME_BOUNDS for suffix in ('', '_end'))
TIME_FIELDS = tuple(f for _o, f in TIME_DATES) + tuple(
    f + suffix for _o, f, _l, _h in TIME_BOUNDS for suffix in ('', 'End'))
# The options of each policy type; any other type's options are refused.
POLICY_OPTIONS = dict(
    role=('roles',), client=('clients',), group=('groups', 'extend_children'), user=('users',),
    aggregate=('policies', 'decision_strategy'), time=TIME_OPTIONS,
)

AUTHORIZATION_SPEC = dict(type='dict', options=dict(
    exclusive=dict(type='raw'),
    policy_enforcement_mode=dict(type='str', choices=list(ENFORCEMENT_MODES)),
    decision_strategy=dict(type='str', choices=list(DECISION_STRATEGIES)),
    scopes=dict(type='list', elements='raw'),
    resources=dict(type='list', elements='dict', options=dict(
        name=dict(type='str', required=True),
        state=dict(type='str', choices=list(STATES)),
        display_name=dict(type='str'),
        type=dict(type='str'),
        uris=dict(type='list', elements='str'),
        scopes=dict(type='list', elements='str'),
    )),
    policies=dict(type='list', elements='dict', options=dict(
        dict(
            name=dict(type='str', required=True),
            state=dict(type='str', choices=list(STATES)),
            type=dict(type='str'),
            description=dict(type='str'),
            logic=dict(type='str', choices=list(LOGICS)),
            roles=dict(type='list', elements='str'),
            clients=dict(type='list', elements='str'),
            groups=dict(type='list', elements='str'),
            extend_children=dict(type='bool'),
            users=dict(type='list', elements='str'),
            policies=dict(type='list', elements='str'),
            decision_strategy=dict(type='str', choices=list(DECISION_STRATEGIES)),
            not_before=dict(type='str'),
            not_on_or_after=dict(type='str'),
        ),
        **{option: dict(type='int') for option in TIME_OPTIONS if option not in ('not_before', 'not_on_or_after')}
    )),
    permissions=dict(type='list', elements='dict', options=dict(
        name=dict(type='str', required=True),
        state=dict(type='str', choices=list(STATES)),
        type=dict(type='str', choices=list(PERMISSION_TYPES)),
        description=dict(type='str'),
        resources=dict(type='list', elements='str'),
        resource_type=dict(type='str'),
        scopes=dict(type='list', elements='str'),
        policies=dict(type='list', elements='str'),
        decision_strategy=dict(type='str', choices=list(DECISION_STRATEGIES)),
    )),
))

KINDS = ('scopes', 'resources', 'policies', 'permissions')  # also the order of creates and updates
SET_FIELDS = ('uris', 'scopes', 'roles', 'clients', 'resources', 'policies', 'groups', 'users')
SERVER_FIELDS = (('policy_enforcement_mode', 'policyEnforcementMode'), ('decision_strategy', 'decisionStrategy'))
SERVER_SETTINGS = ('policyEnforcementMode', 'decisionStrategy', 'allowRemoteResourceManagement')
SINGULAR = dict(scopes='scope', resources='resource', policies='policy', permissions='permission')


class InvalidAuthorization(InvalidInput):
    """The declared authorization is wrong; the message names the item and the fix."""


# -- declared (pure) -------------------------------------------------------------------------------


def declared(authorization):
    """The declaration in Keycloak's terms, or None without one: dict(items={kind: {name: fields}} of the items
    that must exist (unset fields left out), absent={kind: names}, exclusive=kinds whose undeclared items go,
    server={field: value} of the resource server's own settings).

    Raises InvalidAuthorization on what needs no server to see (duplicates, types, shapes, missing members).
    """
    if not authorization:
        return None
    result = dict(items={kind: {} for kind in KINDS}, absent={kind: set() for kind in KINDS},
                  exclusive=_exclusive(authorization.get('exclusive')), server={})
    for option, field in SERVER_FIELDS:
        if authorization.get(option) is not None:
            result['server'][field] = authorization[option].upper()
    for index, scope in enumerate(authorization.get('scopes') or []):
        _add(result, 'scopes', _scope_item(index, scope), lambda _scope: {})
    for resource in authorization.get('resources') or []:
        _add(result, 'resources', resource, lambda r: _fields(
            r, displayName='display_name', type='type', uris='uris', scopes='scopes'))
    for policy in authorization.get('policies') or []:
        _add(result, 'policies', policy, _policy)
    for permission in authorization.get('permissions') or []:
        _add(result, 'permissions', permission, _permission)
    both = sorted((set(result['items']['policies']) | result['absent']['policies'])
                  & (set(result['items']['permissions']) | result['absent']['permissions']))
    if both:
        raise InvalidAuthorization("'%s' is declared as a policy and as a permission; Keycloak keeps both in one list "
                                   "of names: rename one" % both[0])
    return result


def _exclusive(value):
    if isinstance(value, str) and value.lower() in ('true', 'yes', 'on', 'false', 'no', 'off'):
        value = value.lower() in ('true', 'yes', 'on')
    if value is None or value is False:
        return frozenset()
    if value is True:
        return frozenset(KINDS)
    kinds = [value] if isinstance(value, str) else value
    if isinstance(kinds, list) and all(isinstance(v, str) and v in KINDS for v in kinds):
        return frozenset(kinds)
    raise InvalidAuthorization("authorization.exclusive: %r is neither true, false nor a list of %s"
                               % (value, ', '.join(KINDS)))


def _scope_item(index, scope):
    if isinstance(scope, str):
        return dict(name=scope)
    if isinstance(scope, dict) and set(scope) <= {'name', 'state'} and isinstance(scope.get('name'), str) \
            and scope.get('state', 'present') in STATES + (None,):
        return scope
    raise InvalidAuthorization("authorization.scopes[%d]: expected a scope name or a dict with name and state "
                               "(present or absent), got %r" % (index, scope))


def _add(result, kind, given, fields_of):
    name = given.get('name')
    if not name or not name.strip():
        raise InvalidAuthorization("authorization.%s: a name is blank" % kind)
    if name in result['items'][kind] or name in result['absent'][kind]:
        raise InvalidAuthorization("authorization.%s: '%s' is declared twice" % (kind, name))
    if given.get('state') == 'absent':
        result['absent'][kind].add(name)
    else:
        result['items'][kind][name] = fields_of(given)


def _fields(given, **option_of_field):
    fields = {}
    for field, option in option_of_field.items():
        value = given.get(option)
        if value is None:
            continue
        if field in SET_FIELDS:
            value = sorted(set(value))
        elif field in ('decisionStrategy', 'logic'):
            value = value.upper()
        fields[field] = value
    return fields


def _policy(policy):
    name, kind = policy['name'], policy.get('type')
    if kind not in POLICY_TYPES:
        raise InvalidAuthorization("policy '%s': %s; use one of: %s"
                                   % (name, "unknown policy type '%s'" % kind if kind else 'type is missing',
                                      ', '.join(POLICY_TYPES)))
    takes = POLICY_OPTIONS[kind]
    foreign = sorted(o for other in POLICY_TYPES if other != kind for o in POLICY_OPTIONS[other]
                     if o not in takes and policy.get(o) not in (None, []))
    if foreign:
        raise InvalidAuthorization("policy '%s' of type %s takes %s, not %s"
                                   % (name, kind, ', '.join(takes), ', '.join(foreign)))
    fields = dict(_fields(policy, description='description', logic='logic'), type=kind)
    if kind == 'time':
        fields.update(_time_window(name, policy))
        return fields
    members = takes[0]
    if not policy.get(members):
        raise InvalidAuthorization("policy '%s' of type %s needs %s" % (name, kind, members))
    values = list(policy[members])
    if kind == 'group':
        values = ['/' + path.strip('/') for path in values]
        # Keycloak keeps the flag per group; the declaration sets it for all (its default is off).
        fields['extendChildren'] = bool(policy.get('extend_children'))
    elif kind == 'user':
        values = [user.lower() for user in values]  # Keycloak keeps usernames in lower case
    elif kind == 'aggregate':
        if name in values:
            raise InvalidAuthorization("policy '%s' names itself in policies; an aggregate combines other policies"
                                       % name)
        fields.update(_fields(policy, decisionStrategy='decision_strategy'))
    fields[members] = sorted(set(values))
    return fields


def _time_window(name, policy):
    """Keycloak's fields of a time policy, every one of them: the declared window is the whole window."""
    fields = dict.fromkeys(TIME_FIELDS)
    for option, field in TIME_DATES:
        value = policy.get(option)
        if value is None:
            continue
        try:
            datetime.datetime.strptime(value, TIME_FORMAT)
        except ValueError as exc:
            raise InvalidAuthorization("policy '%s': %s '%s' is not a time like '2026-01-31 18:00:00' "
                                       "(YYYY-MM-DD HH:MM:SS, the server's time zone)" % (name, option, value)) from exc
        fields[field] = value
    for option, field, low, high in TIME_BOUNDS:
        start, end = policy.get(option), policy.get(option + '_end')
        for key, value in ((option, start), (option + '_end', end)):
            if value is not None and not low <= value <= high:
                raise InvalidAuthorization("policy '%s': %s is %s; it takes %d to %d" % (name, key, value, low, high))
        if end is not None and start is None:
            raise InvalidAuthorization("policy '%s': %s_end needs %s (the start of the range)" % (name, option, option))
        if end is not None and end < start:
            raise InvalidAuthorization("policy '%s': %s_end %s is before %s %s" % (name, option, end, option, start))
        fields[field] = None if start is None else str(start)
        fields[field + 'End'] = None if end is None else str(end)
    if fields['notBefore'] and fields['notOnOrAfter'] and fields['notOnOrAfter'] <= fields['notBefore']:
        raise InvalidAuthorization("policy '%s': not_on_or_after is not after not_before; the window is empty" % name)
    if not any(fields.values()):
        raise InvalidAuthorization("policy '%s' of type time needs a window: not_before, not_on_or_after or a range "
                                   "of %s" % (name, ', '.join(o for o, _f, _l, _h in TIME_BOUNDS)))
    return fields


def _permission(permission):
    name, kind = permission['name'], permission.get('type') or 'scope'
    fields = _fields(permission, description='description', resources='resources', scopes='scopes',
                     policies='policies', decisionStrategy='decision_strategy', resourceType='resource_type')
    if not fields.get('policies'):
        raise InvalidAuthorization("permission '%s': policies is empty; name the policies that decide it" % name)
    if kind == 'scope':
        if not fields.get('scopes'):
            raise InvalidAuthorization("permission '%s': scopes is empty; name the scopes it grants (or type: resource "
                                       "for a permission over whole resources)" % name)
        if 'resourceType' in fields:
            raise InvalidAuthorization("permission '%s': resource_type is for type: resource" % name)
    else:
        if 'scopes' in fields:
            raise InvalidAuthorization("permission '%s' of type resource grants whole resources and takes no scopes; "
                                       "use type: scope for a permission per scope" % name)
        if not fields.get('resources') and not fields.get('resourceType'):
            raise InvalidAuthorization("permission '%s' of type resource needs resources or resource_type" % name)
    return dict(fields, type=kind)


def with_authorization(options):
    """Options with what declaring authorization implies: authorization services (and so service accounts) on."""
    if not options.get('authorization') or options.get('state') == 'absent':
        return options
    if options.get('authorization_services') is False:
        raise InvalidAuthorization("authorization needs authorization_services (it declares the client's resource "
                                   "server); drop authorization_services: false")
    options = dict(options, authorization_services=True)
    if options.get('service_accounts') is None:
        options['service_accounts'] = True
    declared(options['authorization'])  # fail before any request
    return options


# -- current state (from the export) ---------------------------------------------------------------

TIME_CONFIG = dict(nbf='notBefore', noa='notOnOrAfter')


def existing(export):
    """{kind: {name: fields}} of everything the resource server has, in the shape of declared()'s items, and
    'server': its own settings."""
    items: dict = {kind: {} for kind in KINDS}
    export = export or {}
    # Every setting, declared or not: a PUT of the resource server resets what it leaves out.
    items['server'] = {field: export.get(field) for field in SERVER_SETTINGS}
    for scope in export.get('scopes') or []:
        items['scopes'][scope['name']] = {}
    for resource in export.get('resources') or []:
        items['resources'][resource['name']] = dict(
            displayName=resource.get('displayName'), type=resource.get('type'),
            uris=sorted(set(resource.get('uris') or [])),
            scopes=sorted({s['name'] for s in resource.get('scopes') or []}))
    for policy in export.get('policies') or []:
        kind = 'permissions' if policy.get('type') in PERMISSION_TYPES else 'policies'
        items[kind][policy['name']] = _existing_policy(policy)
    return items


def _existing_policy(policy):
    config = policy.get('config') or {}
    kind = policy.get('type')
    fields = dict(type=kind, description=policy.get('description'), logic=policy.get('logic'),
                  decisionStrategy=policy.get('decisionStrategy'))
    if kind == 'role':
        # The export names roles ('role' or 'client-id/role') where the API takes ids.
        fields['roles'] = sorted({r['id'] for r in _json_list(config.get('roles'))})
    elif kind == 'client':
        fields['clients'] = sorted(set(_json_list(config.get('clients'))))
    elif kind == 'group':
        groups = [g for g in _json_list(config.get('groups')) if isinstance(g, dict)]
        fields['groups'] = sorted({g.get('path') for g in groups})
        flags = {bool(g.get('extendChildren')) for g in groups}
        fields['extendChildren'] = flags.pop() if len(flags) == 1 else None
    elif kind == 'user':
        fields['users'] = sorted(set(_json_list(config.get('users'))))
    elif kind == 'aggregate':
        fields['policies'] = sorted(set(_json_list(config.get('applyPolicies'))))
    elif kind == 'time':
        fields.update({TIME_CONFIG.get(key, key): value for key, value in config.items()
                       if TIME_CONFIG.get(key, key) in TIME_FIELDS})
        fields.update({field: None for field in TIME_FIELDS if field not in fields})
    elif kind in PERMISSION_TYPES:
        fields.update(resources=sorted(set(_json_list(config.get('resources')))),
                      policies=sorted(set(_json_list(config.get('applyPolicies')))))
        if kind == 'scope':
            fields['scopes'] = sorted(set(_json_list(config.get('scopes'))))
        else:
            fields['resourceType'] = config.get('defaultResourceType')
    return fields


def _json_list(text):
    try:
        value = json.loads(text or '[]')
    except ValueError:
        return []
    return value if isinstance(value, list) else []


def differing(want, have):
    """Declared fields whose value Keycloak does not have."""
    return sorted(field for field, value in want.items() if (have or {}).get(field) != value)


# -- the plan (pure) --------------------------------------------------------------------------------


def removed(declaration, current):
    """{kind: names} of the existing items that go: declared absent, or undeclared in an exclusive kind."""
    gone = {}
    for kind in KINDS:
        names = declaration['absent'][kind] & set(current[kind])
        if kind in declaration['exclusive']:
            names |= set(current[kind]) - set(declaration['items'][kind])
        gone[kind] = names
    return gone


def after_state(declaration, current, gone):
    """{kind: {name: fields}} as the resource server will be: kept items with the declared fields laid over."""
    after = {}
    for kind in KINDS:
        after[kind] = {name: dict(fields) for name, fields in current[kind].items() if name not in gone[kind]}
        for name, want in declaration['items'][kind].items():
            after[kind][name] = dict(after[kind].get(name) or {}, **want)
    return after


def plan_ops(declaration, current):
    """[(op, kind, name)] that make current look as declared, in an order Keycloak accepts: creates and updates
    by dependency (scopes, resources, policies with an aggregate after its parts, permissions), the server's
    settings, then removals the other way round (permissions, an aggregate before its parts, resources, scopes).

    Raises InvalidAuthorization when the declaration cannot be carried out as a whole (see check_references).
    """
    _check_types(declaration, current)
    gone = removed(declaration, current)
    after = after_state(declaration, current, gone)
    check_references(declaration, gone, after)
    ops = []
    for kind in KINDS:
        names = sorted(declaration['items'][kind])
        if kind == 'policies':
            names = _parts_first(names, after['policies'])
        for name in names:
            have = current[kind].get(name)
            if have is None:
                ops.append(('create', kind, name))
            elif differing(declaration['items'][kind][name], have):
                ops.append(('update', kind, name))
    if differing(declaration['server'], current.get('server')):
        ops.append(('update', 'server', None))
    for kind in reversed(KINDS):
        names = sorted(gone[kind])
        if kind == 'policies':
            names = list(reversed(_parts_first(sorted(names, reverse=True), current['policies'])))
        ops.extend(('delete', kind, name) for name in names)
    return ops


def _check_types(declaration, current):
    for kind, other in (('policies', 'permissions'), ('permissions', 'policies')):
        for name, want in sorted(declaration['items'][kind].items()):
            if name in current[other]:
                raise InvalidAuthorization("%s '%s': Keycloak has a %s of that name (policies and permissions share "
                                           "one list of names); rename one" % (SINGULAR[kind], name, SINGULAR[other]))
            have = current[kind].get(name)
            if have is not None and have.get('type') != want['type']:
                raise InvalidAuthorization("%s '%s' is of type %s in Keycloak, declared %s: Keycloak cannot change a "
                                           "type; remove it first (state: absent) or give it another name"
                                           % (SINGULAR[kind], name, have.get('type'), want['type']))


def _parts_first(names, policies):
    """names ordered so that an aggregate comes after the policies it combines (as given otherwise)."""
    order: list = []
    placed: set = set()

    def place(name):
        if name in placed:
            return
        placed.add(name)
        for part in sorted((policies.get(name) or {}).get('policies') or []):
            if part in wanted:
                place(part)
        order.append(name)

    wanted = set(names)
    for name in names:
        place(name)
    return order


def _references(kind, fields):
    """(kind referred to, name) of each reference an item's fields make."""
    refs = []
    if kind == 'resources':
        refs += [('scopes', s) for s in fields.get('scopes') or []]
    elif kind == 'permissions':
        refs += [('resources', r) for r in fields.get('resources') or []]
        refs += [('policies', p) for p in fields.get('policies') or []]
        if fields.get('type') == 'scope' and not fields.get('resources'):
            # With resources, its scopes must be scopes of those (check_references says which they offer).
            refs += [('scopes', s) for s in fields.get('scopes') or []]
    elif kind == 'policies' and fields.get('type') == 'aggregate':
        refs += [('policies', p) for p in fields.get('policies') or []]
    return refs


def check_references(declaration, gone, after):
    """Each name an item refers to must exist once the task is done; raise otherwise.

    A declared item may only name what is declared or exists and stays. An item that stays undeclared may not
    name what goes: Keycloak would silently drop the reference (or delete a permission left with no policy).
    Aggregates must not form a cycle.
    """
    items = declaration['items']
    for kind in KINDS:
        for name in sorted(after[kind]):
            for ref_kind, ref in _references(kind, after[kind][name]):
                if ref in after[ref_kind]:
                    continue
                if name not in items[kind]:
                    if ref in gone[ref_kind]:
                        raise InvalidAuthorization(
                            "%s '%s' would be removed, but %s '%s', which stays (it is not declared), names it; "
                            "declare '%s' without it, or remove it too" % (
                                SINGULAR[ref_kind], ref, SINGULAR[kind], name, name))
                    continue  # Keycloak's own affair: an existing item we were not asked about
                if ref in gone[ref_kind]:
                    why = ('declared absent' if ref in declaration['absent'][ref_kind]
                           else 'not declared under exclusive %s' % ref_kind)
                    raise InvalidAuthorization("%s '%s': %s '%s' is removed (%s); drop it from the %s or declare it"
                                               % (SINGULAR[kind], name, SINGULAR[ref_kind], ref, why, SINGULAR[kind]))
                raise InvalidAuthorization("%s '%s': unknown %s '%s'; declare it in authorization.%s"
                                           % (SINGULAR[kind], name, SINGULAR[ref_kind], ref, ref_kind))
    for name, permission in sorted(items['permissions'].items()):
        if permission['type'] != 'scope' or not permission.get('resources'):
            continue
        offered: set = set()
        for resource in permission['resources']:
            offered.update(after['resources'][resource].get('scopes') or [])
        for scope in permission['scopes']:
            if scope not in offered:
                raise InvalidAuthorization("permission '%s': unknown scope '%s'; %s has the scopes: %s"
                                           % (name, scope, ', '.join(permission['resources']),
                                              ', '.join(sorted(offered)) or 'none'))
    _check_cycles(after['policies'])


def _check_cycles(policies):
    state: dict = {}

    def visit(name, path):
        if state.get(name) == 'done':
            return
        if state.get(name) == 'open':
            cycle = path[path.index(name):] + [name]
            raise InvalidAuthorization("policy '%s': aggregate policies form a cycle: %s"
                                       % (cycle[0], ' -> '.join(cycle)))
        state[name] = 'open'
        fields = policies.get(name) or {}
        if fields.get('type') == 'aggregate':
            for part in sorted(fields.get('policies') or []):
                visit(part, path + [name])
        state[name] = 'done'

    for name in sorted(policies):
        visit(name, [])
