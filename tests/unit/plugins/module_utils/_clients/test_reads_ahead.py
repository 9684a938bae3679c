"""The reads of one GET per client (each resource server's settings) go out a few at a time before the reconciler
plans, and the reconciler's own read of each is served from them once."""
import threading

from ansible_collections.keycloak_ops.clients.plugins.module_utils._clients.authorization import AuthorizationReconciler
from ansible_collections.keycloak_ops.clients.plugins.module_utils._clients.reads import ReadAhead
from ansible_collections.keycloak_ops.clients.plugins.module_utils._clients.run import settings_path
from ansible_collections.keycloak_ops.clients.plugins.module_utils._core.errors import KeycloakOpsError


class SettingsAPI:
    """Resource servers with one scope each; records every GET; a server named 'gone' answers 404, 'broken' fails."""

    def __init__(self):
        self.gets = []
        self.lock = threading.Lock()

    def get(self, path, params=None, absent_ok=False):
        with self.lock:
            self.gets.append(path)
        if '/gone-id/' in path:
            if absent_ok:
                return None
            raise KeycloakOpsError('404')
        if '/broken-id/' in path:
            raise KeycloakOpsError('Keycloak answered HTTP 500')
        return dict(scopes=[dict(name='read')])


def plan_of(name, action='update', enabled=True):
    return dict(realm='r', client_id=name, action=action, options=dict(authorization=dict(scopes=['read'])),
                current=dict(id=name + '-id', clientId=name, authorizationServicesEnabled=enabled))


def test_each_resource_server_is_read_once_ahead_and_served_to_the_reconciler():
    api = SettingsAPI()
    reads = ReadAhead(api)
    plans = [plan_of('rs-%d' % i) for i in range(10)] + [plan_of('new', action='create', enabled=False)]
    reads.read(settings_path(plan) for plan in plans if settings_path(plan))
    assert len(api.gets) == 10
    reconciler = AuthorizationReconciler(reads, clients=lambda realm, client_id: None)
    for plan in plans:
        reconciler.plan(plan)
    assert len(api.gets) == 10, "the reconciler read nothing more"
    assert all(plan['authorization']['ops'] == [] for plan in plans[:10]), "each got its own settings"
    reads.get(settings_path(plans[0]), absent_ok=True)
    assert len(api.gets) == 11, "an answer is served once: a later read goes to Keycloak"


def test_a_client_without_declared_authorization_or_about_to_go_reads_nothing():
    assert settings_path(dict(plan_of('a'), options={})) is None
    assert settings_path(dict(plan_of('a'), options=dict(authorization={}))) is None
    assert settings_path(plan_of('a', action='delete')) is None
    assert settings_path(plan_of('a', enabled=False)) is None


def test_a_failed_read_ahead_is_left_to_the_reconciler_which_reports_it():
    api = SettingsAPI()
    reads = ReadAhead(api)
    reads.read([settings_path(plan_of('broken')), settings_path(plan_of('gone'))])
    assert reads.get(settings_path(plan_of('gone')), absent_ok=True) is None, "a 404 read ahead stays an absent answer"
    try:
        reads.get(settings_path(plan_of('broken')), absent_ok=True)
    except KeycloakOpsError as exc:
        assert 'HTTP 500' in str(exc)
    else:
        raise AssertionError('the failed read is sent again and fails in its place')
