"""Reconcile decisions with a stand-in API (pure logic: what is read, what is written)."""
from ansible_collections.keycloak_ops.clients.plugins.module_utils._clients.options import merged_options
from ansible_collections.keycloak_ops.clients.plugins.module_utils._clients.journal import Journal
from ansible_collections.keycloak_ops.clients.plugins.module_utils._clients.plan import Planner
from ansible_collections.keycloak_ops.clients.plugins.module_utils._clients.reads import ClientReads
from ansible_collections.keycloak_ops.clients.plugins.module_utils._clients.write import ClientWriter


class ClientReconciler(object):
    """The reads, planner, writer and journal of one task, as the run composes them."""

    def __init__(self, api, kind, check_mode=False):
        self.reads = ClientReads(api)
        self.planner = Planner(self.reads, kind)
        self.journal = Journal(api)
        self.writer = ClientWriter(self.planner, self.journal, check_mode=check_mode)
        self.prefetch, self.find_client = self.reads.prefetch, self.reads.find_client

    def plan(self, options):
        return self.planner.plan(options)

    def apply(self, plan):
        return plan.apply(self.writer)


class StubAPI(object):
    """Answers reads from a dict of clients; records writes. create_conflicts makes the first POST meet 409."""

    def __init__(self, clients=None, create_conflicts=False):
        self.clients = dict(clients or {})
        self.writes = []
        self.reads = []
        self.create_conflicts = create_conflicts

    def get(self, path, params=None, absent_ok=False):
        self.reads.append(path)
        if path.endswith('/clients') and params:
            found = self.clients.get(params['clientId'])
            return [found] if found else []
        if path.endswith('client-scopes'):
            return [{'name': n, 'id': n + '-id', 'protocol': 'openid-connect'} for n in ('basic', 'email', 'profile')]
        return []

    def request(self, method, path, body=None, params=None, expected=(200, 201, 204), absent_ok=False):
        self.writes.append((method, path))
        if method == 'POST' and self.create_conflicts:
            # Our first attempt did land (a retried POST): the client now exists.
            self.clients[body['clientId']] = dict(body, id='uuid-1')
            return 409, None, {}
        return 201, None, {'Location': 'http://kc/admin/realms/r/clients/uuid-2'}

    def put(self, path, body):
        self.writes.append(('PUT', path))

    def post(self, path, body=None, expected=None):
        self.writes.append(('POST', path))

    def delete(self, path, absent_ok=True):
        self.writes.append(('DELETE', path))
        return True


def options(**given):
    return merged_options(dict(dict(realm='r', state='present', client_id='svc', preset='service'), **given), 'confidential')


def test_retried_create_that_meets_409_rereads_and_converges():
    api = StubAPI(create_conflicts=True)
    reconciler = ClientReconciler(api, 'confidential')
    result = reconciler.apply(reconciler.plan(options()))
    assert result['changed'] is True and result['id'] == 'uuid-1'
    assert api.writes == [('POST', 'admin/realms/r/clients')], "no second create, no needless update"


def test_after_a_409_the_plan_holds_the_client_that_exists():
    """return_secret reads the secret through the plan: it must name the client found after the conflict."""
    api = StubAPI(create_conflicts=True)
    reconciler = ClientReconciler(api, 'confidential')
    plan = reconciler.plan(options())
    reconciler.apply(plan)
    assert plan['current']['id'] == 'uuid-1'


def test_existing_client_in_desired_state_needs_no_write():
    current = {'id': 'u', 'clientId': 'svc', 'publicClient': False, 'serviceAccountsEnabled': True,
               'standardFlowEnabled': False, 'directAccessGrantsEnabled': False, 'defaultClientScopes': ['email']}
    api = StubAPI({'svc': current})
    reconciler = ClientReconciler(api, 'confidential')
    result = reconciler.apply(reconciler.plan(options(default_client_scopes=['openid', 'email'])))
    assert result['changed'] is False and api.writes == []


def test_check_mode_predicts_without_writing():
    api = StubAPI()
    reconciler = ClientReconciler(api, 'confidential', check_mode=True)
    result = reconciler.apply(reconciler.plan(options()))
    assert result['changed'] is True and api.writes == []


def test_exclusive_scopes_remove_the_unlisted():
    current = {'id': 'u', 'clientId': 'svc', 'publicClient': False, 'serviceAccountsEnabled': True,
               'standardFlowEnabled': False, 'directAccessGrantsEnabled': False,
               'defaultClientScopes': ['email', 'profile'], 'optionalClientScopes': ['basic']}
    api = StubAPI({'svc': current})
    reconciler = ClientReconciler(api, 'confidential')
    plan = reconciler.plan(options(default_client_scopes=['email', 'basic'], client_scopes_exclusive=True))
    assert plan['scope_ops'] == [('remove', 'default', 'profile'), ('remove', 'optional', 'basic'), ('add', 'default', 'basic')]


class LineAPI(StubAPI):
    """A realm of a line from 26.1 on: it has Keycloak's 'service_account' scope, which the server attaches to
    every client with a service account."""

    def get(self, path, params=None, absent_ok=False):
        if path.endswith('/client-scopes'):  # the realm's catalog, not its default lists
            return super(LineAPI, self).get(path) + [{'name': 'service_account', 'id': 'sa-id', 'protocol': 'openid-connect'}]
        return super(LineAPI, self).get(path, params, absent_ok)


def test_exclusive_scopes_keep_the_scope_the_server_attaches_to_a_service_account():
    current = {'id': 'u', 'clientId': 'svc', 'publicClient': False, 'serviceAccountsEnabled': True,
               'standardFlowEnabled': False, 'directAccessGrantsEnabled': False,
               'defaultClientScopes': ['email', 'service_account'], 'optionalClientScopes': []}
    api = LineAPI({'svc': current})
    reconciler = ClientReconciler(api, 'confidential')
    result = reconciler.apply(reconciler.plan(options(default_client_scopes=['email'], client_scopes_exclusive=True)))
    assert result['changed'] is False and api.writes == []


def test_exclusive_scopes_detach_service_account_from_a_client_without_one():
    current = {'id': 'u', 'clientId': 'web', 'publicClient': False, 'serviceAccountsEnabled': False,
               'standardFlowEnabled': True, 'defaultClientScopes': ['email', 'service_account']}
    reconciler = ClientReconciler(LineAPI({'web': current}), 'confidential')
    plan = reconciler.plan(options(client_id='web', preset='web', default_client_scopes=['email'],
                                   client_scopes_exclusive=True))
    assert plan['scope_ops'] == [('remove', 'default', 'service_account')]


def test_a_create_reports_what_the_server_will_hold_without_reading_it_back():
    api = LineAPI()
    reconciler = ClientReconciler(api, 'confidential')
    plan = reconciler.plan(options(default_client_scopes=['email'], client_scopes_exclusive=True))
    reads = len(api.reads)
    result = reconciler.apply(plan)
    assert result['end_state']['defaultClientScopes'] == ['email', 'service_account']
    assert len(api.reads) == reads, "no read-back after the create"


class ListingAPI(StubAPI):
    """A realm of `size` clients that also answers the paged listing (first/max) and counts what it is asked."""

    def __init__(self, size, **kwargs):
        clients = {'c%05d' % i: dict(clientId='c%05d' % i, id='id-%d' % i) for i in range(size)}
        StubAPI.__init__(self, clients, **kwargs)
        self.params = []

    def get(self, path, params=None, absent_ok=False):
        self.params.append(params)
        if path.endswith('/clients') and params and 'first' in params:
            self.reads.append(path)
            listed = sorted(self.clients.values(), key=lambda c: c['clientId'])
            return listed[params['first']:params['first'] + params['max']]
        return StubAPI.get(self, path, params, absent_ok)


def pages(params):
    """The (first, max) of the listing pages asked for, in order of first (they go out a few at a time)."""
    return sorted((p['first'], p['max']) for p in params if p and p.get('briefRepresentation') == 'false')


def test_a_small_realm_is_listed_instead_of_queried_client_by_client():
    api = ListingAPI(250)
    reconciler = ClientReconciler(api, 'confidential')
    reconciler.prefetch([options(client_id='c%05d' % i) for i in range(0, 250, 5)] + [options(client_id='new')])
    assert pages(api.params)[0] == (0, 100), "as many first pages as the 51 clients fill, and one more"
    assert pages(api.params)[1:] == [(100, 100), (200, 100), (300, 100)], "then the rest, side by side"
    assert len(api.params) == 4, "no probe: one round reaches the limit"
    assert reconciler.find_client('r', 'c00030')['id'] == 'id-30' and reconciler.find_client('r', 'new') is None
    assert len(api.params) == 4, "found in what was listed, absent ones included"


def test_the_first_pages_of_a_realm_of_the_task_s_clients_go_out_side_by_side():
    api = ListingAPI(206)
    reconciler = ClientReconciler(api, 'confidential')
    reconciler.prefetch([options(client_id='c%05d' % i) for i in range(6, 206)])
    assert pages(api.params) == [(0, 100), (100, 100), (200, 100)] and len(api.params) == 3, api.params


def test_a_realm_beyond_the_first_pages_is_probed_then_listed_until_a_page_comes_back_short():
    api = ListingAPI(1500)
    reconciler = ClientReconciler(api, 'confidential')
    reconciler.prefetch([options(client_id='c%05d' % i) for i in range(0, 1500, 5)] + [options(client_id='new')])
    probes = [p for p in api.params if p.get('briefRepresentation') == 'true']
    assert probes == [dict(first=1806, max=1, briefRepresentation='true')], "301 names: 1,806 listable"
    listed = pages(api.params)
    assert listed[:15] == [(first, 100) for first in range(0, 1500, 100)] and len(listed) <= 15 + 4, listed
    assert not [p for p in api.params if 'clientId' in p] and reconciler.find_client('r', 'c01495')['id'] == 'id-1495'


def test_a_realm_whose_first_pages_hold_every_client_looked_for_is_listed_no_further():
    api = ListingAPI(1500)
    reconciler = ClientReconciler(api, 'confidential')
    reconciler.prefetch([options(client_id='c%05d' % i) for i in range(0, 200)])
    assert pages(api.params) == [(0, 100), (100, 100), (200, 100)] and len(api.params) == 3, api.params
    assert reconciler.find_client('r', 'c00199')['id'] == 'id-199' and len(api.params) == 3


def test_a_realm_the_probe_finds_too_big_is_queried_after_its_first_pages():
    api = ListingAPI(1500)
    reconciler = ClientReconciler(api, 'confidential')
    reconciler.prefetch([options(client_id='c%05d' % i) for i in range(0, 1500, 12)])  # 125 names: 750 listable
    assert pages(api.params) == [(0, 100), (100, 100)]
    assert dict(first=750, max=1, briefRepresentation='true') in api.params
    assert len([p for p in api.params if 'clientId' in p]) == 125
    assert reconciler.find_client('r', 'c01488')['id'] == 'id-1488'


def test_a_realm_listed_up_to_the_limit_without_a_probe_is_queried():
    api = ListingAPI(1500)
    reconciler = ClientReconciler(api, 'confidential')
    reconciler.prefetch([options(client_id='c%05d' % i) for i in range(0, 1500, 19)])  # 79 names: 474 listable
    assert pages(api.params) == [(0, 100), (100, 100), (200, 100), (300, 100), (400, 100)]
    assert len([p for p in api.params if 'clientId' in p]) == 79, "pages full up to the limit: too big"


class FailingPageAPI(ListingAPI):
    """A realm whose listing page at `failing` answers with an error."""

    def __init__(self, size, failing):
        ListingAPI.__init__(self, size)
        self.failing = failing

    def get(self, path, params=None, absent_ok=False):
        if params and params.get('first') == self.failing and params.get('briefRepresentation') == 'false':
            from ansible_collections.keycloak_ops.clients.plugins.module_utils._core.errors import KeycloakOpsError
            raise KeycloakOpsError('Keycloak answered HTTP 500')
        return ListingAPI.get(self, path, params, absent_ok)


def test_a_page_that_fails_within_the_realm_leaves_the_clients_to_their_queries():
    api = FailingPageAPI(250, failing=100)
    reconciler = ClientReconciler(api, 'confidential')
    reconciler.prefetch([options(client_id='c%05d' % i) for i in range(0, 250, 5)])
    assert reconciler.find_client('r', 'c00130')['id'] == 'id-130'
    assert dict(clientId='c00130') in api.params, "not taken from a listing with a hole in it"


def test_a_page_that_fails_past_the_end_of_the_realm_does_not_matter():
    api = FailingPageAPI(250, failing=300)
    reconciler = ClientReconciler(api, 'confidential')
    reconciler.prefetch([options(client_id='c%05d' % i) for i in range(0, 250, 5)])
    assert reconciler.find_client('r', 'c00245')['id'] == 'id-245'
    assert not [p for p in api.params if 'clientId' in p], "everything was listed before the failed page"


def test_a_big_realm_is_queried_client_by_client():
    api = ListingAPI(1500)
    reconciler = ClientReconciler(api, 'confidential')
    reconciler.prefetch([options(client_id=name) for name in ('c00001', 'c00002', 'new')])
    assert api.params[0] == dict(first=0, max=3 * 6, briefRepresentation='false'), "a full first page: too big"
    assert sorted(p['clientId'] for p in api.params[1:]) == ['c00001', 'c00002', 'new']
    assert reconciler.find_client('r', 'c00002')['id'] == 'id-2' and reconciler.find_client('r', 'new') is None


def test_one_or_two_clients_are_queried_without_a_listing():
    api = ListingAPI(10)
    ClientReconciler(api, 'confidential').prefetch([options(client_id='c00001'), options(client_id='x')])
    assert api.params == []


def test_a_create_that_meets_409_is_not_journaled_as_this_task_s_creation():
    reconciler = ClientReconciler(StubAPI(create_conflicts=True), 'confidential')
    reconciler.apply(reconciler.plan(options()))
    assert reconciler.journal.stands() == [], "another writer's client: a rollback must not delete it"
