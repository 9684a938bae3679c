#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: keycloak_ops contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: client_scope
short_description: Keycloak client scopes, their protocol mappers and the realm's default client scopes
version_added: 2.0.0
description:
  - Makes one or many client scopes look as declared, and nothing more. Only the options given are compared,
    and protocol mappers not declared are left alone.
  - A client scope gives a client's tokens their meaning, for example a scope C(candidates:read) whose audience
    mapper adds the API that accepts the token. Clients name scopes in their O(keycloak_ops.clients.confidential_client#module:default_client_scopes)
    and O(keycloak_ops.clients.confidential_client#module:optional_client_scopes).
  - O(realm_default) sets the realm's default client scopes (the admin console's Realm settings, Client scopes, and
    the Type column of the client scope list), which Keycloak gives every client created afterwards.
  - Every item is validated, and everything is read from Keycloak, before the first write. When Keycloak refuses
    a write, the writes of this task are undone and the message says what stands.
author:
  - keycloak_ops maintainers (@keycloak-ops)
extends_documentation_fragment:
  - keycloak_ops.clients.keycloak
  - keycloak_ops.clients.keycloak.SERVER
  - keycloak_ops.clients.keycloak.ACTIONGROUPS
attributes:
  check_mode:
    description: Predicts the change without any write request.
    support: full
  diff_mode:
    description: Shows the declared fields, mappers and realm default before and after.
    support: full
options:
  realm:
    description:
      - Realm of the client scope(s).
      - An item of O(scopes) may set its own.
    type: str
    default: master
  name:
    description:
      - Name of the client scope, the value a client puts in the C(scope) parameter of a token request.
      - Printable ASCII without spaces, double quotes or backslashes (an OAuth scope token), at most 255 characters.
      - Exactly one of O(name) and O(scopes) is required.
    type: str
  scopes:
    description:
      - Many client scopes in one task, served by one token and one HTTP session; the realm's scopes are read once.
      - Each item is a scope name, or a dict of the options of this module for one scope (not the connection
        options). The options given at the top level of the task are the defaults of every item.
      - One bad item fails the task with its index and reason, and nothing is changed.
    type: list
    elements: raw
  state:
    description:
      - V(present) makes the scope look as declared; V(absent) deletes it (clients holding it lose it).
      - Deletions run after every other change of the task; a deleted scope is not restored when a later
        deletion fails, and the message names it.
    type: str
    choices: [present, absent]
    default: present
  description:
    description: Description of the scope.
    type: str
  protocol:
    description:
      - V(openid-connect) or V(saml). A new scope is V(openid-connect) unless set.
    type: str
    choices: [openid-connect, saml]
  include_in_token_scope:
    description:
      - Whether the scope's name goes into the C(scope) claim of access tokens (and token introspection).
      - Keycloak assumes V(true) when unset; a new scope gets V(true) as in the admin console.
    type: bool
  display_on_consent_screen:
    description:
      - Whether a client with consent required lists the scope on the consent screen.
    type: bool
  consent_screen_text:
    description: Text the consent screen shows for the scope (the name when empty).
    type: str
  protocol_mappers:
    description:
      - Protocol mappers of the scope, matched by C(name); mappers not listed are left alone.
      - C(type) is one of V(audience), V(hardcoded_claim), V(user_attribute) or V(realm_roles), OpenID Connect
        mappers with friendly options, or give C(protocol_mapper), any Keycloak mapper id (for example
        V(oidc-usermodel-client-role-mapper) or V(saml-user-attribute-mapper)) with its C(config).
      - C(config) holds Keycloak's own config keys (for example C(included.client.audience)); values become strings.
      - Friendly options of every type are C(access_token), C(id_token), C(userinfo) and C(introspection)
        (bool, whether the claim goes into that token or answer).
      - V(audience) (C(oidc-audience-mapper)) takes C(client_audience) (a client id whose name goes into C(aud))
        or C(custom_audience).
      - V(hardcoded_claim) (C(oidc-hardcoded-claim-mapper)) takes C(claim_name), C(claim_value) and C(claim_type).
      - V(user_attribute) (C(oidc-usermodel-attribute-mapper)) takes C(user_attribute), C(claim_name),
        C(claim_type) and C(multivalued).
      - V(realm_roles) (C(oidc-usermodel-realm-role-mapper)) takes C(claim_name), C(claim_type), C(multivalued) and
        C(role_prefix).
      - Only the options and config keys given are compared. A new mapper of a friendly type also gets the
        defaults the admin console gives one (for example C(access.token.claim) V(true)).
      - C(state) V(absent) in an item deletes that mapper.
    type: list
    elements: dict
  attributes:
    description:
      - Further scope attributes passed to Keycloak as they are (values become strings); only the keys given are
        managed.
    type: dict
  realm_default:
    description:
      - Whether the realm gives the scope to new clients as a V(default) scope (always in their tokens), as an
        V(optional) one (in a token when requested with the C(scope) parameter), or V(none).
      - Left as it is when unset. Clients that exist keep their scopes; only clients created afterwards follow.
      - Declared on the scope, as in the admin console's client scope form (its Type field), so a scope and its
        place in the realm are one item and one diff.
    type: str
    choices: [default, optional, none]
notes:
  - Roles of realm-management it needs in the realm (measured on Keycloak; docs/least-privilege.yml in the collection)
    are, for clients, their secrets, client scopes (and the realm's default client scopes), initial access tokens and
    registration access tokens, C(manage-clients).
  - With C(query-clients) alone Keycloak lists no scope, so the task refuses instead of calling a scope absent.
  - The rights are checked before the first write, and only when some write is planned.
seealso:
  - module: keycloak_ops.clients.confidential_client
  - module: keycloak_ops.clients.public_client
"""

EXAMPLES = r"""
- name: A scope an API client checks for, with the API as the token's audience
  keycloak_ops.clients.client_scope:
    realm: apps
    name: candidates:read
    description: Read candidates through the Candidates API
    protocol_mappers:
      - name: candidates-api audience
        type: audience
        client_audience: candidates-api

- name: Several scopes at once; one a default scope of every new client of the realm
  keycloak_ops.clients.client_scope:
    realm: apps
    scopes:
      - name: candidates:write
      - name: tenant
        realm_default: default
        protocol_mappers:
          - name: tenant claim
            type: user_attribute
            user_attribute: tenant
            claim_name: tenant
          - name: department
            protocol_mapper: oidc-usermodel-attribute-mapper
            config:
              user.attribute: department
              claim.name: department
              access.token.claim: "true"

- name: A scope that is no longer used
  keycloak_ops.clients.client_scope:
    realm: apps
    name: legacy:read
    state: absent

- name: A confidential client that may request it
  keycloak_ops.clients.confidential_client:
    realm: apps
    client_id: recruiter-sync
    preset: service
    optional_client_scopes: [candidates:read]
"""

RETURN = r"""
name:
  description: The scope's name (single-scope form).
  returned: when O(name) is given
  type: str
  sample: candidates:read
id:
  description: Keycloak's internal id of the scope; null in check mode before creation.
  returned: when O(name) is given
  type: str
  sample: 5b0e4c9a-8f3e-4d0c-9a59-0c8b8f0f3b9e
realm:
  description: Realm of the scope.
  returned: when O(name) is given
  type: str
  sample: apps
state:
  description: V(present) or V(absent) after the task.
  returned: when O(name) is given
  type: str
  sample: present
end_state:
  description: The declared fields of the scope after the task (mappers by name with their declared config keys,
    C(realmDefault) when O(realm_default) is given).
  returned: when O(name) is given and O(state=present)
  type: dict
  sample: {"name": "candidates:read", "protocolMappers": {"candidates-api audience": {
    "protocolMapper": "oidc-audience-mapper", "config": {"included.client.audience": "candidates-api"}}}}
scopes:
  description: One result per scope, in the order given, each with C(name), C(realm), C(id), C(changed), C(state)
    and C(end_state).
  returned: always
  type: list
  elements: dict
  sample: [{"name": "candidates:read", "realm": "apps", "changed": false, "state": "present"}]
"""

from ansible_collections.keycloak_ops.clients.plugins.module_utils._clients.scope_run import run_client_scope_module
from ansible_collections.keycloak_ops.clients.plugins.module_utils._clients.scopes import SCOPE_OPTIONS, SCOPES
from ansible_collections.keycloak_ops.clients.plugins.module_utils._core.module import KeycloakModule


def main():
    module = KeycloakModule(item_options=SCOPE_OPTIONS, item_shape=SCOPES)
    run_client_scope_module(module)


if __name__ == '__main__':
    main()
