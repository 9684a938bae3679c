#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: keycloak_ops contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: client_registration
short_description: A host registers its own Keycloak client, so its secret is born where it is used
version_added: 1.0.0
description:
  - Registers, reads, updates and deletes one client through Keycloak's Client Registration Service
    (C(/realms/<realm>/clients-registrations/<provider>)), without admin credentials.
  - Meant to run on the host that uses the client. The first run registers the client with an
    initial access token (see M(keycloak_ops.clients.initial_access_token)) and writes the client id,
    the client secret and the registration access token to O(credentials_file) on that host, owner-only
    (mode C(0600) from creation) and atomically. The secret never crosses the controller.
  - Later runs read the client with the stored registration access token, compare the fields given in
    O(metadata) with what is registered, and update only if they differ; a second run with the same
    input reports no change and sends no write request.
  - Keycloak answers every update with a new registration access token and kills the old one. The new
    one is written to O(credentials_file) before anything else is done, so a failure later in the task
    cannot lose it.
  - Each refusal is one line saying which it is and what to do, whether an initial access token is used up,
    expired, revoked or of another realm, a registration access token is stale, a registration policy of
    the realm refused (trusted hosts, max clients, allowed client scopes, allowed protocol mappers), or a
    client id is already taken.
author:
  - keycloak_ops maintainers (@keycloak-ops)
extends_documentation_fragment:
  - keycloak_ops.clients.keycloak.SERVER
attributes:
  check_mode:
    description:
      - Predicts the change without any write request. Reading a registered client is a read request.
      - Keycloak versions that replace the registration access token on reads too would make check mode
        rewrite O(credentials_file) with the new token; Keycloak 26 does not.
    support: full
  diff_mode:
    description: Shows the fields of O(metadata) as registered before and after, with every secret masked.
    support: full
options:
  realm:
    description: Realm of the client.
    type: str
    default: master
  provider:
    description:
      - V(default) speaks Keycloak's client representation (C(clientId), C(redirectUris),
        C(serviceAccountsEnabled), C(attributes), C(protocolMappers)...) and lets you choose the client id.
      - V(openid-connect) speaks OpenID Connect Dynamic Client Registration (RFC 7591 and RFC 7592, with
        C(client_name), C(redirect_uris), C(grant_types), C(token_endpoint_auth_method), C(scope)...);
        Keycloak chooses the client id (a UUID), found in RV(client_id) and O(credentials_file).
      - V(saml2-entity-descriptor) registers a SAML client from the SP's SAML 2.0 entity descriptor
        (O(entity_descriptor)), under its C(entityID). The provider only creates; the client is read, compared with
        O(metadata) (in the format of V(default)), updated and deleted through the V(default) provider.
      - The adapter configuration (the C(install) provider) is fetched with O(adapter_config_file).
    type: str
    choices: [default, openid-connect, saml2-entity-descriptor]
    default: default
  state:
    description:
      - V(present) registers the client, or makes the registered fields match O(metadata).
      - V(absent) deletes the client with its registration access token, then O(credentials_file).
        Without O(credentials_file) and O(registration_access_token) there is nothing to delete with,
        and nothing changes.
    type: str
    choices: [present, absent]
    default: present
  client_id:
    description:
      - The client id to register (the C(clientId) of O(provider=default), where it is required).
      - With O(provider=openid-connect), only to address a client registered earlier, together with
        O(registration_access_token); Keycloak refuses a client id chosen by the client.
      - Must match the client of O(credentials_file) if that exists.
    type: str
    aliases:
      - clientId
  metadata:
    description:
      - The fields of the client to register, in the format of O(provider). Only these fields are compared
        and updated; the others stay as Keycloak set them.
      - Lists compare in any order, nested dicts (C(attributes)) by the keys given, and V(true) or V(300)
        match Keycloak's strings V("true") and V("300"). With O(provider=openid-connect), C(scope) compares
        as a set of words and the C(none) response type Keycloak adds is ignored.
      - A field Keycloak ignores or rewrites is warned about, since it would be updated on every run.
    type: dict
    default: {}
  entity_descriptor:
    description:
      - The SAML 2.0 entity descriptor (C(md:EntityDescriptor) XML) of the service provider, for
        O(provider=saml2-entity-descriptor), for example the SP's metadata file read with the C(ansible.builtin.file)
        lookup (see EXAMPLES).
      - Sent only to register the client; once O(credentials_file) exists the registered client is converged with
        O(metadata) instead (the provider cannot update), so a changed descriptor is not sent again.
      - Give the SP's signing certificate in it (C(md:KeyDescriptor use="signing")), as SP metadata usually does;
        without one Keycloak generates a key pair for the client, which can take longer than O(connection_timeout)
        on a busy server.
    type: str
    version_added: 2.0.0
  # Mutual TLS to the Client Registration Service: the options come from the keycloak.SERVER fragment, where the
  # admin modules have had them since 1.0.0; this module takes them since 2.0.0 (a module's keys override a
  # fragment's).
  client_cert:
    version_added: 2.0.0
  client_key:
    version_added: 2.0.0
  credentials_file:
    description:
      - JSON file on the host holding C(client_id), C(secret), C(registration_access_token),
        C(token_endpoint), C(realm) and C(keycloak_url) of the registered client.
      - Written owner-only (mode C(0600)) and atomically (a temporary file in the same directory, fsync,
        rename); a missing directory is created with mode C(0700). A file with wider permissions is
        rewritten owner-only, which reports a change.
      - The file is the client's identity for later runs, so use one file per client. Run the task as the user
        that will read it (C(become_user)).
    type: path
    required: true
  initial_access_token:
    description:
      - Initial access token allowing the registration, from M(keycloak_ops.clients.initial_access_token).
      - An access token of a user or service account holding the C(create-client) (or C(manage-clients)) role of
        realm-management works too (the guide's "bearer token"), for example a service account's token from the
        client-credentials grant; unlike an initial access token it is not used up.
      - Used only when O(credentials_file) does not exist yet; a registered client is never registered again,
        so a re-run does not use up the token.
      - If not set, the value of the E(KEYCLOAK_INITIAL_ACCESS_TOKEN) environment variable is used.
    type: str
  registration_access_token:
    description:
      - A registration access token of an existing client, for example one an admin generated with
        M(keycloak_ops.clients.registration_access_token) (console Clients > client > Credentials >
        Registration access token).
      - Used when O(credentials_file) does not exist yet (the client is adopted and the file written), or when
        the token stored in it has gone stale (the file is repaired).
    type: str
  adapter_config_file:
    description:
      - Also write the client's adapter configuration (C(keycloak.json), from the C(install) provider) to this
        path on the host, owner-only and atomically, whenever it differs. It contains the secret.
    type: path
  return_secret:
    description:
      - Return the client secret in RV(secret). Without it the secret stays in O(credentials_file) on the host.
      - Run such a task with C(no_log=true).
    type: bool
    default: false
notes:
  - Roles of realm-management it needs in the realm (measured on Keycloak; docs/least-privilege.yml in the collection)
    are, for registration of a client on its host with an initial access token (the role C(self_register) mints it),
    none.
  - Needs only Python on the host, neither python-keycloak nor requests. It speaks HTTP with Ansible's own
    C(ansible.module_utils.urls), and sends each request once.
  - Needs no admin credentials, and does not take the admin connection options of the other modules
    (nor is it in their C(keycloak) action group), so that admin credentials set in C(module_defaults)
    never travel to application hosts.
  - With an initial or registration access token, the realm's "authenticated access" registration policies apply;
    by default they limit client scopes and protocol mapper types. The anonymous policies (such as
    "Trusted Hosts") do not apply.
  - Keycloak 26 answers a registration with HTTP 201, a read or update with 200 and a delete with 204. A read
    does not replace the registration access token (it did in older versions, which this module handles).
seealso:
  - module: keycloak_ops.clients.initial_access_token
  - name: Client registration (Keycloak documentation)
    description: The Client Registration Service, its providers and tokens.
    link: https://www.keycloak.org/securing-apps/client-registration
  - name: RFC 7591, OAuth 2.0 Dynamic Client Registration Protocol
    description: The client metadata of O(provider=openid-connect).
    link: https://www.rfc-editor.org/rfc/rfc7591
"""

EXAMPLES = r"""
# On the controller: an initial access token for the hosts of the group.
- name: Mint an initial access token
  keycloak_ops.clients.initial_access_token:
    realm: apps
    state: present
    count: "{{ ansible_play_hosts | length }}"
    expiration: 15m
  delegate_to: localhost
  run_once: true
  register: iat
  no_log: true

# On each host: register a service client; the secret is written on the host only.
- name: Register this host's client
  keycloak_ops.clients.client_registration:
    auth_keycloak_url: https://sso.example.com
    realm: apps
    client_id: "report-job-{{ inventory_hostname }}"
    metadata:
      description: Nightly report job
      publicClient: false
      serviceAccountsEnabled: true
      standardFlowEnabled: false
    credentials_file: /etc/report-job/keycloak-client.json
    initial_access_token: "{{ iat.token }}"
  become: true
  become_user: report-job

- name: The same with OpenID Connect Dynamic Client Registration, and a keycloak.json for the adapter
  keycloak_ops.clients.client_registration:
    auth_keycloak_url: https://sso.example.com
    realm: apps
    provider: openid-connect
    metadata:
      client_name: "Reports on {{ inventory_hostname }}"
      grant_types: [client_credentials]
      token_endpoint_auth_method: client_secret_basic
    credentials_file: /etc/report-job/oidc-client.json
    adapter_config_file: /etc/report-job/keycloak.json
    initial_access_token: "{{ iat.token }}"

- name: Adopt a client created in the console, with a registration access token an admin generated
  keycloak_ops.clients.client_registration:
    auth_keycloak_url: https://sso.example.com
    realm: apps
    client_id: legacy-app
    credentials_file: /etc/legacy-app/keycloak-client.json
    registration_access_token: "{{ vault_legacy_app_rat }}"

- name: A SAML service provider registered from its metadata, read back through the default provider
  keycloak_ops.clients.client_registration:
    auth_keycloak_url: https://sso.example.com
    realm: apps
    provider: saml2-entity-descriptor
    entity_descriptor: "{{ lookup('ansible.builtin.file', 'sp-metadata.xml') }}"
    metadata:
      description: wiki (SAML)
    credentials_file: /etc/wiki/keycloak-client.json
    initial_access_token: "{{ iat.token }}"

- name: Unregister
  keycloak_ops.clients.client_registration:
    auth_keycloak_url: https://sso.example.com
    realm: apps
    client_id: "report-job-{{ inventory_hostname }}"
    credentials_file: /etc/report-job/keycloak-client.json
    state: absent
"""

RETURN = r"""
client_id:
  description: The client id (chosen by Keycloak with O(provider=openid-connect); null in check mode before that).
  returned: always
  type: str
  sample: report-job-app1
id:
  description: Keycloak's internal id of the client; null before registration.
  returned: always
  type: str
  sample: 3c2419cc-dacd-4044-bec0-25a1eddee114
realm:
  description: Realm of the client.
  returned: always
  type: str
  sample: apps
provider:
  description: The registration provider used.
  returned: always
  type: str
  sample: default
credentials_file:
  description: Path of the credentials file on the host.
  returned: always
  type: str
  sample: /etc/report-job/keycloak-client.json
registered:
  description: The client as Keycloak registered it (predicted in check mode), in the provider's format, secrets masked.
  returned: when O(state=present)
  type: dict
  sample: {"clientId": "report-job-app1", "serviceAccountsEnabled": true, "secret": "********"}
registration_access_token_rotated:
  description: Whether Keycloak replaced the registration access token during the task (the new one is stored).
  returned: always
  type: bool
  sample: true
secret:
  description: The client secret. Only with O(return_secret=true); use C(no_log=true).
  returned: when O(return_secret=true) and O(state=present)
  type: str
  sample: SHm43QzxHrleuPfYWvwQsyYeRKCkQVYg
"""

from ansible.module_utils.basic import env_fallback

from ansible_collections.keycloak_ops.clients.plugins.module_utils._core.module import KeycloakModule
from ansible_collections.keycloak_ops.clients.plugins.module_utils._registration.run import run_client_registration
from ansible_collections.keycloak_ops.clients.plugins.module_utils._registration.metadata import PROVIDERS


def main():
    # No admin login: only the options that reach the server (connection='server').
    module = KeycloakModule(dict(
        realm=dict(type='str', default='master'),
        provider=dict(type='str', choices=list(PROVIDERS), default='default'),
        state=dict(type='str', choices=['present', 'absent'], default='present'),
        client_id=dict(type='str', aliases=['clientId']),
        metadata=dict(type='dict', default={}),
        entity_descriptor=dict(type='str'),
        credentials_file=dict(type='path', required=True),
        initial_access_token=dict(type='str', no_log=True, fallback=(env_fallback, ['KEYCLOAK_INITIAL_ACCESS_TOKEN'])),
        registration_access_token=dict(type='str', no_log=True),
        adapter_config_file=dict(type='path'),
        return_secret=dict(type='bool', default=False),
    ), connection='server')
    run_client_registration(module)


if __name__ == '__main__':
    main()
