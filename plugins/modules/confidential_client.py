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
      - The client's resource server (the console's Authorization tab) with its settings, scopes, resources, policies
        and permissions, for example permissions per scope such as create, read, update and delete of a resource.
      - Turns O(authorization_services) on. Items are matched by name; of each item only the fields given are made
        to match. Other items of the resource server stay as they are, unless O(authorization.exclusive) says
        otherwise or an item is declared with O(authorization.policies[].state=absent) (and likewise for the other
        lists).
      - Every reference (a scope of a resource or permission, a resource or policy of a permission, a role,
        client, group or user of a policy, a policy of an aggregate) must be declared here or exist already, and
        aggregate policies must not form a cycle; otherwise the task fails with one line before any write.
      - Removals come after every create and update, permissions first, then policies (an aggregate before the
        policies it combines), resources and scopes. An item that stays may not name an item that goes (Keycloak
        would drop the reference silently, or delete a permission left with no policy); the task fails instead.
      - Check mode needs the same roles of realm-management (in the notes), as Keycloak shows a resource server's
        items only to those.
    type: dict
    version_added: 2.0.0
    suboptions:
      exclusive:
        description:
          - V(true) removes every item of the resource server that is not declared, of all four lists; a list of
            V(scopes), V(resources), V(policies) and V(permissions) does so for those lists only.
          - The declaration is then the whole truth, Keycloak's own items included (a C(Default Resource),
            C(Default Policy) or C(Default Permission) that an older server or the console made goes too, unless
            declared). Keycloak 26 gives a new resource server no items of its own through the admin API.
          - The diff (C(--diff)) names every item that goes, with its fields before.
          - Default V(false).
        type: raw
      policy_enforcement_mode:
        description:
          - How the resource server enforces its permissions (Keycloak's default is V(enforcing)). V(permissive)
            grants requests no permission covers, V(disabled) grants every request.
        type: str
        choices: [enforcing, permissive, disabled]
      decision_strategy:
        description:
          - How the permissions of one resource or scope combine into a decision (Keycloak's default is
            V(unanimous), all must grant; V(affirmative), one suffices; V(consensus), more grants than denials).
        type: str
        choices: [unanimous, affirmative, consensus]
      scopes:
        description:
          - Authorization scopes, each a name (for example V(read)) or a dict with C(name) and C(state)
            (V(present) or V(absent)).
        type: list
        elements: raw
      resources:
        description: Protected resources.
        type: list
        elements: dict
        suboptions:
          name:
            description: Unique name, for example V(urn:acme/payroll:invoices).
            type: str
            required: true
          state:
            description: V(absent) removes the resource; its other options are then ignored. Default V(present).
            type: str
            choices: [present, absent]
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
          state:
            description:
              - V(absent) removes the policy; its other options are then ignored. Default V(present).
              - Keycloak cannot change a policy's type; remove a policy to declare another type under its name.
            type: str
            choices: [present, absent]
          type:
            description:
              - V(role) (holders of O(authorization.policies[].roles)), V(client) (the clients in
                O(authorization.policies[].clients)), V(group) (members of O(authorization.policies[].groups)),
                V(user) (the users in O(authorization.policies[].users)), V(aggregate) (a decision over the policies
                in O(authorization.policies[].policies)) or V(time) (a window of time).
              - Each type takes only its own options. Required unless O(authorization.policies[].state=absent).
            type: str
          description:
            description: Description.
            type: str
          logic:
            description: V(negative) inverts the policy's decision.
            type: str
            choices: [positive, negative]
          roles:
            description: Realm roles, or client roles as V(client-id/role), for a V(role) policy.
            type: list
            elements: str
          clients:
            description:
              - Client ids for a V(client) policy.
              - The way to grant to a service account (a client calling with the client-credentials grant).
            type: list
            elements: str
          groups:
            description: Groups by path (V(/staff/payroll)) for a V(group) policy.
            type: list
            elements: str
          extend_children:
            description:
              - For a V(group) policy, members of the groups' subgroups count too. Default V(false).
            type: bool
          users:
            description:
              - Usernames for a V(user) policy.
              - Keycloak matches these against users who log in, not against service accounts (measured on Keycloak
                26.7, the UMA grant of a service account is not matched); name a service account's client in a
                V(client) policy instead.
            type: list
            elements: str
          policies:
            description: For an V(aggregate) policy, the policies it combines (not permissions).
            type: list
            elements: str
          decision_strategy:
            description: For an V(aggregate) policy, how its policies combine (Keycloak's default is V(unanimous)).
            type: str
            choices: [unanimous, affirmative, consensus]
          not_before:
            description:
              - For a V(time) policy, the start of the window, as V(YYYY-MM-DD HH:MM:SS) in the server's time zone.
              - A V(time) policy declares its whole window; conditions not given are removed.
            type: str
          not_on_or_after:
            description: For a V(time) policy, the end of the window (excluded), as V(YYYY-MM-DD HH:MM:SS).
            type: str
          day_of_month:
            description: For a V(time) policy, the day of the month (1 to 31), or the first day of a range with O(authorization.policies[].day_of_month_end).
            type: int
          day_of_month_end:
            description: The last day of the month of the range (included).
            type: int
          month:
            description: For a V(time) policy, the month (1 to 12), or the first of a range with O(authorization.policies[].month_end).
            type: int
          month_end:
            description: The last month of the range (included).
            type: int
          year:
            description: For a V(time) policy, the year, or the first of a range with O(authorization.policies[].year_end).
            type: int
          year_end:
            description: The last year of the range (included).
            type: int
          hour:
            description: For a V(time) policy, the hour (0 to 23), or the first of a range with O(authorization.policies[].hour_end).
            type: int
          hour_end:
            description: The last hour of the range (included, so V(8) to V(17) ends at 17:59).
            type: int
          minute:
            description: For a V(time) policy, the minute (0 to 59), or the first of a range with O(authorization.policies[].minute_end).
            type: int
          minute_end:
            description: The last minute of the range (included).
            type: int
      permissions:
        description:
          - Permissions, granting resources, or scopes of resources, to whom their policies decide.
        type: list
        elements: dict
        suboptions:
          name:
            description: Unique name among the policies and permissions.
            type: str
            required: true
          state:
            description: V(absent) removes the permission; its other options are then ignored. Default V(present).
            type: str
            choices: [present, absent]
          type:
            description:
              - V(scope) grants O(authorization.permissions[].scopes) (of the resources, if given); V(resource)
                grants whole resources (O(authorization.permissions[].resources), or every resource of
                O(authorization.permissions[].resource_type)). Default V(scope).
            type: str
            choices: [scope, resource]
          description:
            description: Description.
            type: str
          resources:
            description: Resources the permission is about; for a V(scope) permission without it, every resource with the scopes.
            type: list
            elements: str
          resource_type:
            description: For a V(resource) permission, every resource of this type.
            type: str
          scopes:
            description:
              - Scopes granted by a V(scope) permission (required for it); each must be a scope of
                O(authorization.permissions[].resources).
            type: list
            elements: str
          policies:
            description: Policies deciding who is granted it. Required unless O(authorization.permissions[].state=absent).
            type: list
            elements: str
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
  planned_clients:
    description:
      - Clients that an earlier task of the same check-mode run would create or delete, so that this task's check
        mode plans authorization policies naming them instead of failing on a client that does not exist yet (or
        passing on one that the earlier task deletes).
      - Each item is a client ID in O(realm), or a dict with C(client_id) and optionally C(realm) and C(state),
        such as the items of O(keycloak_ops.clients.public_client#module:clients).
      - Used in check mode only; outside it every client named must exist. The provision role passes its public
        clients here, as it writes them before the confidential ones.
      - A task-level option, not an option of an item of O(clients).
    type: list
    elements: raw
    version_added: 2.1.0
notes:
  - Clients are found with the exact C(clientId) query of the admin API, or, when a task names many clients of a
    small realm, with the realm's paged listing, whichever costs fewer requests.
  - Roles of realm-management it needs in the realm (measured on Keycloak; docs/least-privilege.yml in the collection)
    are, for clients, their secrets, client scopes (and the realm's default client scopes), initial access tokens and
    registration access tokens, C(manage-clients); for realm roles granted to service accounts
    (C(service_account_realm_roles)), C(manage-clients), C(manage-users) and C(view-realm); for roles of other clients
    granted to service accounts (C(service_account_client_roles)), C(manage-clients) and C(manage-users); for roles of
    realm-management itself granted to service accounts (C(service_account_client_roles)), C(manage-clients) and
    C(manage-users), and each realm-management role it grants (or C(realm-admin), which holds them all); for a
    client's authorization services, its scopes, resources, client policies and permissions (C(authorization)),
    C(manage-clients) (or C(manage-authorization) and C(view-clients)); for role policies of authorization services,
    C(manage-clients) and C(view-realm); for group and user policies of authorization services, C(manage-clients) and
    C(view-users).
  - Keycloak evaluates the permissions of O(authorization) for a token, for example with the UMA grant
    (C(grant_type=urn:ietf:params:oauth:grant-type:uma-ticket), C(audience=<client_id>), C(response_mode=permissions)).
seealso:
  - module: keycloak_ops.clients.public_client
"""

EXAMPLES = r"""
- name: A backend service using the client-credentials grant, with realm-management roles
  keycloak_ops.clients.confidential_client:
    auth_keycloak_url: https://sso.example.com
    auth_realm: apps
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

- name: The whole truth of a resource server (undeclared items go), with group, aggregate and time policies
  keycloak_ops.clients.confidential_client:
    realm: apps
    client_id: urn:acme/hr
    preset: service
    authorization:
      exclusive: true
      policy_enforcement_mode: enforcing
      decision_strategy: affirmative
      scopes: [view, edit]
      resources:
        - name: urn:acme/hr:payslips
          scopes: [view, edit]
        - name: urn:acme/hr:handbook
      policies:
        - name: staff
          type: group
          groups: [/staff]
          extend_children: true
        - name: carol
          type: user
          users: [carol]
        - name: staff and carol
          type: aggregate
          policies: [staff, carol]
          decision_strategy: unanimous
        - name: office hours
          type: time
          hour: 8
          hour_end: 17
      permissions:
        - name: view payslips
          resources: [urn:acme/hr:payslips]
          scopes: [view]
          policies: [staff]
        - name: edit payslips
          resources: [urn:acme/hr:payslips]
          scopes: [edit]
          policies: [staff and carol]
        - name: handbook
          type: resource
          resources: [urn:acme/hr:handbook]
          policies: [office hours]

- name: Remove single items of a resource server (a permission that stays first stops naming the policy that goes)
  keycloak_ops.clients.confidential_client:
    realm: apps
    client_id: urn:acme/payroll
    preset: service
    authorization:
      permissions:
        - name: read invoices
          resources: [urn:acme/payroll:invoices]
          scopes: [read]
          policies: [invoice-readers]
        - name: write invoices
          state: absent
      policies:
        - name: billing-service
          state: absent

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
stands:
  description:
    - After a failure, the writes of the task that stand, in the order they were sent; each one that cannot be
      undone says why, for example "deleted client a (cannot be undone)". Empty when the realm is as before the task.
  returned: on failure, once every item passed the checks that need no request
  type: list
  elements: str
  sample: ["deleted client legacy-app (cannot be undone)"]
may_stand:
  description: After Keycloak stopped answering, the writes whose answer was lost, which Keycloak may have made.
  returned: on failure because Keycloak stopped answering
  type: list
  elements: str
  sample: ["created client billing-worker"]
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
      C(scopes), C(resources), C(policies) or C(permissions), and the declared settings of the resource server
      as C(authorization.settings). Items that go are missing (the diff shows them before).
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
  description:
    - The client secret. Only with O(return_secret=true); use C(no_log=true).
    - In check mode, the secret of a client that exists already and stays confidential (read, nothing is written);
      a client the task would create, or convert from public, has no secret yet and returns none.
  returned: when O(return_secret=true) and O(state=present); in check mode only for a client that exists and stays
    confidential
  type: str
  sample: 9nYb2XsUqVbD0yV1d0mL6d8kJ3oQ7qTz
secret_readable:
  description:
    - Whether reading the client's secret now (M(keycloak_ops.clients.client_secret_info)) gives the secret it has
      after the task. False in check mode for a client that would be created, made confidential or given a new
      secret.
    - The provision role reads the secrets of these clients in a task of its own, so that this task returns no secret
      and shows its diff.
  returned: when O(client_id) is given and O(state=present)
  type: bool
  sample: true
  version_added: 2.1.0
clients:
  description: One result per client, in the order given, each with C(client_id), C(realm), C(id), C(changed),
    C(state), C(end_state), C(grants), C(secret_readable) and (with O(return_secret=true)) C(secret).
  returned: always
  type: list
  elements: dict
  sample: [{"client_id": "billing-worker", "realm": "apps", "id": "5d1c...", "changed": true, "state": "present"}]
"""

from ansible_collections.keycloak_ops.clients.plugins.module_utils._clients.run import run_client_module
from ansible_collections.keycloak_ops.clients.plugins.module_utils._clients.options import (
    CONFIDENTIAL_OPTIONS, PLANNED_CLIENTS, PLANNED_SCOPES,
)
from ansible_collections.keycloak_ops.clients.plugins.module_utils._core.module import KeycloakModule


def main():
    task_options: dict = dict(PLANNED_SCOPES, **PLANNED_CLIENTS)
    task_options['return_secret'] = dict(type='bool', default=False)
    module = KeycloakModule(task_options, item_options=CONFIDENTIAL_OPTIONS)
    run_client_module(module, 'confidential')


if __name__ == '__main__':
    main()
