"""A corpus of bad input across the modules, the lookup and the provision role, against the real Keycloak.

Each case must fail with one line that names what to fix (an expected part of the message), without a traceback,
and leave the realm as it was: clients, client scopes, secrets, service-account roles and initial access tokens
are snapshotted before and after each batch. The cases of a batch run as the tasks of one playbook (one ansible
process), each in a block whose rescue records the failure, so the corpus costs a few ansible runs, not one per case.
"""
import json
import os
import socket
import subprocess
import sys

import pytest

from tests.integration.runner import ansible_env, run_module

LONG = "x" * 256
OLDEST_VENV = os.path.join(os.environ.get("KEYCLOAK_OPS_CACHE", os.path.expanduser("~/.cache/keycloak_ops")),
                           "venv-oldest")
# Users of the test realm with limited admin rights (roles of realm-management), each with this password.
LIMITED_USERS = {
    "query-only": ["query-clients"],
    "create-only": ["create-client"],
    "view-only": ["view-clients"],
    "manager": ["manage-clients", "manage-users", "manage-realm", "view-realm"],
    "realm-manager": ["manage-realm", "view-clients"],
}
USER_PASSWORD = "Limited-user-password-1"


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# -- the realm and its snapshot ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def seeded(keycloak, realm, oracle):
    """Clients, a service-account grant and a token to be kept intact, and the users with limited rights."""
    oracle.create_client({"clientId": "seed-conf", "publicClient": False, "serviceAccountsEnabled": True,
                          "standardFlowEnabled": False, "description": "kept as it is"})
    oracle.create_client({"clientId": "seed-pub", "publicClient": True, "redirectUris": ["https://app.example/cb"]})
    management = oracle.get_client_id("realm-management")
    user = oracle.get_client_service_account_user(oracle.get_client_id("seed-conf"))
    oracle.assign_client_role(user["id"], management, [oracle.get_client_role(management, "view-users")])
    oracle.connection.raw_post("admin/realms/%s/clients-initial-access" % realm, data=json.dumps({"count": 1, "expiration": 3600}))
    # A resource server whose items no bad authorization input may change.
    server = oracle.create_client({"clientId": "seed-rs", "publicClient": False, "serviceAccountsEnabled": True,
                                   "authorizationServicesEnabled": True})
    authz = "admin/realms/%s/clients/%s/authz/resource-server/" % (realm, server)
    for path, body in (("scope", {"name": "seed-read"}),
                       ("resource", {"name": "seed-doc", "scopes": [{"name": "seed-read"}]}),
                       ("policy/client", {"name": "seed-policy", "clients": [oracle.get_client_id("seed-conf")]}),
                       ("permission/scope", {"name": "seed-permission", "resources": ["seed-doc"],
                                             "scopes": ["seed-read"], "policies": ["seed-policy"]})):
        oracle.connection.raw_post(authz + path, data=json.dumps(body))
    for name, roles in LIMITED_USERS.items():
        user_id = oracle.create_user({"username": name, "enabled": True, "firstName": name, "lastName": "user",
                                      "email": "%s@example.com" % name, "emailVerified": True,
                                      "credentials": [{"type": "password", "value": USER_PASSWORD, "temporary": False}]})
        oracle.assign_client_role(user_id, management, [oracle.get_client_role(management, r) for r in roles])
    return realm


def snapshot(oracle, realm):
    """What no bad input may change: clients (with their secrets and resource servers), client scopes (with their
    mappers) and the realm's default ones, service-account roles and tokens."""
    def get(path):
        return oracle.connection.raw_get("admin/realms/%s/%s" % (realm, path)).json()

    clients = {}
    for client in get("clients"):
        entry = dict(client)
        # Keycloak lists a client's default and optional scopes in no fixed order.
        for kind in ("defaultClientScopes", "optionalClientScopes"):
            entry[kind] = sorted(client.get(kind) or [])
        if not client.get("publicClient") and not client.get("bearerOnly"):
            entry["current-secret"] = get("clients/%s/client-secret" % client["id"]).get("value")
        if client.get("authorizationServicesEnabled"):
            # Keycloak lists a resource server's items in no fixed order.
            export = get("clients/%s/authz/resource-server/settings" % client["id"])
            entry["authorization"] = {k: sorted(v, key=json.dumps) if isinstance(v, list) else v
                                      for k, v in export.items()}
        if client.get("serviceAccountsEnabled"):
            user = get("clients/%s/service-account-user" % client["id"])
            entry["service-account-roles"] = get("users/%s/role-mappings" % user["id"])
        clients[client["clientId"]] = entry
    tokens = sorted((t["id"], t.get("remainingCount")) for t in get("clients-initial-access"))
    scopes = sorted(json.dumps(dict(s, protocolMappers=sorted(s.get("protocolMappers") or [], key=lambda m: m["name"])),
                               sort_keys=True) for s in get("client-scopes"))
    realm_scopes = {kind: sorted(x["name"] for x in get("default-%s-client-scopes" % kind)) for kind in ("default", "optional")}
    return dict(clients=clients, scopes=scopes, realm_scopes=realm_scopes, tokens=tokens)


# -- the cases --------------------------------------------------------------------------------------------------

def module(name, args, expect, connection=None):
    return dict(kind="module", module=name, args=args, expect=expect, connection=connection or {})


def lookup(terms, expect, **options):
    return dict(kind="lookup", terms=terms, options=options, expect=expect)


def role(clients, expect, connection=None, scopes=None, name="provision", variables=None):
    """The provision role with these clients and scopes, or another role (name) with its variables."""
    return dict(kind="role", clients=clients, expect=expect, connection=connection or {}, scopes=scopes or [],
                name=name, variables=variables)


def as_user(name, realm):
    return dict(auth_realm=realm, auth_username=name, auth_password=USER_PASSWORD)


def conf(expect, **args):
    return module("confidential_client", dict(dict(client_id="new-conf"), **args), expect)


def pub(expect, **args):
    return module("public_client", dict(dict(client_id="new-pub"), **args), expect)


def seed_rs(expect, **authorization):
    """A bad authorization declaration for the seeded resource server seed-rs."""
    return module("confidential_client", dict(client_id="seed-rs", preset="service", authorization=authorization),
                  expect)


def scope(expect, **args):
    return module("client_scope", dict(dict(name="new:scope"), **args), expect)


SPA = dict(preset="spa", redirect_uris=["https://spa.example/cb"])
PAIRWISE_UNREACHABLE = dict(name="pairwise", protocolMapper="oidc-sha256-pairwise-sub-mapper",
                            config={"sectorIdentifierUri": "http://127.0.0.1:9/sector"})


def corpus(keycloak, realm, tmp):
    """(id, case) for every bad input; realm-dependent parts filled in here."""
    cert = os.path.join(tmp, "client.pem")
    with open(cert, "w") as handle:
        handle.write("not a certificate\n")
    plain_port = keycloak.url.split(":")[-1].split("/")[0]
    cases = {
        # -- confidential_client: refused locally, before any request ---------------------------------------------
        "conf-client-id-too-long": conf("client_id: 'xxxxxxxxxxxxxxxxxxxx...' is 256 characters long; Keycloak stores at most 255", client_id=LONG),
        "conf-name-too-long": conf("name: ", name=LONG),
        "conf-description-too-long": conf("description: ", description=LONG),
        "conf-root-url-too-long": conf("root_url: ", root_url="https://a.example/" + LONG),
        "conf-home-url-too-long": conf("home_url: ", home_url="https://a.example/" + LONG),
        "conf-redirect-too-long": conf("redirect_uris: ", preset="web", redirect_uris=["https://a.example/" + LONG]),
        "conf-origin-too-long": conf("web_origins: ", preset="web", web_origins=["https://a" + LONG + ".example"]),
        "conf-attribute-name-too-long": conf("attributes (a name)", attributes={LONG: "x"}),
        "conf-redirect-javascript": conf("uses the javascript: scheme", preset="web", redirect_uris=["javascript:alert(1)"]),
        "conf-redirect-javascript-upper": conf("uses the javascript: scheme", preset="web", redirect_uris=["JavaScript:alert(1)"]),
        "conf-redirect-data": conf("uses the data: scheme", preset="web", redirect_uris=["data:text/html,x"]),
        "conf-root-url-javascript": conf("root_url: 'javascript:void(0)' uses the javascript: scheme", root_url="javascript:void(0)"),
        "conf-home-url-javascript": conf("home_url: 'javascript:x' uses the javascript: scheme", home_url="javascript:x"),
        "conf-post-logout-javascript": conf("post_logout_redirect_uris: ", preset="web", post_logout_redirect_uris=["javascript:x"]),
        "conf-redirect-fragment": conf("has a URL fragment", preset="web", redirect_uris=["https://a.example/cb#x"]),
        "conf-redirect-space": conf("contains a space", preset="web", redirect_uris=["https://a.example/c b"]),
        "conf-root-url-ftp": conf("root_url: 'ftp://a.example' is not an absolute http(s) URL", root_url="ftp://a.example"),
        "conf-origin-ftp": conf("web_origins: 'ftp://a.example' is not an absolute http(s) URL", web_origins=["ftp://a.example"]),
        "conf-root-url-no-host": conf("has no host", root_url="https://"),
        "conf-mapper-without-name": conf("protocol_mappers[0] needs a name", protocol_mappers=[{"protocolMapper": "oidc-audience-mapper"}]),
        "conf-mapper-not-a-dict": conf("protocol_mappers", protocol_mappers=["audience"]),
        "conf-mapper-config-not-a-dict": conf("protocol_mappers[0].config must be a dict",
                                              protocol_mappers=[{"name": "a", "protocolMapper": "oidc-audience-mapper", "config": "x"}]),
        "conf-mapper-name-too-long": conf("protocol_mappers[0].name", protocol_mappers=[{"name": LONG, "protocolMapper": "oidc-audience-mapper"}]),
        "conf-mapper-duplicate-name": conf("the name 'aud' is used twice",
                                           protocol_mappers=[{"name": "aud", "protocolMapper": "oidc-audience-mapper"}] * 2),
        "conf-mapper-unknown-type": conf("Keycloak has no protocol mapper type 'oidc-no-such-mapper'",
                                         protocol_mappers=[{"name": "a", "protocolMapper": "oidc-no-such-mapper"}]),
        "conf-scope-default-and-optional": conf("client scope 'email' is listed as both default and optional",
                                                default_client_scopes=["email"], optional_client_scopes=["email"]),
        "conf-roles-without-service-account": conf("need service_accounts: true", service_account_realm_roles=["offline_access"]),
        "conf-service-preset-without-service-account": conf("conflicts with service_accounts: false", preset="service", service_accounts=False),
        "conf-authz-without-service-account": conf("authorization_services: true needs service_accounts",
                                                   authorization_services=True, service_accounts=False),
        "conf-client-roles-not-a-list": conf("service_account_client_roles['realm-management'] must be a list",
                                             preset="service", service_account_client_roles={"realm-management": "view-users"}),
        "conf-attribute-conflict": conf("conflicts with option post_logout_redirect_uris",
                                        attributes={"post.logout.redirect.uris": "https://a.example"},
                                        post_logout_redirect_uris=["https://b.example"]),
        "conf-blank-client-id": conf("must not be blank or start/end with spaces", client_id=" padded"),
        "conf-bad-preset": conf("value of preset must be one of", preset="spa"),
        "conf-bad-state": conf("value of state must be one of", state="gone"),
        "conf-bad-bool": conf("enabled", enabled="perhaps"),
        "conf-empty-clients": module("confidential_client", dict(clients=[]), "clients is empty"),
        "conf-duplicate-clients": module("confidential_client", dict(clients=["dup", "dup"]),
                                         "clients[1]: client_id 'dup' is already declared by clients[0]"),
        "conf-id-and-clients": module("confidential_client", dict(client_id="a", clients=["b"]), "mutually exclusive"),
        "conf-neither-id-nor-clients": module("confidential_client", dict(preset="service"), "one of the following is required"),
        "conf-item-wrong-type": module("confidential_client", dict(clients=[123]), "clients[0]: expected a client id or a dict"),
        "conf-item-unknown-option": module("confidential_client", dict(clients=[{"client_id": "a", "colour": "red"}]), "colour"),
        "conf-item-without-client-id": module("confidential_client", dict(clients=[{"name": "a"}]), "clients[0]: client_id is required"),
        "conf-second-item-too-long": module("confidential_client", dict(clients=["good-first", {"client_id": "b", "description": LONG}]),
                                            "clients[1] (client 'b'): description: "),
        # -- confidential_client: refused from reads, before the first write ---------------------------------------
        "conf-unknown-default-scope": conf("default_client_scopes: client scope 'no-such-scope' does not exist",
                                           default_client_scopes=["no-such-scope"]),
        "conf-unknown-optional-scope": conf("optional_client_scopes: client scope 'no-such-scope' does not exist",
                                            optional_client_scopes=["no-such-scope"]),
        "conf-unknown-realm-role": conf("role 'no-such-role' does not exist", preset="service",
                                        service_account_realm_roles=["no-such-role"]),
        "conf-unknown-role-client": conf("client 'no-such-client' does not exist", preset="service",
                                         service_account_client_roles={"no-such-client": ["x"]}),
        "conf-unknown-client-role": conf("client 'realm-management' has no role 'no-such-role'", preset="service",
                                         service_account_client_roles={"realm-management": ["no-such-role"]}),
        "conf-unknown-realm": module("confidential_client", dict(realm="no-such-realm", client_id="a"),
                                     "Realm 'no-such-realm' does not exist"),
        "conf-good-then-unknown-scope": module("confidential_client", dict(
            clients=["good-first", {"client_id": "second", "default_client_scopes": ["no-such-scope"]}]),
            "clients[1] (client 'second'): default_client_scopes: client scope 'no-such-scope' does not exist"),
        # -- confidential_client: refused by Keycloak only, after earlier writes: rolled back -----------------------
        "rollback-created-client": module("confidential_client", dict(clients=[
            "rollback-first", {"client_id": "seed-conf", "preset": "service", "protocol_mappers": [PAIRWISE_UNREACHABLE]}]),
            "earlier writes were rolled back"),
        "rollback-updated-client": module("confidential_client", dict(
            client_id="seed-conf", preset="service", description="changed, then restored",
            default_client_scopes=["email"], protocol_mappers=[PAIRWISE_UNREACHABLE]),
            "earlier writes were rolled back"),
        # -- confidential_client: authorization, refused locally or from reads, before any write ------------------
        "authz-policy-type": conf("policy 'p': unknown policy type 'sorcery'",
                                  authorization=dict(policies=[dict(name="p", type="sorcery")])),
        "authz-foreign-option": conf("policy 'p' of type group takes groups, extend_children, not roles",
                                     authorization=dict(policies=[dict(name="p", type="group", groups=["/g"],
                                                                       roles=["r"])])),
        "authz-time-range": conf("policy 'late': hour is 24; it takes 0 to 23",
                                 authorization=dict(policies=[dict(name="late", type="time", hour=24)])),
        "authz-time-format": conf("policy 'soon': not_before 'tomorrow' is not a time",
                                  authorization=dict(policies=[dict(name="soon", type="time", not_before="tomorrow")])),
        "authz-bad-exclusive": conf("authorization.exclusive: 'everything' is neither true, false nor a list",
                                    authorization=dict(exclusive="everything")),
        "authz-bad-scope-item": conf("authorization.scopes[0]: expected a scope name",
                                     authorization=dict(scopes=[{"name": "a", "colour": "red"}])),
        "authz-resource-permission-scopes": conf("permission 'p' of type resource grants whole resources and takes no "
                                                 "scopes", authorization=dict(permissions=[dict(
                                                     name="p", type="resource", resources=["r"], scopes=["s"],
                                                     policies=["q"])])),
        "authz-unknown-group": seed_rs("policy 'g': group '/no-such-group' does not exist",
                                       policies=[dict(name="g", type="group", groups=["/no-such-group"])]),
        "authz-unknown-user": seed_rs("policy 'u': user 'no-such-user' does not exist",
                                      policies=[dict(name="u", type="user", users=["no-such-user"])]),
        "authz-unknown-policy": seed_rs("policy 'a': unknown policy 'no-such-policy'",
                                        policies=[dict(name="a", type="aggregate", policies=["no-such-policy"])]),
        "authz-aggregate-cycle": seed_rs("aggregate policies form a cycle: a -> b -> a",
                                         policies=[dict(name="a", type="aggregate", policies=["b"]),
                                                   dict(name="b", type="aggregate", policies=["a", "seed-policy"])]),
        "authz-type-change": seed_rs("policy 'seed-policy' is of type client in Keycloak, declared user",
                                     policies=[dict(name="seed-policy", type="user", users=["view-only"])]),
        "authz-removed-but-named": seed_rs("policy 'seed-policy' would be removed, but permission 'seed-permission'",
                                           policies=[dict(name="seed-policy", state="absent")]),
        "authz-exclusive-removes-named": seed_rs("permission 'p': policy 'seed-policy' is removed (not declared under "
                                                 "exclusive policies)", exclusive=["policies"], permissions=[dict(
                                                     name="p", type="resource", resources=["seed-doc"],
                                                     policies=["seed-policy"])]),
        "authz-view-only": module("confidential_client", dict(client_id="seed-rs", authorization=dict(scopes=["more"])),
                                  "lacks the 'manage-clients' role", connection=as_user("view-only", realm)),
        # -- public_client -------------------------------------------------------------------------------------------
        "pub-wildcard-redirect": pub("wildcard '*'", redirect_uris=["*"]),
        "pub-plain-http-redirect": pub("plain http to a non-loopback host", redirect_uris=["http://app.example/cb"]),
        "pub-wildcard-origin": pub("web_origins: '*'", web_origins=["*"], **SPA),
        "pub-cli-with-redirects": pub("preset 'cli' uses the device grant", preset="cli", redirect_uris=["https://a.example/cb"]),
        "pub-javascript-redirect": pub("uses the javascript: scheme", redirect_uris=["javascript:alert(1)"]),
        "pub-data-post-logout": pub("post_logout_redirect_uris: ", post_logout_redirect_uris=["data:text/html,x"], **SPA),
        "pub-bad-pkce": pub("value of pkce_method must be one of", pkce_method="plain", **SPA),
        "pub-client-id-too-long": pub("Keycloak stores at most 255", client_id=LONG, **SPA),
        "pub-unknown-mapper": pub("no protocol mapper type 'no-such'", protocol_mappers=[{"name": "m", "protocolMapper": "no-such"}], **SPA),
        "pub-pkce-attribute-conflict": pub("conflicts with option pkce_method",
                                           attributes={"pkce.code.challenge.method": "plain"}, pkce_method="S256", **SPA),
        "pub-unknown-scope": pub("client scope 'no-such-scope' does not exist", default_client_scopes=["no-such-scope"], **SPA),
        "pub-secret-option": pub("secret", secret="not-for-public", **SPA),
        # -- client_scope ----------------------------------------------------------------------------------------------
        "scope-name-with-space": scope("name: 'bad name' is not a valid scope name", name="bad name"),
        "scope-name-non-ascii": scope("is not a valid scope name", name="kandidaten:lesen:\u00e9"),
        "scope-name-too-long": scope("Keycloak stores at most 255", name=LONG),
        "scope-description-too-long": scope("description: 256 characters; Keycloak stores at most 255", description=LONG),
        "scope-attribute-too-long": scope("at most 2048", consent_screen_text="x" * 2049),
        "scope-attribute-conflict": scope("conflicts with option include_in_token_scope",
                                          include_in_token_scope=True, attributes={"include.in.token.scope": "false"}),
        "scope-bad-protocol": scope("value of protocol must be one of", protocol="oauth"),
        "scope-bad-realm-default": scope("value of realm_default must be one of", realm_default="maybe"),
        "scope-mapper-unknown-type": scope("unknown type 'aud'", protocol_mappers=[{"name": "a", "type": "aud"}]),
        "scope-mapper-type-and-id": scope("give exactly one of type", protocol_mappers=[
            {"name": "a", "type": "audience", "protocol_mapper": "oidc-audience-mapper", "client_audience": "x"}]),
        "scope-audience-without-audience": scope("type 'audience' needs client_audience or custom_audience",
                                                 protocol_mappers=[{"name": "a", "type": "audience"}]),
        "scope-mapper-foreign-option": scope("type 'audience' has no option 'claim_name'", protocol_mappers=[
            {"name": "a", "type": "audience", "client_audience": "x", "claim_name": "y"}]),
        "scope-mapper-duplicate-name": scope("the name 'a' is used twice",
                                             protocol_mappers=[{"name": "a", "type": "audience", "client_audience": "x"}] * 2),
        "scope-saml-friendly-mapper": scope("is an OpenID Connect mapper", protocol="saml",
                                            protocol_mappers=[{"name": "a", "type": "audience", "client_audience": "x"}]),
        "scope-unknown-mapper-id": scope("Keycloak has no openid-connect protocol mapper type 'oidc-no-such-mapper'",
                                         protocol_mappers=[{"name": "a", "protocol_mapper": "oidc-no-such-mapper"}]),
        "scope-empty-scopes": module("client_scope", dict(scopes=[]), "scopes is empty"),
        "scope-duplicate-scopes": module("client_scope", dict(scopes=["dup", "dup"]),
                                         "scopes[1]: name 'dup' is already declared by scopes[0]"),
        "scope-name-and-scopes": module("client_scope", dict(name="a", scopes=["b"]), "mutually exclusive"),
        "scope-good-then-bad": module("client_scope", dict(scopes=["good:first", {"name": "second", "protocol_mappers": [
            {"name": "a", "protocol_mapper": "oidc-no-such-mapper"}]}]),
            "scopes[1] (scope 'second'): protocol_mappers[0]: Keycloak has no"),
        "scope-unknown-realm": module("client_scope", dict(realm="no-such-realm", name="a"), "Realm 'no-such-realm' does not exist"),
        "scope-rights-query-only": module("client_scope", dict(name="new:scope"), "lacks the 'view-clients' role",
                                          connection=as_user("query-only", realm)),
        "scope-rights-view-only": module("client_scope", dict(name="email", description="changed"),
                                         "lacks the 'manage-clients' role", connection=as_user("view-only", realm)),
        "scope-rights-realm-manager-default": module("client_scope", dict(name="email", realm_default="optional"),
                                                     "lacks the 'manage-clients' role", connection=as_user("realm-manager", realm)),
        # -- client_secret -------------------------------------------------------------------------------------------
        "secret-unknown-client": module("client_secret", dict(client_id="no-such-client"), "client 'no-such-client': no such client"),
        "secret-public-client": module("client_secret", dict(client_id="seed-pub"), "public clients have no secret"),
        "secret-bad-max-age": module("client_secret", dict(client_id="seed-conf", max_age="soon"), "max_age: expected"),
        "secret-zero-max-age": module("client_secret", dict(client_id="seed-conf", max_age=0), "max_age: expected a positive"),
        "secret-negative-max-age": module("client_secret", dict(client_id="seed-conf", max_age=-5), "max_age: expected a positive"),
        "secret-huge-grace": module("client_secret", dict(client_id="seed-conf", grace_period="99999999999d"),
                                    "grace_period: '99999999999d' is 8639999999913600 seconds, more than Keycloak's limit"),
        "secret-huge-expiration": module("client_secret", dict(client_id="seed-conf", grace_period="1d",
                                                               secret_expiration="99999999999d"), "secret_expiration: "),
        "secret-grace-not-shorter": module("client_secret", dict(client_id="seed-conf", grace_period="2d", secret_expiration="1d"),
                                           "grace_period (2d) must be shorter than secret_expiration (1d)"),
        "secret-expiration-without-grace": module("client_secret", dict(client_id="seed-conf", secret_expiration="30d"),
                                                  "grace_period"),
        "secret-retired-with-max-age": module("client_secret", dict(client_id="seed-conf", state="retired", max_age="1d"),
                                              "apply to state=regenerated"),
        "secret-second-client-unknown": module("client_secret", dict(clients=["seed-conf", "no-such-client"]),
                                               "clients[1] (client 'no-such-client'): no such client"),
        # -- client_secret_info ----------------------------------------------------------------------------------------
        "info-unknown-client": module("client_secret_info", dict(client_id="no-such-client"), "no such client"),
        "info-public-client": module("client_secret_info", dict(client_id="seed-pub"), "public clients have no secret"),
        "info-empty-clients": module("client_secret_info", dict(clients=[]), "clients is empty"),
        # -- initial_access_token --------------------------------------------------------------------------------------
        "iat-count-zero": module("initial_access_token", dict(state="present", count=0), "count must be at least 1"),
        "iat-count-huge": module("initial_access_token", dict(state="present", count=2 ** 31), "count must be at most"),
        "iat-huge-expiration": module("initial_access_token", dict(state="present", expiration="99999999999d"),
                                      "expiration: "),
        "iat-bad-expiration": module("initial_access_token", dict(state="present", expiration="later"), "expiration: expected"),
        "iat-absent-without-selector": module("initial_access_token", dict(state="absent"), "state=absent needs id"),
        "iat-unknown-realm": module("initial_access_token", dict(realm="no-such-realm", state="present"),
                                    "Realm 'no-such-realm' does not exist"),
        # -- connection --------------------------------------------------------------------------------------------------
        "conn-missing-ca-path": module("confidential_client", dict(client_id="a", ca_path="/nonexistent/ca.pem"),
                                       "ca_path (or KEYCLOAK_CA_PATH): file '/nonexistent/ca.pem' does not exist"),
        "conn-missing-client-cert": module("client_secret_info", dict(client_id="a", client_cert="/nonexistent/cert.pem"),
                                           "client_cert (or KEYCLOAK_CLIENT_CERT): file '/nonexistent/cert.pem' does not exist"),
        "conn-missing-client-key": module("client_secret", dict(client_id="a", client_cert=cert, client_key="/nonexistent/key.pem"),
                                          "client_key (or KEYCLOAK_CLIENT_KEY): file '/nonexistent/key.pem' does not exist"),
        "conn-key-without-cert": module("initial_access_token", dict(client_key=cert), "client_key is set without client_cert"),
        "conn-https-to-http-port": module("confidential_client", dict(client_id="a"), "the port serves http, not https",
                                          connection=dict(auth_keycloak_url="https://127.0.0.1:%s" % plain_port)),
        "conn-wrong-path-prefix": module("confidential_client", dict(client_id="a"), "the URL path is wrong",
                                         connection=dict(auth_keycloak_url=keycloak.url + "/wrongprefix")),
        "conn-unknown-auth-realm": module("public_client", dict(client_id="a", **SPA), "Realm 'no-such-realm' (auth_realm) does not exist",
                                          connection=dict(auth_realm="no-such-realm")),
        "conn-bad-password": module("public_client", dict(client_id="a", **SPA), "check the credentials",
                                    connection=dict(auth_password="wrong-password")),
        "conn-unreachable": module("client_secret", dict(client_id="a"), "Cannot reach Keycloak at",
                                   connection=dict(auth_keycloak_url="http://127.0.0.1:%d" % free_port())),
        "conn-not-a-url": module("client_secret_info", dict(client_id="a"), "is not an http(s) URL",
                                 connection=dict(auth_keycloak_url="sso.example.com")),
        # -- rights: refused before the first write, never "absent" for a hidden client ------------------------------------
        "rights-query-only-absent": module("confidential_client", dict(client_id="seed-conf", state="absent"),
                                           "lacks the 'view-clients' role", connection=as_user("query-only", realm)),
        "rights-query-only-create": module("confidential_client", dict(client_id="new-conf", default_client_scopes=["profile"]),
                                           "lacks the 'view-clients' role", connection=as_user("query-only", realm)),
        "rights-query-only-info": module("client_secret_info", dict(client_id="seed-conf"), "lacks the 'view-clients' role",
                                         connection=as_user("query-only", realm)),
        "rights-create-only-token": module("initial_access_token", dict(state="present"), "lacks the 'manage-clients' role",
                                           connection=as_user("create-only", realm)),
        "rights-view-only-update": module("confidential_client", dict(client_id="seed-conf", description="changed"),
                                          "lacks the 'manage-clients' role", connection=as_user("view-only", realm)),
        "rights-view-only-regenerate": module("client_secret", dict(client_id="seed-conf"), "lacks the 'manage-clients' role",
                                              connection=as_user("view-only", realm)),
        "rights-manager-grants-unheld-role": module("confidential_client", dict(
            client_id="new-conf", preset="service", service_account_client_roles={"realm-management": ["view-events"]}),
            "lacks the 'view-events' role of realm-management", connection=as_user("manager", realm)),
        "rights-manager-unheld-grant-second-item": module("confidential_client", dict(clients=[
            "good-first", {"client_id": "second", "preset": "service", "service_account_client_roles": {"realm-management": ["realm-admin"]}}]),
            "lacks the 'realm-admin' role", connection=as_user("manager", realm)),
        # -- lookup ------------------------------------------------------------------------------------------------------
        "lookup-missing-ca-path": lookup(["seed-conf"], "client_secret lookup: ca_path (or KEYCLOAK_CA_PATH): file '/nonexistent/ca.pem'",
                                         ca_path="/nonexistent/ca.pem"),
        "lookup-missing-client-cert": lookup(["seed-conf"], "client_cert (or KEYCLOAK_CLIENT_CERT)", client_cert="/nonexistent/c.pem"),
        "lookup-unknown-client": lookup(["seed-conf", "no-such-client"], "client 'no-such-client': no such client"),
        "lookup-public-client": lookup(["seed-pub"], "public clients have no secret"),
        "lookup-wrong-prefix": lookup(["seed-conf"], "the URL path is wrong", auth_keycloak_url=keycloak.url + "/wrongprefix"),
        "lookup-bad-password": lookup(["seed-conf"], "check the credentials", auth_password="wrong-password"),
        "lookup-query-only": lookup(["seed-conf"], "lacks the 'view-clients' role", **as_user("query-only", realm)),
        "lookup-https-to-http-port": lookup(["seed-conf"], "the port serves http, not https",
                                            auth_keycloak_url="https://127.0.0.1:%s" % plain_port),
        # -- provision role: every kind validated before any is written ------------------------------------------------
        "role-bad-public-after-confidential": role([{"client_id": "role-conf", "preset": "service"},
                                                    {"client_id": "role-pub", "kind": "public", "redirect_uris": ["*"]}],
                                                   "wildcard '*'"),
        "role-unknown-scope-in-public": role([{"client_id": "role-conf", "preset": "service"},
                                              {"client_id": "role-pub", "kind": "public", "preset": "spa",
                                               "redirect_uris": ["https://a.example/cb"], "default_client_scopes": ["no-such-scope"]}],
                                             "client scope 'no-such-scope' does not exist"),
        "role-server-down": role([{"client_id": "role-conf", "preset": "service"}], "Cannot reach Keycloak at",
                                 connection=dict(auth_keycloak_url="http://127.0.0.1:%d" % free_port())),
        # Past validation, refused by Keycloak in the task that runs under no_log: the reason still shows.
        "role-refused-under-no-log": role([{"client_id": "role-conf", "preset": "service",
                                            "protocol_mappers": [PAIRWISE_UNREACHABLE]}],
                                          "Failed to get redirect URIs from the Sector Identifier URI"),
        "role-scope-then-bad-client": role([{"client_id": "role-pub", "kind": "public", "redirect_uris": ["*"]}],
                                           "wildcard '*'", scopes=[{"name": "role:scope", "realm_default": "optional"}]),
        "role-bad-scope": role([{"client_id": "role-conf", "preset": "service", "optional_client_scopes": ["role:scope"]}],
                               "scopes[0] (scope 'role:scope'): protocol_mappers[0]",
                               scopes=[{"name": "role:scope", "protocol_mappers": [{"name": "a", "type": "audience"}]}]),
        "role-client-names-unknown-scope": role([{"client_id": "role-conf", "preset": "service",
                                                  "optional_client_scopes": ["role:scope", "no-such-scope"]}],
                                                "client scope 'no-such-scope' does not exist",
                                                scopes=[{"name": "role:scope"}]),
        "role-unheld-grant": role([{"client_id": "role-conf", "preset": "service",
                                    "service_account_client_roles": {"realm-management": ["view-events"]}}],
                                  "lacks the 'view-events' role", connection=as_user("manager", realm)),
    }
    return cases


def task_of(name, case, realm):
    """One case as a block whose rescue records the failure in the fact `results`."""
    record_ok = {"ansible.builtin.set_fact": {"results": "{{ results | combine({%r: {'failed': false}}) }}" % name}}
    if case["kind"] == "module":
        args = dict(dict(realm=realm), **case["args"])
        args.update(case["connection"])
        steps = [{"name": name, "keycloak_ops.clients." + case["module"]: args}]
    elif case["kind"] == "lookup":
        options = dict(dict(realm=realm), **case["options"])
        call = "lookup('keycloak_ops.clients.client_secret', %s, %s)" % (
            ", ".join(repr(t) for t in case["terms"]), ", ".join("%s=%r" % kv for kv in sorted(options.items())))
        steps = [{"name": name, "ansible.builtin.set_fact": {"looked_up": "{{ %s }}" % call}}]
    else:
        # Imported, so that module_defaults reach the role's tasks.
        variables = case.get("variables") or {
            "provision_realm": realm, "provision_clients": case["clients"], "provision_client_scopes": case["scopes"]}
        steps = [{"name": name, "ansible.builtin.import_role": {"name": "keycloak_ops.clients." + case.get("name", "provision")},
                  "vars": variables,
                  "module_defaults": {"group/keycloak_ops.clients.keycloak": case["connection"]} if case["connection"] else {}}]
    record_failure = {"ansible.builtin.set_fact": {
        "results": "{{ results | combine({%r: ansible_failed_result | combine({'failed': true})}) }}" % name}}
    return {"name": "case " + name, "block": steps + [record_ok], "rescue": [record_failure]}


def write_playbook(path, cases, realm, out):
    tasks = [{"ansible.builtin.set_fact": {"results": {}}}]
    tasks += [task_of(name, case, realm) for name, case in cases.items()]
    tasks.append({"ansible.builtin.copy": {"content": "{{ results | to_json }}", "dest": out, "mode": "0600"}})
    play = [{"hosts": "localhost", "connection": "local", "gather_facts": False, "tasks": tasks}]
    with open(path, "w") as handle:
        json.dump(play, handle)  # YAML is a superset of JSON


def run_corpus(keycloak, realm, oracle, tmp_path, cases, ansible_bin=None, python=None):
    playbook, out = str(tmp_path / "corpus.yml"), str(tmp_path / "results.json")
    write_playbook(playbook, cases, realm, out)
    env = ansible_env(keycloak, ANSIBLE_STDOUT_CALLBACK="default", ANSIBLE_DISPLAY_SKIPPED_HOSTS="0",
                      ANSIBLE_PIPELINING="1")
    env["ANSIBLE_PYTHON_INTERPRETER"] = python or sys.executable
    before = snapshot(oracle, realm)
    completed = subprocess.run([os.path.join(ansible_bin or os.path.dirname(sys.executable), "ansible-playbook"),
                                "-i", "localhost,", playbook],
                               env=env, capture_output=True, text=True, timeout=1800, check=False)
    rc, output = completed.returncode, completed.stdout + completed.stderr
    assert rc == 0 and os.path.exists(out), output[-3000:]
    results = json.load(open(out))
    for name in cases:
        print("%s: %s" % (name, (results.get(name) or {}).get("msg")))
    after = snapshot(oracle, realm)
    problems = []
    for name, case in cases.items():
        result = results.get(name) or {}
        msg = str(result.get("msg", ""))
        if not result.get("failed"):
            problems.append("%s: did not fail" % name)
        elif "Traceback (most recent call last)" in json.dumps(result) or result.get("module_stderr"):
            problems.append("%s: traceback: %s" % (name, json.dumps(result)[:400]))
        elif "\n" in msg.strip() or case["expect"] not in msg:
            problems.append("%s: expected %r in %r" % (name, case["expect"], msg))
    assert "Traceback" not in output, output[-3000:]
    assert not problems, "\n".join(problems)
    assert before == after, "the realm changed: %s" % changed_parts(before, after)
    return results


def changed_parts(before, after):
    parts = []
    for key in ("scopes", "realm_scopes", "tokens"):
        if before[key] != after[key]:
            parts.append(key)
    for client_id in sorted(set(before["clients"]) | set(after["clients"])):
        was, now = before["clients"].get(client_id) or {}, after["clients"].get(client_id) or {}
        if was != now:
            differing = sorted(k for k in set(was) | set(now) if was.get(k) != now.get(k))
            parts.append("client %s (%s)" % (client_id, ", ".join(differing)))
    return ", ".join(parts)


@pytest.fixture(scope="module")
def cases(keycloak, seeded, tmp_path_factory):
    return corpus(keycloak, seeded, str(tmp_path_factory.mktemp("corpus")))


def test_corpus_has_at_least_80_cases(cases):
    assert len(cases) >= 80, len(cases)


def test_bad_input_fails_with_one_line_and_changes_nothing(keycloak, seeded, oracle, cases, tmp_path):
    results = run_corpus(keycloak, seeded, oracle, tmp_path, cases)
    print("\n%d bad-input cases on %s: one line each, realm unchanged" % (len(results), sys.version.split()[0]))


# The oldest supported ansible-core (venv-oldest, Python 3.11) shows what the newest shows: messages, no tracebacks,
# through modules, lookup and role alike; a subset, as the module code is the same.
OLDEST_SUBSET = ("conf-client-id-too-long", "conf-redirect-javascript", "conf-good-then-unknown-scope", "rollback-created-client",
                 "secret-huge-grace", "iat-count-zero", "conn-missing-ca-path", "conn-https-to-http-port",
                 "conn-wrong-path-prefix", "rights-query-only-absent", "rights-manager-grants-unheld-role",
                 "lookup-missing-ca-path", "lookup-unknown-client", "role-bad-public-after-confidential", "role-server-down",
                 "role-refused-under-no-log", "scope-good-then-bad", "scope-rights-view-only", "role-client-names-unknown-scope")


def test_bad_input_on_the_oldest_ansible_core(keycloak, seeded, oracle, cases, tmp_path):
    python = os.path.join(OLDEST_VENV, "bin", "python")
    if not os.path.exists(python):
        if os.environ.get("CI"):
            pytest.fail("%s is missing: scripts/test bootstraps it (--with-oldest)" % OLDEST_VENV)
        pytest.skip("no %s (scripts/test bootstraps it)" % OLDEST_VENV)
    subset = {name: cases[name] for name in OLDEST_SUBSET}
    run_corpus(keycloak, seeded, oracle, tmp_path, subset, ansible_bin=os.path.dirname(python), python=python)


def test_cost_of_the_rights_check(keycloak, seeded, oracle, counting_proxy):
    """Requests the rights check adds to a task that writes, measured per kind of identity; none when nothing changes."""
    proxied = ansible_env(keycloak, KEYCLOAK_URL=counting_proxy.url)
    args = dict(realm=seeded, client_id="cost-probe", preset="service")
    first = run_module("confidential_client", args, proxied)
    assert first.rc == 0 and first.result["changed"], first.output
    admin_cli = counting_proxy.reads("admin") - 1  # minus the lookup of the client itself
    counting_proxy.reset()
    again = run_module("confidential_client", args, proxied)
    assert again.rc == 0 and not again.result["changed"], again.output
    unchanged = counting_proxy.reads("admin") - 1
    # A service account's token carries its roles (resource_access): the check costs no request.
    secret = oracle.get_client_secrets(oracle.get_client_id("cost-probe"))["value"]
    management = oracle.get_client_id("realm-management")
    user = oracle.get_client_service_account_user(oracle.get_client_id("cost-probe"))
    oracle.assign_client_role(user["id"], management, [oracle.get_client_role(management, "manage-clients")])
    counting_proxy.reset()
    service = run_module("confidential_client", dict(args, client_id="cost-probe-2"),
                         ansible_env(None, KEYCLOAK_URL=counting_proxy.url, KEYCLOAK_REALM=seeded,
                                     KEYCLOAK_CLIENT_ID="cost-probe", KEYCLOAK_CLIENT_SECRET=secret))
    assert service.rc == 0, service.output
    service_account = counting_proxy.reads("admin") - 1
    print("\nrights check per task: %d requests (admin-cli, lightweight token), %d (service account), "
          "%d (nothing to change)" % (admin_cli, service_account, unchanged))
    assert (admin_cli, service_account, unchanged) == (3, 0, 0)
    oracle.delete_client(oracle.get_client_id("cost-probe-2"))
    oracle.delete_client(oracle.get_client_id("cost-probe"))
