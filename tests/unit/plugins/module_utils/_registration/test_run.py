"""The run of client_registration (its module's own argument spec) over a stand-in of the Client Registration Service:
registering, converging and deleting; the credentials file kept owner-only with the newest registration access token;
what is returned and what stays hidden."""
import itertools
import json
import os
import stat

import pytest

from ansible_collections.keycloak_ops.clients.plugins.module_utils._core.masking import MASK, collect_secrets
from ansible_collections.keycloak_ops.clients.plugins.module_utils._registration import run as registration_run
from ansible_collections.keycloak_ops.clients.plugins.module_utils._registration.refusals import StaleToken
from ansible_collections.keycloak_ops.clients.plugins.modules.client_registration import main
from tests.unit.module_runs import run_main


class Service(object):
    """The Client Registration Service as the run sees it: every create and update answers a new registration access
    token and kills the one it was sent with; a dead token is refused as stale."""

    base_url = "http://127.0.0.1:1/"

    def __init__(self):
        self.clients, self.live, self.calls = {}, set(), []
        self.tokens = ("rat-%d-of-the-service" % n for n in itertools.count(1))

    def __call__(self, params, realm, provider, hide=None):  # stands in for the RegistrationService class
        self.hide = hide
        return self

    def _answer(self, client_id, killed=None):
        self.live.discard(killed)
        token = next(self.tokens)
        self.live.add(token)
        answer = dict(self.clients[client_id], registrationAccessToken=token)
        self.hide(collect_secrets(answer))
        return answer

    def _check(self, rat):
        if rat not in self.live:
            raise StaleToken("the registration access token is no longer valid")

    def create(self, iat, desired):
        self.calls.append(("create", iat))
        self.clients[desired["clientId"]] = dict(desired, id="uuid-1", secret="client-secret-of-the-service")
        return self._answer(desired["clientId"])

    def read(self, rat, client_id, where):
        self.calls.append(("read", rat))
        self._check(rat)
        return dict(self.clients[client_id])

    def update(self, rat, client_id, body, where):
        self.calls.append(("update", rat))
        self._check(rat)
        self.clients[client_id] = dict(body, id="uuid-1", secret=self.clients[client_id]["secret"])
        return self._answer(client_id, killed=rat)

    def delete(self, rat, client_id, where):
        self.calls.append(("delete", rat))
        self._check(rat)
        del self.clients[client_id]


@pytest.fixture
def service(monkeypatch):
    stand_in = Service()
    monkeypatch.setattr(registration_run, "RegistrationService", stand_in)
    return stand_in


@pytest.fixture
def register(capsys, tmp_path):
    def run(**args):
        return run_main(capsys, main, dict(dict(auth_keycloak_url=Service.base_url, realm="apps", client_id="app1",
                                                credentials_file=str(tmp_path / "etc" / "app1.json")), **args))
    return run


def stored(tmp_path):
    path = tmp_path / "etc" / "app1.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    return json.loads(path.read_text())


def test_a_registration_is_stored_owner_only_and_a_second_run_changes_nothing(service, register, tmp_path):
    first = register(initial_access_token="iat-1", metadata={"redirectUris": ["https://app1/cb"]})
    assert first["changed"] and first["client_id"] == "app1" and first["registered"]["secret"] == MASK
    assert "client-secret-of-the-service" not in json.dumps(first) and "rat-1" not in json.dumps(first)
    kept = stored(tmp_path)
    assert kept["registration_access_token"] == "rat-1-of-the-service" and kept["secret"] == "client-secret-of-the-service"
    assert kept["token_endpoint"] == "http://127.0.0.1:1/realms/apps/protocol/openid-connect/token"
    assert stat.S_IMODE((tmp_path / "etc").stat().st_mode) == 0o700
    second = register(metadata={"redirectUris": ["https://app1/cb"]})
    assert not second["changed"] and service.calls == [("create", "iat-1"), ("read", "rat-1-of-the-service")]


def test_a_change_is_sent_with_the_stored_token_and_the_new_token_is_stored_at_once(service, register, tmp_path):
    register(initial_access_token="iat-1")
    result = register(metadata={"description": "new"})
    assert result["changed"] and result["registration_access_token_rotated"]
    assert service.calls[-1] == ("update", "rat-1-of-the-service")
    assert stored(tmp_path)["registration_access_token"] == "rat-2-of-the-service"
    assert service.clients["app1"]["description"] == "new"


def test_a_stale_stored_token_gives_way_to_a_given_one(service, register, tmp_path):
    register(initial_access_token="iat-1")
    service.live = {"rat-from-an-admin"}
    result = register(registration_access_token="rat-from-an-admin")
    assert result["changed"], "a token given to repair the file is a change on the host"
    assert service.calls[-2:] == [("read", "rat-1-of-the-service"), ("read", "rat-from-an-admin")]
    assert stored(tmp_path)["registration_access_token"] == "rat-from-an-admin"


def test_nothing_is_registered_without_an_initial_access_token_but_check_mode_predicts_it(service, register, tmp_path):
    failure = register()
    assert failure["failed"] and "no initial_access_token" in failure["msg"]
    predicted = register(_ansible_check_mode=True)
    assert predicted["changed"] and service.calls == [] and not (tmp_path / "etc").exists()


def test_a_file_of_another_realm_or_client_is_never_taken_over(service, register, tmp_path):
    register(initial_access_token="iat-1")
    assert "holds client 'app1' of realm 'apps', not realm 'other'" in register(realm="other")["msg"]
    assert "holds client 'app1', not 'app2'" in register(client_id="app2")["msg"]


def test_a_loose_file_mode_is_repaired_as_a_change(service, register, tmp_path):
    register(initial_access_token="iat-1")
    os.chmod(tmp_path / "etc" / "app1.json", 0o644)
    assert register()["changed"]
    stored(tmp_path)


def test_the_secret_is_returned_only_when_asked(service, register):
    register(initial_access_token="iat-1")
    assert register(return_secret=True)["secret"] == "client-secret-of-the-service"
    assert "secret" not in register()


def test_absent_deletes_the_client_and_its_file(service, register, tmp_path):
    register(initial_access_token="iat-1")
    result = register(state="absent", _ansible_diff=True)
    assert result["changed"] and result["registered"] is None and service.clients == {}
    assert service.calls[-1] == ("delete", "rat-1-of-the-service") and not (tmp_path / "etc" / "app1.json").exists()
    assert register(state="absent")["changed"] is False, "nothing stored, nothing to delete"
