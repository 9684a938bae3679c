"""What the write-path tests share: the client module run in-process through a fault-injecting proxy, and the
realm as Keycloak's own API shows it (python-keycloak, not the collection's code).

A module run in-process costs what its requests cost (tens of milliseconds), not the two seconds of starting
`ansible`, so a model-based test can afford hundreds of runs. The module's main() is loaded from its file, so the
tests do not depend on where the module keeps its utilities.
"""
from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import os
import secrets
import uuid
from dataclasses import dataclass, field

from ansible.module_utils.common import warnings as ansible_warnings
from keycloak.exceptions import KeycloakPostError
from ansible.module_utils.testing import patch_module_args

from tests.collection_path import REPO
from tests.harness.counting_proxy import CountingProxy
from tests.harness.tls_material import make_certs
from tests.integration.conftest import admin_client

# Realm roles the service accounts are granted, and the client scopes attached, by the tests.
REALM_ROLES = ("reader", "writer")
# The identity the module logs in with: a service account of the test realm holding realm-admin. A client-credentials
# login costs a few milliseconds, a password login a PBKDF2 hash on the server.
RUNNER_CLIENT = "write-path-runner"
# Texts that claim a failed task left the realm as it was.
NOTHING_CHANGED = ("nothing was changed", "nothing is changed")


def load_main(module_name="confidential_client"):
    path = os.path.join(REPO, "plugins", "modules", module_name + ".py")
    spec = importlib.util.spec_from_file_location(
        "ansible_collections.keycloak_ops.clients.plugins.modules." + module_name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main


@dataclass
class ModuleRun:
    failed: bool
    result: dict
    output: str  # everything the module printed: what a log or a callback could show

    @property
    def msg(self) -> str:
        return self.result.get("msg") or ""

    def items(self) -> list[dict]:
        return self.result.get("clients") or []


@dataclass
class WritePathRealm:
    """A realm for write-path tests, its module identity, a TLS proxy in front of Keycloak and an oracle."""
    server: object
    name: str
    runner_secret: str
    proxy: CountingProxy
    ca_path: str
    oracle: object = field(repr=False)
    main: object = field(repr=False)
    ids: dict = field(default_factory=dict)  # client id -> internal id, as of the last snapshot

    def module_args(self, **args) -> dict:
        return dict(auth_keycloak_url=self.proxy.url, auth_realm=self.name, auth_client_id=RUNNER_CLIENT,
                    auth_client_secret=self.runner_secret, ca_path=self.ca_path, realm=self.name, **args)

    def run(self, check=False, diff=True, **args) -> ModuleRun:
        """Run confidential_client in this process, as Ansible would run it on the host, and read its result."""
        payload = dict(self.module_args(**args), _ansible_check_mode=check, _ansible_diff=diff,
                       _ansible_verbosity=3, _ansible_module_name="keycloak_ops.clients.confidential_client")
        ansible_warnings._global_warnings.clear()  # pylint: disable=protected-access  # per process, not per run
        saved = {k: os.environ.pop(k) for k in list(os.environ) if k.startswith("KEYCLOAK_")}
        out = io.StringIO()
        failed = True
        try:
            with patch_module_args(payload), contextlib.redirect_stdout(out):
                try:
                    self.main()
                except SystemExit as exc:
                    failed = exc.code not in (0, None)
        finally:
            os.environ.update(saved)
        text = out.getvalue()
        try:
            result = json.loads(text)
        except ValueError:
            result = {"failed": True, "msg": "module printed no JSON: " + text[-2000:]}
        return ModuleRun(failed=failed or bool(result.get("failed")), result=result, output=text)

    # -- the realm as Keycloak shows it -----------------------------------------------------------

    def get(self, path, **params):
        response = self.oracle.connection.raw_get("admin/realms/%s/%s" % (self.name, path), **params)
        assert response.status_code == 200, (path, response.status_code, response.text)
        return response.json()

    def clients(self) -> dict[str, dict]:
        return {c["clientId"]: c for c in self.get("clients", first=0, max=1000)}

    def snapshot(self, client_ids) -> dict[str, dict | None]:
        """{client_id: state or None (absent)}: the fields, secret, scopes, service-account realm roles and
        authorization items of each client, named by name (internal ids left out: a recreated client differs
        only in them)."""
        listed = self.clients()
        names = {c["id"]: c["clientId"] for c in listed.values()}
        self.ids = {cid: listed[cid]["id"] for cid in client_ids if cid in listed}
        # The service accounts holding each role: one read per role, not two per client.
        holders: dict = {}
        for role in REALM_ROLES:
            for user in self.get("roles/%s/users" % role, first=0, max=1000):
                holders.setdefault(user["username"], []).append(role)
        return {cid: self._client_state(listed[cid], names, holders) if cid in listed else None
                for cid in client_ids}

    def _client_state(self, rep, names, holders) -> dict:
        uuid_ = rep["id"]
        state = {key: rep.get(key) for key in (
            "enabled", "publicClient", "serviceAccountsEnabled", "authorizationServicesEnabled",
            "standardFlowEnabled", "directAccessGrantsEnabled")}
        # Keycloak's API cannot take a description away, only empty it: no description and an empty one are alike.
        state["description"] = rep.get("description") or None
        state["redirectUris"] = sorted(rep.get("redirectUris") or [])
        state["secret"] = rep.get("secret") or self.get("clients/%s/client-secret" % uuid_).get("value")
        state["default"] = sorted(rep.get("defaultClientScopes") or [])
        state["optional"] = sorted(rep.get("optionalClientScopes") or [])
        state["sa_roles"] = None
        if rep.get("serviceAccountsEnabled"):
            # Keycloak names a service-account user after its client, in lower case.
            state["sa_roles"] = sorted(holders.get("service-account-" + rep["clientId"].lower(), []))
        state["authz"] = None
        if rep.get("authorizationServicesEnabled"):
            state["authz"] = authz_summary(self.get("clients/%s/authz/resource-server/settings" % uuid_), names)
        return state

    def delete_clients(self, client_ids, known=False) -> None:
        """Delete these clients; known: only those the last snapshot saw (no listing)."""
        ids = self.ids if known else {cid: rep["id"] for cid, rep in self.clients().items()}
        for cid, uuid_ in ids.items():
            if cid in client_ids:
                self.oracle.connection.raw_delete("admin/realms/%s/clients/%s" % (self.name, uuid_))


def _names(config, key, names):
    try:
        values = json.loads((config or {}).get(key) or "[]")
    except ValueError:
        values = []
    return sorted(names.get(v, v) for v in values)


def authz_summary(export, names) -> dict:
    """Items of a resource server's export by name; client policies name their clients by client id."""
    summary: dict = dict(scopes=sorted(s["name"] for s in export.get("scopes") or []), resources={}, policies={},
                         permissions={})
    for resource in export.get("resources") or []:
        summary["resources"][resource["name"]] = sorted(s["name"] for s in resource.get("scopes") or [])
    for policy in export.get("policies") or []:
        config = policy.get("config") or {}
        if policy.get("type") in ("scope", "resource"):
            summary["permissions"][policy["name"]] = dict(
                resources=_names(config, "resources", names), scopes=_names(config, "scopes", names),
                policies=_names(config, "applyPolicies", names), decisionStrategy=policy.get("decisionStrategy"))
        else:
            summary["policies"][policy["name"]] = dict(
                type=policy.get("type"), logic=policy.get("logic"), clients=_names(config, "clients", names))
    return summary


@contextlib.contextmanager
def write_path_realm(server, tmp_dir):
    """A fresh realm with the roles the tests grant and the module's identity, a TLS proxy in front of Keycloak."""
    master = admin_client(server)
    name = "wp-" + uuid.uuid4().hex[:8]
    try:
        master.create_realm({"realm": name, "enabled": True})
    except KeycloakPostError as exc:
        # python-keycloak sends a POST again when its answer is slow to come: the realm is there, from the first.
        if exc.response_code != 409:
            raise
    try:
        oracle = admin_client(server, name)
        for role in REALM_ROLES:
            oracle.create_realm_role({"name": role})
        runner_secret = secrets.token_urlsafe(24)
        runner_uuid = oracle.create_client({
            "clientId": RUNNER_CLIENT, "publicClient": False, "serviceAccountsEnabled": True,
            "standardFlowEnabled": False, "directAccessGrantsEnabled": False, "secret": runner_secret})
        user = oracle.get_client_service_account_user(runner_uuid)
        management = oracle.get_client_id("realm-management")
        oracle.assign_client_role(user["id"], management, [oracle.get_client_role(management, "realm-admin")])
        certs = make_certs(tmp_dir / ("certs-" + uuid.uuid4().hex[:6]))
        with CountingProxy(server.url, ca_path=server.ca_path,
                           tls=(str(certs["server.pem"]), str(certs["server.key"]))) as proxy:
            yield WritePathRealm(server=server, name=name, runner_secret=runner_secret, proxy=proxy,
                                 ca_path=str(certs["ca.pem"]), oracle=oracle, main=load_main())
    finally:
        master.delete_realm(name)


def secrets_in(text: str, values) -> list[str]:
    """The values (secrets) that appear in text."""
    return sorted({v for v in values if v and v in text})


def output_without_asked_secrets(run: ModuleRun, asked: bool) -> str:
    """The module's output less the `secret` returns, when the task asked for them."""
    if not asked:
        return run.output
    result = json.loads(json.dumps(run.result))
    result.pop("secret", None)
    for item in result.get("clients") or []:
        item.pop("secret", None)
    return json.dumps(result)
