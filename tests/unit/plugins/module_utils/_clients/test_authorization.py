"""The authorization writes of a client task go through the task's journal, each with its undo, and a policy may
name a client that the same task creates (its id is looked up when the policy is written)."""
import json

from ansible_collections.keycloak_ops.clients.plugins.module_utils._clients.authorization import AuthorizationReconciler
from ansible_collections.keycloak_ops.clients.plugins.module_utils._clients.authorization_items import declared, existing, plan_ops
from ansible_collections.keycloak_ops.clients.plugins.module_utils._clients.journal import Journal

BASE = 'admin/realms/r/clients/api-id/authz/resource-server'


class AuthzAPI:
    """A resource server holding one client policy; answers creates with an id and records every write."""

    def __init__(self):
        self.writes = []

    def get(self, path, params=None, absent_ok=False):
        if path.endswith('/settings'):
            return dict(policies=[dict(name='callers', type='client', config=dict(clients=json.dumps(['old'])))])
        if path.endswith('/policy/search'):
            return dict(id='callers-id', name=params['name'])
        raise AssertionError(path)

    def request(self, method, path, body=None, params=None, expected=(200, 201, 204), absent_ok=False, check_hint=None):
        self.writes.append((method, path, body))
        return 201, dict(id='new-' + body['name']) if method == 'POST' else None, {}


def test_writes_are_journaled_with_their_undo_and_a_planned_client_resolves_when_written():
    api = AuthzAPI()
    ids = {'old': 'old-id', 'new': None}
    journal = Journal(api)
    authz = AuthorizationReconciler(api, journal=journal,
                                    clients=lambda realm, client_id: dict(clientId=client_id, id=ids[client_id]))
    plan = dict(realm='r', client_id='api', action='update', current=dict(id='api-id', authorizationServicesEnabled=True),
                options=dict(authorization=dict(scopes=['read'], policies=[
                    dict(name='callers', type='client', clients=['old', 'new'])])))
    authz.plan(plan)
    ids['new'] = 'new-id'  # the task created it between planning and writing
    authz.apply(plan, dict(diff=dict(before={}, after={})))
    assert [(m, p) for m, p, _b in api.writes] == [('POST', BASE + '/scope'), ('PUT', BASE + '/policy/client/callers-id')]
    assert sorted(api.writes[1][2]['clients']) == ['new-id', 'old-id']
    assert journal.stands() == ["created authorization scope 'read' of client api", "updated authorization policy 'callers' of client api"]
    journal.rollback()
    undo = api.writes[2:]
    assert [(m, p) for m, p, _b in undo] == [('PUT', BASE + '/policy/client/callers-id'), ('DELETE', BASE + '/scope/new-read')]
    assert undo[0][2]['clients'] == ['old-id'] and undo[0][2]['id'] == 'callers-id'
    assert journal.stands() == []


class Answers:
    """Records writes; answers a create with no id (text), and a restore with 404."""

    def __init__(self):
        self.writes = []

    def request(self, method, path, body=None, params=None, expected=(200, 201, 204), absent_ok=False, check_hint=None):
        self.writes.append((method, path))
        if method == 'PUT' and ('PUT', path) in self.writes[:-1]:  # the restore, after the write
            from ansible_collections.keycloak_ops.clients.plugins.module_utils._core.errors import KeycloakOpsError
            raise KeycloakOpsError('HTTP 404')
        return 201, 'created', {}


def test_a_write_whose_undo_is_unknown_or_fails_stands_and_is_named():
    api = Answers()
    journal = Journal(api)
    journal.write("created authorization scope 'read' of client api", lambda: api.request('POST', 'x'),
                  undo=lambda answer: ('DELETE', 'x/' + answer[1]['id'], None))
    journal.write("updated client api", lambda: api.request('PUT', 'c'), undo=('PUT', 'c', {}))
    assert journal, "a write stands: the task may not say that nothing was changed"
    stands = journal.rollback()
    assert stands == ["created authorization scope 'read' of client api (its answer did not say how to undo it; "
                      "fix by hand)", "updated client api (undoing it failed; fix by hand)"]


def test_settings_of_the_resource_server():
    export = {"policyEnforcementMode": "ENFORCING", "decisionStrategy": "UNANIMOUS", "allowRemoteResourceManagement": True,
              "scopes": [], "resources": [], "policies": []}
    declaration = declared(dict(policy_enforcement_mode="permissive"))
    assert plan_ops(declaration, existing(export)) == [("update", "server", None)]
    authz = dict(current=existing(export), declaration=declaration)
    assert AuthorizationReconciler._server_body(authz) == {
        "policyEnforcementMode": "PERMISSIVE", "decisionStrategy": "UNANIMOUS", "allowRemoteResourceManagement": True}
