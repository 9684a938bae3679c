"""Tokens for the Client Registration Service besides initial access tokens: a registration access token an admin
generates for a client created outside it (registration_access_token), handed from a no_log task straight to
client_registration and the host's credentials file, never to output; and a service account's bearer token."""
import json
import os
import re
import stat

from tests.integration import oidc
from tests.integration.runner import ansible_env, run_module, run_playbook

JWT = re.compile(r"eyJ[\w-]{10,}\.eyJ[\w-]{10,}\.[\w-]{10,}")
SECRET = "legacy-secret-0123456789abcdef"

ADOPT = """
- name: Adopt a client created by an admin
  hosts: app
  gather_facts: false
  tasks:
    - name: Does the host hold the client's credentials already?
      ansible.builtin.stat:
        path: "{{ credentials_file }}"
      register: found

    - name: Generate a registration access token for the client
      keycloak_ops.clients.registration_access_token:
        realm: "{{ realm }}"
        client_id: legacy-app
      delegate_to: localhost
      register: rat
      no_log: true
      when: not found.stat.exists

    - name: Adopt the client on its host
      keycloak_ops.clients.client_registration:
        realm: "{{ realm }}"
        client_id: legacy-app
        credentials_file: "{{ credentials_file }}"
        registration_access_token: "{{ rat.registration_access_token | default(omit) }}"
"""


def test_admin_created_client_is_adopted_without_showing_the_token(keycloak, realm, oracle, env, counting_proxy,
                                                                   tmp_path):
    oracle.create_client({"clientId": "legacy-app", "publicClient": False, "serviceAccountsEnabled": True,
                          "secret": SECRET})
    playbook, path = tmp_path / "adopt.yml", tmp_path / "host" / "keycloak-client.json"
    playbook.write_text(ADOPT)
    (tmp_path / "inventory.ini").write_text("app ansible_connection=local ansible_python_interpreter=auto_silent\n")
    # Through the proxy both times: the credentials file records the URL the host reached Keycloak by.
    args = dict(env=dict(env, KEYCLOAK_URL=counting_proxy.url), inventory=str(tmp_path / "inventory.ini"),
                extra_vars=dict(realm=realm, credentials_file=str(path)))

    first = run_playbook(str(playbook), verbosity=3, **args)
    assert first.rc == 0, first.output[-3000:]
    data = json.loads(path.read_text())
    assert stat.S_IMODE(os.stat(str(path)).st_mode) == 0o600
    assert data["client_id"] == "legacy-app" and data["secret"] == SECRET and data["registration_access_token"]
    for value in (SECRET, data["registration_access_token"]):
        assert value not in first.output
    assert not JWT.search(first.output), "no token of any kind in the -vvv output"

    counting_proxy.reset()
    again = run_playbook(str(playbook), **args)
    assert again.rc == 0, again.output[-3000:]
    assert re.findall(r"changed=(\d+)", again.output) == ["0"], again.output[-1500:]
    assert counting_proxy.writes("admin") == 0, counting_proxy.calls
    assert json.loads(path.read_text()) == data


def test_check_mode_generates_nothing_and_an_unknown_client_is_one_line(realm, oracle, env, counting_proxy):
    oracle.create_client({"clientId": "checked-app", "publicClient": False})
    proxied = dict(env, KEYCLOAK_URL=counting_proxy.url)
    counting_proxy.reset()
    checked = run_module("registration_access_token", dict(realm=realm, client_id="checked-app"), proxied, check=True)
    assert checked.rc == 0 and checked.result["changed"] is True, checked.output
    assert "registration_access_token" not in checked.result
    missing = run_module("registration_access_token", dict(realm=realm, client_id="no-such-app"), proxied)
    assert missing.rc != 0
    assert missing.result["msg"] == "client 'no-such-app' does not exist in realm '%s'; create it first " \
                                    "(confidential_client)" % realm
    assert counting_proxy.writes("admin") == 0, counting_proxy.calls


def test_a_service_account_bearer_token_registers_like_an_initial_access_token(keycloak, realm, oracle, tmp_path):
    """The guide's "Bearer Token": a service account holding create-client registers clients with its access token."""
    oracle.create_client({"clientId": "registrar", "publicClient": False, "serviceAccountsEnabled": True,
                          "secret": "registrar-secret-0123456789"})
    realm_management = oracle.get_client_id("realm-management")
    user = oracle.get_client_service_account_user(oracle.get_client_id("registrar"))
    oracle.assign_client_role(user["id"], realm_management, [oracle.get_client_role(realm_management, "create-client")])
    status, body = oidc.client_credentials(keycloak, realm, "registrar", "registrar-secret-0123456789")
    assert status == 200, body
    path = tmp_path / "bearer.json"
    run = run_module("client_registration", dict(
        realm=realm, client_id="bearer-registered", credentials_file=str(path), initial_access_token=body["access_token"],
        metadata={"publicClient": False, "serviceAccountsEnabled": True}), ansible_env(None, KEYCLOAK_URL=keycloak.url),
        verbosity=3)
    assert run.rc == 0 and run.result["changed"] is True, run.output
    data = json.loads(path.read_text())
    assert oidc.client_credentials(keycloak, realm, "bearer-registered", data["secret"])[0] == 200
    assert body["access_token"] not in run.output and data["secret"] not in run.output
