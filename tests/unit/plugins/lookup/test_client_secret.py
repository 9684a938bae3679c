"""The client_secret lookup documents, from the keycloak doc fragment, exactly the connection options of the
modules, each read from the environment variable the modules fall back to; its run reads the secrets of many
clients over one session and fails in one line naming the client."""
import json
import os
import subprocess
import sys

import pytest
from ansible.errors import AnsibleLookupError
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar

from ansible_collections.keycloak_ops.clients.plugins.lookup import client_secret
from ansible_collections.keycloak_ops.clients.plugins.module_utils._core.connection_options import keycloak_argument_spec
from tests.unit.plugins.module_utils.admin_api import AdminAPI

SECRETS = ("auth_client_secret", "auth_password", "token")


def lookup_options():
    ansible_doc = os.path.join(os.path.dirname(sys.executable), "ansible-doc")
    out = subprocess.run([ansible_doc, "-t", "lookup", "--json", "keycloak_ops.clients.client_secret"],
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out)["keycloak_ops.clients.client_secret"]["doc"]["options"]


def test_lookup_options_are_the_connection_options_with_their_environment_variables():
    options = lookup_options()
    spec = keycloak_argument_spec()
    assert sorted(options) == sorted(list(spec) + ["_terms", "realm"])
    for name, argument in spec.items():
        fallback = argument.get("fallback")
        env = [entry["name"] for entry in options[name].get("env", [])]
        assert env == (fallback[1] if fallback else []), name
        assert options[name].get("aliases", []) == argument.get("aliases", []), name
        assert options[name]["type"] == argument["type"], name
        if name in SECRETS:
            assert not options[name].get("ini"), "%s: a secret must not come from ansible.cfg" % name


# -- its run, over a stand-in admin API (Ansible's option machinery stood in by the given options) ---------------

class LoginAPI(AdminAPI):
    def __init__(self, params):
        AdminAPI.__init__(self, CLIENTS)
        self.params, self.logins = params, 0

    def login(self):
        self.logins += 1


CLIENTS = {"admin/realms/apps/clients": [
    {"id": "u1", "clientId": "worker", "publicClient": False, "secret": "s3cret-{{ not templated }}"},
    {"id": "u2", "clientId": "masked", "publicClient": False, "secret": "**********"}]}


def run_lookup(monkeypatch, terms, **options):
    sessions = []
    monkeypatch.setattr(client_secret, "KeycloakAPI", lambda params: sessions.append(LoginAPI(params)) or sessions[-1])
    lookup = client_secret.LookupModule()
    given = dict(dict.fromkeys(keycloak_argument_spec()), realm="apps", **options)
    monkeypatch.setattr(lookup, "set_options", lambda var_options=None, direct=None: None)
    monkeypatch.setattr(lookup, "get_option", given.get)
    return lookup.run(terms, variables={}), sessions


def test_the_secrets_of_the_terms_come_in_their_order_over_one_session_and_are_never_templated(monkeypatch):
    secrets, sessions = run_lookup(monkeypatch, ["worker"], auth_keycloak_url="http://127.0.0.1:1")
    assert secrets == ["s3cret-{{ not templated }}"]
    assert Templar(loader=DataLoader()).template(secrets[0]) == "s3cret-{{ not templated }}"
    assert len(sessions) == 1 and sessions[0].logins == 1


def test_a_failure_names_the_client_in_one_line(monkeypatch):
    with pytest.raises(AnsibleLookupError, match="^client_secret lookup: client 'nobody': "):
        run_lookup(monkeypatch, ["worker", "nobody"], auth_keycloak_url="http://127.0.0.1:1")
    with pytest.raises(AnsibleLookupError, match=r"^client_secret lookup: set auth_keycloak_url \(or KEYCLOAK_URL\)$"):
        run_lookup(monkeypatch, ["worker"])
