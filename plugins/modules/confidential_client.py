#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: keycloak_ops contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: confidential_client
short_description: Keycloak clients that hold a secret (service accounts and web applications)
version_added: 1.0.0
description:
  - Makes one or many OpenID Connect confidential clients look as declared, and nothing more;
    settings not given are left as Keycloak (or another tool) has them.
  - Covers backend services using the client-credentials grant (O(preset=service)) and web
    applications behind a login (O(preset=web)), the console flows "create client, turn on client
    authentication, copy the secret from the Credentials tab".
  - An existing public client is converted to a confidential one, with a secret.
  - A second run with the same input reports no change and sends no write request.
author:
  - keycloak_ops maintainers (@keycloak-ops)
extends_documentation_fragment:
  - keycloak_ops.clients.keycloak
  - keycloak_ops.clients.keycloak.SERVER
  - keycloak_ops.clients.keycloak.ACTIONGROUPS
  - keycloak_ops.clients.client
  - keycloak_ops.clients.client.TARGET
attributes:
  check_mode:
    description: Predicts the change without any write request.
    support: full
  diff_mode:
    description: Shows the managed fields before and after, with every secret masked.
    support: full
options:
  preset:
    description:
      - V(service) is a backend calling APIs with the client-credentials grant (service accounts on,
        standard flow and direct access grants off).
      - V(web) is a web application logging users in with the authorization code flow (standard flow on,
        direct access grants off).
      - A preset only fills options that are not given.
    type: str
    choices: [service, web]
  secret:
    description:
      - A known client secret. Without it a new client gets a generated one, kept on later runs.
      - With O(return_secret=true) the module generates it (32 letters and digits from the operating system's
        CSPRNG, as Keycloak's own) and sends it with the create, so that no read of the secret follows;
        otherwise Keycloak generates it.
    type: str
  service_accounts:
    description:
      - Service account (client-credentials grant). Without it Keycloak refuses the grant with
        C(unauthorized_client); the module warns when a client ends up without it and without O(preset=web).
    type: bool
  authorization_services:
    description:
      - Fine-grained authorization services (the console's "Authorization"). Turns service accounts on too.
    type: bool
  authorization:
    description:
      - The client's resource server (the console's Authorization tab) with its scopes, resources, policies and
        scope permissions, for permissions per scope such as create, read, update and delete of a resource.
      - Turns O(authorization_services) on. Items are matched by name; only the items listed, and of each
        only the fields given, are made to match; other items of the resource server stay as they are.
      - Every reference (a scope of a resource or permission, a resource or policy of a permission, a role or
        client of a policy) must be declared here or exist already; otherwise the task fails before any write.
    type: dict
    version_added: 2.0.0
    suboptions:
      scopes:
        description: Authorization scopes, by name (for example V(read)).
        type: list
        elements: str
      resources:
        description: Protected resources.
        type: list
        elements: dict
        suboptions:
          name:
            description: Unique name, for example V(urn:acme/payroll:invoices).
            type: str
            required: true
          display_name:
            description: Name shown in the console.
            type: str
          type:
            description: Resource type.
            type: str
          uris:
            description: URIs (paths) of the resource.
            type: list
            elements: str
          scopes:
            description: The scopes the resource offers (the full list).
            type: list
            elements: str
      policies:
        description: Who may be granted something.
        type: list
        elements: dict
        suboptions:
          name:
            description: Unique name among the policies and permissions.
            type: str
            required: true
          type:
            description: V(role) (holders of O(authorization.policies[].roles)) or V(client) (the clients in O(authorization.policies[].clients)).
            type: str
            required: true
          description:
            description: Description.
            type: str
          roles:
            description: Realm roles, or client roles as V(client-id/role), for a V(role) policy.
            type: list
            elements: str
          clients:
            description: Client ids for a V(client) policy.
            type: list
            elements: str
          logic:
            description: V(negative) inverts the policy's decision.
            type: str
            choices: [positive, negative]
      permissions:
        description: Scope permissions, granting scopes of resources to the holders of policies.
        type: list
        elements: dict
        suboptions:
          name:
            description: Unique name among the policies and permissions.
            type: str
            required: true
          description:
            description: Description.
            type: str
          resources:
            description: Resources the permission is about; without it, every resource with the scopes.
            type: list
            elements: str
          scopes:
            description: Scopes granted; each must be a scope of O(authorization.permissions[].resources).
            type: list
            elements: str
            required: true
          policies:
            description: Policies deciding who is granted the scopes.
            type: list
            elements: str
            required: true
          decision_strategy:
            description: How the policies combine (Keycloak's default is V(unanimous)).
            type: str
            choices: [unanimous, affirmative, consensus]
  service_account_realm_roles:
    description:
      - Realm roles granted to the service account. Roles it already holds and are not listed stay.
      - Needs O(service_accounts=true) or O(preset=service).
    type: list
    elements: str
  service_account_client_roles:
    description:
      - "Client roles granted to the service account, as a dict of client id to a list of role names,
        for example C({realm-management: [view-users]}). Roles not listed stay."
      - Needs O(service_accounts=true) or O(preset=service).
    type: dict
  return_secret:
    description:
      - Return the client secret in RV(secret) (and in each item of RV(clients)).
      - Run such a task with C(no_log=true) so the secret stays out of logs and output.
    type: bool
    default: false
notes:
  - Lookups use the exact C(clientId) query of the admin API; the module never lists all clients.
  - Needs the C(manage-clients) role of realm-management in the realm, and C(manage-users) to grant
    service-account roles.
  - Keycloak evaluates the permissions of O(authorization) for a token, for example with the UMA grant
    (C(grant_type=urn:ietf:params:oauth:grant-type:uma-ticket), C(audience=<client_id>), C(response_mode=permissions)).
seealso:
  - module: keycloak_ops.clients.public_client
"""

EXAMPLES = r"""
- name: A backend service using the client-credentials grant, with realm-management roles
  keycloak_ops.clients.confidential_client:
    auth_keycloak_url: https://sso.example.com
    auth_client_id: ansible
    auth_client_secret: "{{ vault_keycloak_ansible_secret }}"
    realm: apps
    client_id: mlflow-exporter
    preset: service
    default_client_scopes: [profile, email]
    service_account_client_roles:
      realm-management: [view-clients]

- name: The Flask web app of the console walkthrough (root URL, redirect, openid/email/profile)
  keycloak_ops.clients.confidential_client:
    realm: apps
    client_id: flask-app
    preset: web
    root_url: http://localhost:5000/
    redirect_uris: ["http://localhost:5000/*"]
    default_client_scopes: [openid, email, profile]

- name: Many clients in one task, one token; top-level options are defaults for every item
  keycloak_ops.clients.confidential_client:
    realm: apps
    preset: service
    clients:
      - billing-worker
      - client_id: open-metadata
        preset: web
        authorization_services: true
        redirect_uris: ["https://metadata.example.com/callback"]
        default_client_scopes: [openid, email, profile]

- name: A resource server with per-scope permissions (create, read, update, delete of invoices)
  keycloak_ops.clients.confidential_client:
    realm: apps
    client_id: urn:acme/payroll
    preset: service
    authorization:
      scopes: [create, read, update, delete]
      resources:
        - name: urn:acme/payroll:invoices
          uris: [/invoices/*]
          scopes: [create, read, update, delete]
      policies:
        - name: invoice-readers
          type: role
          roles: [payroll-reader]
        - name: billing-service
          type: client
          clients: [billing-worker]
      permissions:
        - name: read invoices
          resources: [urn:acme/payroll:invoices]
          scopes: [read]
          policies: [invoice-readers, billing-service]
          decision_strategy: affirmative
        - name: write invoices
          resources: [urn:acme/payroll:invoices]
          scopes: [create, update, delete]
          policies: [billing-service]

- name: Create and hand the secret on (never print it)
  keycloak_ops.clients.confidential_client:
    realm: apps
    client_id: report-job
    preset: service
    return_secret: true
  register: report_job
  no_log: true

- name: Remove a client
  keycloak_ops.clients.confidential_client:
    realm: apps
    client_id: legacy-app
    state: absent
"""

RETURN = r"""
client_id:
  description: The client id (single-client form).
  returned: when O(client_id) is given
  type: str
  sample: mlflow-exporter
id:
  description: Keycloak's internal id (UUID) of the client; null in check mode before creation.
  returned: when O(client_id) is given
  type: str
  sample: 0f4c8a6e-6d2a-4f2e-9a59-0c8b8f0f3b9e
realm:
  description: Realm of the client.
  returned: when O(client_id) is given
  type: str
  sample: apps
state:
  description: V(present) or V(absent) after the task.
  returned: when O(client_id) is given
  type: str
  sample: present
end_state:
  description:
    - The managed fields of the client after the task, secrets masked.
    - With O(authorization), its declared items as C(authorization.<kind>.<name>), kind being
      C(scopes), C(resources), C(policies) or C(permissions).
  returned: when O(client_id) is given and O(state=present)
  type: dict
  sample: {"clientId": "mlflow-exporter", "publicClient": false, "serviceAccountsEnabled": true}
grants:
  description: OAuth grants the client can use after the task.
  returned: when O(client_id) is given and O(state=present)
  type: list
  elements: str
  sample: [client_credentials]
secret:
  description: The client secret. Only with O(return_secret=true); use C(no_log=true).
  returned: when O(return_secret=true), O(state=present) and not in check mode
  type: str
  sample: 9nYb2XsUqVbD0yV1d0mL6d8kJ3oQ7qTz
clients:
  description: One result per client, in the order given, each with C(client_id), C(realm), C(id), C(changed),
    C(state), C(end_state), C(grants) and (with O(return_secret=true)) C(secret).
  returned: always
  type: list
  elements: dict
  sample: [{"client_id": "billing-worker", "realm": "apps", "id": "5d1c...", "changed": true, "state": "present"}]
"""

from ansible_collections.keycloak_ops.clients.plugins.module_utils._client_module import run_client_module
from ansible_collections.keycloak_ops.clients.plugins.module_utils._client_options import CONFIDENTIAL_OPTIONS
from ansible_collections.keycloak_ops.clients.plugins.module_utils._module import KeycloakModule


def main():
    module = KeycloakModule(dict(return_secret=dict(type='bool', default=False)), item_options=CONFIDENTIAL_OPTIONS)
    run_client_module(module, 'confidential')


if __name__ == '__main__':
    main()
