"""initial_access_token and client_registration against the real Keycloak: self-registration of application hosts."""
import hashlib
import json
import os
import re
import shutil
import stat
import time

import pytest
import requests

from tests.integration import oidc
from tests.integration.conftest import admin_client, new_realm
from tests.integration.runner import ansible_env, run_module, run_playbook

PLAYBOOK = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                        "playbooks", "self_register.yml")
JWT = re.compile(r"eyJ[\w-]{10,}\.eyJ[\w-]{10,}\.[\w-]{10,}")
SERVICE = {"publicClient": False, "serviceAccountsEnabled": True, "standardFlowEnabled": False}


@pytest.fixture
def host_env(keycloak):
    """What an application host has: the Keycloak URL, no admin credentials."""
    return ansible_env(None, KEYCLOAK_URL=keycloak.url)


def mint(env, realm, count=1, expiration="1h"):
    run = run_module("initial_access_token", dict(realm=realm, state="present", count=count, expiration=expiration), env)
    assert run.rc == 0 and run.result["changed"] is True, run.output
    return run.result


def register(env, realm, path, iat=None, check=False, verbosity=0, diff=False, **args):
    args = dict(realm=realm, credentials_file=str(path), **args)
    if iat:
        args["initial_access_token"] = iat
    return run_module("client_registration", args, env, check=check, verbosity=verbosity, diff=diff)


def stored(path):
    with open(str(path)) as handle:
        return json.load(handle)


def registration_get(keycloak, realm, rat, client_id, provider="default"):
    return requests.get("%s/realms/%s/clients-registrations/%s/%s" % (keycloak.url, realm, provider, client_id),
                        headers={"Authorization": "Bearer " + rat}, timeout=30, verify=keycloak.ca_path or True)


# -- initial access tokens ----------------------------------------------------------------------------

def test_iat_with_count_two_registers_two_then_says_used_up(realm, env, host_env, tmp_path):
    iat = mint(env, realm, count=2, expiration="10m")
    assert iat["count"] == 2 and iat["remaining"] == 2 and iat["expiration"] == 600
    assert iat["fingerprint"] == hashlib.sha256(iat["token"].encode()).hexdigest()[:12]
    for name in ("count-1", "count-2"):
        run = register(host_env, realm, tmp_path / name / "client.json", iat["token"], client_id=name, metadata=SERVICE)
        assert run.rc == 0 and run.result["changed"] is True, run.output
    third = register(host_env, realm, tmp_path / "count-3.json", iat["token"], client_id="count-3")
    assert third.rc != 0
    msg = third.result["msg"]
    assert "is used up" in msg and iat["fingerprint"] in msg and "initial_access_token" in msg, msg
    assert "\n" not in msg and iat["token"] not in third.output
    assert not (tmp_path / "count-3.json").exists()
    listed = run_module("initial_access_token", dict(realm=realm), env).result["tokens"]
    mine = [t for t in listed if t["id"] == iat["id"]][0]
    assert mine["remaining"] == 0 and mine["used_up"] is True and "token" not in mine


def test_expired_iat_is_named_as_expired(realm, env, host_env, tmp_path):
    iat = mint(env, realm, count=1, expiration="2s")
    time.sleep(3)
    run = register(host_env, realm, tmp_path / "late.json", iat["token"], client_id="too-late")
    assert run.rc != 0 and "expired at" in run.result["msg"], run.output
    assert "longer expiration" in run.result["msg"]


def test_revoked_and_foreign_iats_are_named(keycloak, realm, env, host_env, tmp_path):
    revoked = mint(env, realm)
    gone = run_module("initial_access_token", dict(realm=realm, state="absent", id=[revoked["id"]]), env)
    assert gone.result["changed"] is True and gone.result["revoked"] == [revoked["id"]]
    run = register(host_env, realm, tmp_path / "r.json", revoked["token"], client_id="revoked-iat")
    assert run.rc != 0 and "was revoked" in run.result["msg"], run.output
    other = new_realm(keycloak, "o")
    try:
        foreign = mint(env, other)
        run = register(host_env, realm, tmp_path / "f.json", foreign["token"], client_id="foreign-iat")
        assert run.rc != 0 and "minted for realm '%s'" % other in run.result["msg"], run.output
    finally:
        admin_client(keycloak).delete_realm(other)


def test_iat_expiration_units_and_bad_input(realm, env):
    for given, seconds in (("90", 90), ("15m", 900), ("1h30m", 5400), ("7d", 604800)):
        assert mint(env, realm, expiration=given)["expiration"] == seconds
    bad = run_module("initial_access_token", dict(realm=realm, state="present", expiration="soon"), env)
    assert bad.rc != 0 and "expiration: expected a non-negative number of seconds" in bad.result["msg"]
    zero = run_module("initial_access_token", dict(realm=realm, state="present", count=0), env)
    assert zero.rc != 0 and "count must be at least 1" in zero.result["msg"]


def test_iat_list_revoke_and_check_mode(keycloak, env, host_env, tmp_path):
    realm = new_realm(keycloak, "iat")
    try:
        checked = run_module("initial_access_token", dict(realm=realm, state="present", count=3), env, check=True, diff=True)
        assert checked.rc == 0 and checked.result["changed"] is True and checked.result["token"] is None
        assert checked.result["tokens"] == [], "check mode creates nothing"
        short = mint(env, realm, expiration="1s")
        long_lived = mint(env, realm, count=5, expiration="1d")
        spent = mint(env, realm, count=1)
        assert register(host_env, realm, tmp_path / "x.json", spent["token"], client_id="x").rc == 0
        time.sleep(2)
        listed = run_module("initial_access_token", dict(realm=realm), env, verbosity=3)
        assert listed.result["changed"] is False
        assert not any(t["token"] in listed.output for t in (short, long_lived, spent)), "values are never listed"
        # Keycloak's own periodic cleanup deletes expired and used-up tokens, so those two may be gone already.
        by_id = {t["id"]: t for t in listed.result["tokens"]}
        assert long_lived["id"] in by_id and set(by_id) <= {short["id"], long_lived["id"], spent["id"]}
        assert by_id[long_lived["id"]]["expired"] is False and by_id[long_lived["id"]]["remaining"] == 5
        assert by_id[long_lived["id"]]["expires_at"].endswith("Z")
        assert by_id.get(short["id"], {"expired": True})["expired"] is True
        assert by_id.get(spent["id"], {"used_up": True})["used_up"] is True

        args = dict(realm=realm, state="absent", expired=True)
        predicted = run_module("initial_access_token", args, env, check=True)
        assert set(predicted.result["revoked"]) <= {short["id"]}
        assert predicted.result["changed"] is bool(predicted.result["revoked"])
        assert long_lived["id"] in [t["id"] for t in predicted.result["tokens"]]
        revoked = run_module("initial_access_token", args, env, diff=True)
        assert revoked.rc == 0 and set(revoked.result["revoked"]) <= {short["id"]}, revoked.output
        assert short["id"] not in [t["id"] for t in revoked.result["tokens"]]
        assert run_module("initial_access_token", args, env).result["changed"] is False

        used_up = run_module("initial_access_token", dict(realm=realm, state="absent", used_up=True), env)
        assert set(used_up.result["revoked"]) <= {spent["id"]}
        again = run_module("initial_access_token", dict(realm=realm, state="absent", id=[long_lived["id"], "no-such-id"]), env)
        assert again.result["changed"] is True and again.result["revoked"] == [long_lived["id"]]
        assert again.result["tokens"] == []
        unchanged = run_module("initial_access_token", dict(realm=realm, state="absent", id=["no-such-id"]), env)
        assert unchanged.result["changed"] is False
        missing = run_module("initial_access_token", dict(realm=realm, state="absent"), env)
        assert missing.rc != 0 and "needs id" in missing.result["msg"]
    finally:
        admin_client(keycloak).delete_realm(realm)


# -- registration ----------------------------------------------------------------------------------

def test_default_provider_registers_a_service_client_with_real_tokens(keycloak, realm, env, host_env, tmp_path,
                                                                      counting_proxy):
    path = tmp_path / "svc" / "client.json"
    iat = mint(env, realm)
    args = dict(client_id="svc-default", metadata=dict(SERVICE, description="reports"))
    # Through the proxy both times: the file records the URL the host reaches Keycloak at.
    proxied = dict(host_env, KEYCLOAK_URL=counting_proxy.url)
    first = register(proxied, realm, path, iat["token"], **args)
    assert first.rc == 0 and first.result["changed"] is True, first.output
    data = stored(path)
    assert stat.S_IMODE(os.stat(str(path)).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(str(path.parent)).st_mode) == 0o700
    assert data["client_id"] == "svc-default" and data["secret"] and data["registration_access_token"]
    assert data["token_endpoint"] == "%s/realms/%s/protocol/openid-connect/token" % (counting_proxy.url.rstrip("/"), realm)
    assert data["secret"] not in first.output and "secret" not in first.result
    assert first.result["registered"]["secret"] == "********"
    status, body = oidc.client_credentials(keycloak, realm, "svc-default", data["secret"])
    assert status == 200 and body["access_token"]

    # Re-run through the proxy: one read, no write, no registration, and the stored token is not rotated by the read.
    counting_proxy.reset()
    again = register(proxied, realm, path, iat["token"], **args)
    assert again.rc == 0 and again.result["changed"] is False, again.output
    assert counting_proxy.writes() == 0 and counting_proxy.reads() == 1, counting_proxy.calls
    assert again.result["registration_access_token_rotated"] is False
    assert stored(path) == data


def test_openid_connect_provider_and_adapter_config(keycloak, realm, env, host_env, tmp_path):
    path, adapter = tmp_path / "oidc.json", tmp_path / "keycloak.json"
    iat = mint(env, realm)
    args = dict(provider="openid-connect", adapter_config_file=str(adapter),
                metadata=dict(client_name="reports-oidc", grant_types=["client_credentials"],
                              token_endpoint_auth_method="client_secret_post"))
    first = register(host_env, realm, path, iat["token"], **args)
    assert first.rc == 0 and first.result["changed"] is True, first.output
    data = stored(path)
    assert first.result["client_id"] == data["client_id"] and data["registration_client_uri"].endswith(data["client_id"])
    status, body = oidc.client_credentials(keycloak, realm, data["client_id"], data["secret"])
    assert status == 200 and body["access_token"], body
    config = stored(adapter)
    assert config["resource"] == data["client_id"] and config["credentials"]["secret"] == data["secret"]
    assert stat.S_IMODE(os.stat(str(adapter)).st_mode) == 0o600
    assert data["secret"] not in first.output

    assert register(host_env, realm, path, iat["token"], **args).result["changed"] is False
    args["metadata"]["client_name"] = "reports-renamed"
    changed = register(host_env, realm, path, **args)
    assert changed.result["changed"] is True and changed.result["registration_access_token_rotated"] is True
    assert register(host_env, realm, path, **args).result["changed"] is False
    assert admin_client(keycloak, realm).get_client(data["client_id"])["name"] == "reports-renamed"


def test_update_rotates_the_registration_access_token(keycloak, realm, env, host_env, tmp_path):
    path = tmp_path / "rot.json"
    iat = mint(env, realm)
    assert register(host_env, realm, path, iat["token"], client_id="rotating", metadata=dict(description="v1")).rc == 0
    old = stored(path)
    shutil.copy(str(path), str(tmp_path / "old.json"))
    updated = register(host_env, realm, path, client_id="rotating", metadata=dict(description="v2"), diff=True)
    assert updated.rc == 0 and updated.result["changed"] is True, updated.output
    assert '-    "description": "v1"' in updated.output and '+    "description": "v2"' in updated.output
    new = stored(path)
    assert new["registration_access_token"] != old["registration_access_token"]
    assert new["secret"] == old["secret"], "an update keeps the client secret"
    assert registration_get(keycloak, realm, old["registration_access_token"], "rotating").status_code == 401
    assert registration_get(keycloak, realm, new["registration_access_token"], "rotating").status_code == 200

    # A copy of the file from before the update holds a dead token: one line says so and what to do.
    stale = register(host_env, realm, tmp_path / "old.json", client_id="rotating", metadata=dict(description="v2"))
    assert stale.rc != 0 and "no longer valid for client 'rotating'" in stale.result["msg"], stale.output
    assert "registration_access_token" in stale.result["msg"] and "\n" not in stale.result["msg"]

    # An admin regenerates a token; given once, it repairs the stale file, which then works on its own.
    oracle = admin_client(keycloak, realm)
    uuid = oracle.get_client_id("rotating")
    fresh = oracle.connection.raw_post("admin/realms/%s/clients/%s/registration-access-token" % (realm, uuid),
                                       data="").json()["registrationAccessToken"]
    repaired = register(host_env, realm, tmp_path / "old.json", client_id="rotating", registration_access_token=fresh,
                        metadata=dict(description="v2"))
    assert repaired.rc == 0 and repaired.result["changed"] is True, repaired.output
    assert stored(tmp_path / "old.json")["registration_access_token"] == fresh
    assert register(host_env, realm, tmp_path / "old.json", client_id="rotating",
                    metadata=dict(description="v2")).result["changed"] is False


def test_refusals_are_one_line(keycloak, realm, env, host_env, tmp_path):
    iat = mint(env, realm, count=5)
    mapper = dict(name="admin-role", protocol="openid-connect", protocolMapper="oidc-hardcoded-role-mapper",
                  config={"role": "admin"})
    run = register(host_env, realm, tmp_path / "m.json", iat["token"], client_id="with-mapper",
                   metadata=dict(protocolMappers=[mapper]))
    msg = run.result["msg"]
    assert run.rc != 0 and "policy 'Allowed Protocol Mapper Types'" in msg and "drop the mapper" in msg, run.output
    run = register(host_env, realm, tmp_path / "s.json", iat["token"], provider="openid-connect",
                   metadata=dict(client_name="scoped", scope="openid"))
    assert run.rc != 0 and "policy 'Allowed Client Scopes'" in run.result["msg"], run.output

    assert register(host_env, realm, tmp_path / "a.json", iat["token"], client_id="taken").rc == 0
    taken = register(host_env, realm, tmp_path / "b.json", iat["token"], client_id="taken")
    assert taken.rc != 0 and "client_id 'taken' is already taken" in taken.result["msg"], taken.output
    other = register(host_env, realm, tmp_path / "a.json", client_id="not-taken")
    assert other.rc != 0 and "holds client 'taken', not 'not-taken'" in other.result["msg"]
    nothing = register(host_env, realm, tmp_path / "c.json", client_id="no-token")
    assert nothing.rc != 0 and "no initial_access_token" in nothing.result["msg"]
    no_realm = register(host_env, "no-such-realm", tmp_path / "d.json", iat["token"], client_id="x")
    assert no_realm.rc != 0 and "Realm 'no-such-realm' does not exist" in no_realm.result["msg"], no_realm.output
    for run in (taken, other, nothing, no_realm):
        assert "\n" not in run.result["msg"] and "Traceback" not in run.output


def test_check_mode_and_absent(keycloak, realm, env, host_env, tmp_path):
    path = tmp_path / "short-lived.json"
    iat = mint(env, realm)
    blocked = tmp_path / "not-a-dir"
    blocked.write_text("")
    unwritable = register(host_env, realm, blocked / "c.json", iat["token"], client_id="short-lived")
    assert unwritable.rc != 0 and "Cannot write" in unwritable.result["msg"], unwritable.output
    oracle = admin_client(keycloak, realm)
    predicted = register(host_env, realm, path, iat["token"], check=True, client_id="short-lived", metadata=SERVICE)
    assert predicted.rc == 0 and predicted.result["changed"] is True, predicted.output
    assert not path.exists() and oracle.get_client_id("short-lived") is None
    assert mint(env, realm)  # the check run used nothing: the first token still has its registration
    assert register(host_env, realm, path, iat["token"], client_id="short-lived", metadata=SERVICE).rc == 0
    before = stored(path)
    changed = register(host_env, realm, path, check=True, client_id="short-lived", metadata=dict(SERVICE, description="x"))
    assert changed.result["changed"] is True and stored(path) == before, "check mode writes nothing"
    assert oracle.get_client(oracle.get_client_id("short-lived")).get("description") in (None, "")

    os.chmod(str(path), 0o644)
    repaired = register(host_env, realm, path, client_id="short-lived", metadata=SERVICE)
    assert repaired.result["changed"] is True and stat.S_IMODE(os.stat(str(path)).st_mode) == 0o600

    gone_check = register(host_env, realm, path, check=True, client_id="short-lived", state="absent")
    assert gone_check.result["changed"] is True and path.exists()
    gone = register(host_env, realm, path, client_id="short-lived", state="absent")
    assert gone.rc == 0 and gone.result["changed"] is True, gone.output
    assert not path.exists() and oracle.get_client_id("short-lived") is None
    again = register(host_env, realm, path, client_id="short-lived", state="absent")
    assert again.rc == 0 and again.result["changed"] is False


def test_no_token_or_secret_in_verbose_output(keycloak, realm, env, host_env, tmp_path):
    path = tmp_path / "quiet.json"
    iat = mint(env, realm)
    runs = [register(host_env, realm, path, iat["token"], client_id="quiet", metadata=SERVICE, verbosity=3, diff=True),
            register(host_env, realm, path, iat["token"], client_id="quiet", metadata=dict(SERVICE, description="y"),
                     verbosity=3, diff=True)]
    data = stored(path)
    runs.append(register(host_env, realm, path, client_id="quiet", state="absent", verbosity=3, diff=True))
    for run in runs:
        assert run.rc == 0, run.output
        for value in (iat["token"], data["secret"], data["registration_access_token"]):
            assert value not in run.output
        assert not JWT.search(run.output), "no token of any kind in the output"


# -- the playbook -------------------------------------------------------------------------------------

def test_self_register_playbook(keycloak, realm, env, tmp_path):
    inventory = tmp_path / "inventory.ini"
    files = {host: tmp_path / host / "keycloak-client.json" for host in ("app1", "app2")}
    inventory.write_text("[self_register]\n" + "".join(
        "%s ansible_connection=local self_register_credentials_file=%s\n" % (host, path) for host, path in files.items()))
    extra = dict(self_register_realm=realm, self_register_client_prefix="self-")

    first = run_playbook(PLAYBOOK, env, inventory=str(inventory), extra_vars=extra, verbosity=3)
    assert first.rc == 0, first.output[-3000:]
    minted = re.search(r"initial access token ([0-9a-f]{12}) \(id ([\w-]+)\) allows 2 registrations", first.output)
    assert minted, first.output[-3000:]
    secrets = []
    for host, path in files.items():
        data = stored(path)
        assert data["client_id"] == "self-" + host and stat.S_IMODE(os.stat(str(path)).st_mode) == 0o600
        status, body = oidc.client_credentials(keycloak, realm, data["client_id"], data["secret"])
        assert status == 200 and body["access_token"]
        secrets += [data["secret"], data["registration_access_token"]]
    assert not any(s in first.output for s in secrets) and not JWT.search(first.output)
    listed = run_module("initial_access_token", dict(realm=realm), env).result["tokens"]
    assert minted.group(2) not in [t["id"] for t in listed], "the playbook revoked its token"

    before = [stored(p) for p in files.values()]
    again = run_playbook(PLAYBOOK, env, inventory=str(inventory), extra_vars=extra)
    assert again.rc == 0, again.output[-3000:]
    assert re.findall(r"changed=(\d+)", again.output) == ["0", "0"], again.output[-1500:]
    assert [stored(p) for p in files.values()] == before

    # A new host joins: only it is registered, with a token for one registration.
    files["app3"] = tmp_path / "app3" / "keycloak-client.json"
    inventory.write_text(inventory.read_text() + "app3 ansible_connection=local self_register_credentials_file=%s\n"
                         % files["app3"])
    joined = run_playbook(PLAYBOOK, env, inventory=str(inventory), extra_vars=extra)
    assert joined.rc == 0 and "allows 1 registrations" in joined.output, joined.output[-3000:]
    assert stored(files["app3"])["client_id"] == "self-app3"


def test_registration_over_tls_with_ca_path_and_client_certificate(keycloak_tls, tmp_path):
    """A host behind TLS (private CA, client certificate for an mTLS proxy) registers with the connection
    options of every other module."""
    realm = new_realm(keycloak_tls, prefix="tls-reg")
    try:
        admin_env = ansible_env(keycloak_tls, KEYCLOAK_CA_PATH=keycloak_tls.ca_path)
        iat = mint(admin_env, realm)
        host_env = ansible_env(None, KEYCLOAK_URL=keycloak_tls.url, KEYCLOAK_CA_PATH=keycloak_tls.ca_path,
                               KEYCLOAK_CLIENT_CERT=keycloak_tls.client_cert, KEYCLOAK_CLIENT_KEY=keycloak_tls.client_key)
        run = register(host_env, realm, tmp_path / "tls.json", iat["token"], client_id="tls-host", metadata=SERVICE)
        assert run.rc == 0 and run.result["changed"] is True, run.output
        status, body = oidc.client_credentials(keycloak_tls, realm, "tls-host", stored(tmp_path / "tls.json")["secret"])
        assert status == 200, body
        without_ca = register(ansible_env(None, KEYCLOAK_URL=keycloak_tls.url), realm, tmp_path / "tls.json",
                              client_id="tls-host")
        assert without_ca.rc != 0 and "ca_path" in without_ca.result["msg"], without_ca.output
    finally:
        admin_client(keycloak_tls).delete_realm(realm)
