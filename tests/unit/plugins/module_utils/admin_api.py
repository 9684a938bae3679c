"""A stand-in for the admin API session (KeycloakAPI) of the runs' unit tests: reads answered from a table, writes
recorded, chosen writes refused, and a token holding chosen realm-management roles."""
import copy

from ansible_collections.keycloak_ops.clients.plugins.module_utils._core.errors import KeycloakOpsError
from tests.unit.plugins.module_utils.tokens import jwt


class AdminAPI(object):
    """answers: path -> the body a GET answers (None: 404 for absent_ok reads, else an empty answer);
    ("POST", path) -> the body a POST answers.
    refused: (method, path part) pairs whose writes Keycloak refuses with HTTP 400.
    roles: realm-management roles the identity holds in every realm (None: a token that shows no roles)."""

    auth_realm = "master"
    identity = "client 'automation'"
    username = None

    def __init__(self, answers=None, refused=(), roles=("manage-clients", "view-clients")):
        self.answers = dict(answers or {})
        self.refused = refused
        self.roles = roles
        self.reads = []
        self.sent = []

    def access_token(self):
        if self.roles is None:
            return jwt()
        paths = [key[1] if isinstance(key, tuple) else key for key in self.answers]
        realms = {path.split("/")[2] for path in paths if path.startswith("admin/realms/")} | {"master"}
        return jwt(resource_access={"%s-realm" % realm: {"roles": list(self.roles)} for realm in realms})

    def get(self, path, params=None, absent_ok=False):
        self.reads.append(path)
        return copy.deepcopy(self.answers.get(path))

    def request(self, method, path, body=None, params=None, expected=(200, 201, 204), absent_ok=False, check_hint=None):
        self.sent.append((method, path, body))
        if any(method == m and part in path for m, part in self.refused):
            raise KeycloakOpsError("Keycloak answered HTTP 400 to %s /%s: refused" % (method, path))
        if method == "POST":
            return 201, copy.deepcopy(self.answers.get(("POST", path))), {"Location": "http://kc/%s/new-%d" % (path, len(self.sent))}
        return 204, None, {}

    def post(self, path, body=None, expected=(200, 201, 204), check_hint=None):
        return self.request("POST", path, body=body, expected=expected, check_hint=check_hint)

    def put(self, path, body):
        return self.request("PUT", path, body=body)[1]

    def delete(self, path, absent_ok=True):
        return self.request("DELETE", path, absent_ok=absent_ok)[0] != 404

    def writes(self):
        return [(method, path) for method, path, _body in self.sent]
