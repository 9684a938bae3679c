# -*- coding: utf-8 -*-
# Copyright: keycloak_ops contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # Which client(s) a task addresses, for every module that takes client_id or clients.
    TARGET = r"""
options:
  realm:
    description:
      - Realm of the client(s).
      - An item of O(clients) may set its own.
    type: str
    default: master
  client_id:
    description:
      - The C(clientId) of the client, looked up by exact match.
      - Exactly one of O(client_id) and O(clients) is required.
    type: str
    aliases:
      - clientId
"""

    # The clients option of the secret modules, whose items carry only a client id and a realm.
    SECRET_ITEMS = r"""
options:
  clients:
    description:
      - Many clients in one task, served by one token and one HTTP session.
      - Each item is a client id, or a dict with O(client_id) and optionally O(realm).
        The top-level O(realm) is the default of every item.
    type: list
    elements: raw
"""

    # Options every client module takes, for one client or as defaults of each item of clients.
    DOCUMENTATION = r"""
options:
  clients:
    description:
      - Many clients in one task, served by one token and one HTTP session.
      - Each item is a client id, or a dict of the options of this module for one client
        (O(client_id), O(name), O(redirect_uris), and so on, but not the connection options).
        The options given at the top level of the task are the defaults of every item.
      - Every item is validated, and everything is read from Keycloak, before the first write;
        one bad item fails the task with its index and reason, and nothing is changed.
      - Writes go in this order, so that a refusal finds the writes it has to undo still undoable. First the clients
        are created and changed; then what names clients (service-account role grants, authorization items), so a
        reference to a client declared anywhere in the same task resolves, in check mode too; then, one at a time,
        the changes after which Keycloak deletes something by itself (authorization services off deletes the resource
        server, service accounts off the service-account user and its roles); deletions last, one at a time.
      - When Keycloak refuses a write, every write of the task that can be undone is undone. Deleted clients and what
        Keycloak deleted by itself cannot be brought back; the failure message and RV(stands) name exactly the writes
        that stand, and the message says C(nothing was changed) only when nothing was. When Keycloak stops answering
        nothing is undone; the message, RV(stands) and RV(may_stand) name what stands and what may, and running the
        task again converges.
    type: list
    elements: raw
  state:
    description:
      - V(present) makes the client look as declared; V(absent) deletes it.
    type: str
    choices: [present, absent]
    default: present
  name:
    description: Display name of the client.
    type: str
  description:
    description: Description of the client.
    type: str
  enabled:
    description: Whether the client can be used (the console's "Enabled").
    type: bool
  root_url:
    description: Root URL appended to relative URLs of the client, for example V(http://localhost:5000/).
    type: str
  home_url:
    description: Home URL (Keycloak's C(baseUrl)), used when Keycloak links back to the application.
    type: str
    aliases:
      - base_url
  redirect_uris:
    description:
      - Valid redirect URIs. A trailing V(*) is a prefix match; relative URIs are relative to O(root_url).
    type: list
    elements: str
  web_origins:
    description:
      - Allowed CORS origins; V(+) allows the origins of O(redirect_uris).
    type: list
    elements: str
  post_logout_redirect_uris:
    description: Valid post-logout redirect URIs.
    type: list
    elements: str
  standard_flow:
    description: Authorization code flow (browser login).
    type: bool
  direct_access_grants:
    description: Resource owner password grant. Leave off unless a legacy application needs it.
    type: bool
  consent_required:
    description: Whether users must consent to the client's access.
    type: bool
  default_client_scopes:
    description:
      - Client scopes attached as default scopes. Each must exist in the realm, or the task fails naming it.
      - V(openid) is implicit in every OpenID Connect request; listing it is accepted and attaches nothing.
      - Scopes already attached and not listed stay, unless O(client_scopes_exclusive) is set.
    type: list
    elements: str
  optional_client_scopes:
    description:
      - Client scopes attached as optional scopes. Each must exist in the realm.
      - Scopes already attached and not listed stay, unless O(client_scopes_exclusive) is set.
    type: list
    elements: str
  client_scopes_exclusive:
    description:
      - Detach default (optional) scopes that O(default_client_scopes) (O(optional_client_scopes)) does not list.
      - Only lists that are given are made exclusive.
    type: bool
    default: false
  protocol_mappers:
    description:
      - Protocol mappers of the client, matched by name; mappers not listed are left alone.
      - Each item has C(name), C(protocolMapper) (for example V(oidc-audience-mapper)), optional C(protocol)
        (default V(openid-connect)) and C(config).
    type: list
    elements: dict
  attributes:
    description:
      - Further client attributes passed to Keycloak as they are (values become strings).
      - Only the keys given are managed.
    type: dict
"""
