"""Rights from token claims (pure: a stand-in API that holds a token and fails every request)."""
import base64
import json

import pytest

from ansible_collections.keycloak_ops.clients.plugins.module_utils._clients.plan import Update
from ansible_collections.keycloak_ops.clients.plugins.module_utils._clients.run import check_rights
from ansible_collections.keycloak_ops.clients.plugins.module_utils._core.errors import KeycloakOpsError
from ansible_collections.keycloak_ops.clients.plugins.module_utils._core.rights import AdminRights


def jwt(claims):
    body = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    return "e30.%s.sig" % body


class TokenOnly(object):
    identity = "client 'automation'"
    username = None

    def __init__(self, auth_realm, claims):
        self.auth_realm = auth_realm
        self.token = jwt(claims)

    def access_token(self):
        return self.token

    def get(self, *args, **kwargs):
        raise KeycloakOpsError("no request expected")


def test_roles_come_from_resource_access_with_what_they_imply():
    api = TokenOnly("apps", {"resource_access": {"realm-management": {"roles": ["manage-users"]}}})
    rights = AdminRights(api)
    assert {"manage-users", "view-users", "query-groups"} <= rights.roles("apps")
    rights.require("apps", "view-users", "granting it needs")
    with pytest.raises(KeycloakOpsError, match="lacks the 'view-events' role of realm-management in realm 'apps'"):
        rights.require("apps", ("view-events", "realm-admin"), "granting it needs")
    assert rights.requests == 0


def test_master_identities_hold_roles_on_the_realm_client():
    api = TokenOnly("master", {"resource_access": {"apps-realm": {"roles": ["manage-clients"]}}})
    rights = AdminRights(api)
    rights.require_view("apps")
    with pytest.raises(KeycloakOpsError, match="view-clients"):
        rights.require_view("other")


def test_authorization_writes_need_manage_clients_or_manage_authorization():
    # An existing client whose only planned writes are its resource server's.
    plan = Update(realm="apps", current={"id": "x"}, changes={}, scope_ops=[], mapper_ops=[],
                  roles_to_grant=dict(realm=[], clients=[]), authorization=dict(ops=[("create", "scopes", "read")]))
    for roles, allowed in ((["view-clients", "manage-authorization"], True), (["manage-clients"], True),
                           (["view-clients", "view-authorization"], False)):
        api = TokenOnly("apps", {"resource_access": {"realm-management": {"roles": roles}}})
        if allowed:
            check_rights(AdminRights(api), [plan], return_secret=False)
            continue
        with pytest.raises(KeycloakOpsError, match="lacks the 'manage-clients' role .* which changing a client's "
                                                   "authorization"):
            check_rights(AdminRights(api), [plan], return_secret=False)
    unchanged = Update(**{k: v for k, v in plan.items() if k != 'action'})
    unchanged['authorization'] = dict(ops=[])
    check_rights(AdminRights(TokenOnly("apps", {"resource_access": {}})), [unchanged], return_secret=False)
