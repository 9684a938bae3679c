# -*- coding: utf-8 -*-
# Copyright: keycloak_ops contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Internal to keycloak_ops.clients: no stability promise. Modules and plugins of other collections
# must not import it; its names and signatures change whenever the collection needs them to.
"""Why the Client Registration Service refused a request, in one line a person can act on: a used-up, revoked,
expired or foreign initial access token, a stale registration access token, a registration policy, a taken client id.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
import time

from ansible_collections.keycloak_ops.clients.plugins.module_utils._core.durations import iso_time
from ansible_collections.keycloak_ops.clients.plugins.module_utils._core.errors import OneLineError
from ansible_collections.keycloak_ops.clients.plugins.module_utils._core.http_errors import one_line
from ansible_collections.keycloak_ops.clients.plugins.module_utils._core.tokens import fingerprint, token_claims

# Statuses the service answers refusals with; each is turned into its own one-line message.
REFUSALS = (400, 401, 403, 404)
POLICY_REFUSAL = re.compile(r"Policy '([^']*)' rejected request to client-registration service\.?"
                            r"(?:\s*Details:\s*(.*))?")
POLICY_ADVICE = {
    'Trusted Hosts': "the request's host (or a host in its redirect URIs) is not trusted; register with an "
                     "initial access token, or an admin adds the host to the policy",
    'Max Clients Limit': "the realm already has as many clients as the policy allows; an admin raises the limit "
                         "or removes unused clients",
    'Allowed Client Scopes': "a requested client scope is not allowed; request only the realm's default scopes "
                             "(scope, defaultClientScopes, optionalClientScopes), or an admin allows it in the policy",
    'Allowed Protocol Mapper Types': "a protocol mapper type is not allowed; drop the mapper from metadata, or an "
                                     "admin allows its type in the policy",
}


class RegistrationError(OneLineError):
    """A failure already phrased as the one line to show."""


class StaleToken(RegistrationError):
    """The registration access token was refused: rotated, regenerated, or its client deleted."""


def iat_refusal(description, token, realm, now=None):
    """Why an initial access token was refused, and what to do about it."""
    name = "The initial access token (fingerprint %s)" % fingerprint(token)
    mint = "mint a new one with keycloak_ops.clients.initial_access_token"
    if 'No remaining count' in description:
        return "%s is used up: it allowed no more registrations; %s (count: the number of hosts still to register)" % (
            name, mint)
    if 'not found' in description.lower():
        return "%s was revoked (or removed by Keycloak after it expired); %s" % (name, mint)
    claims = token_claims(token)
    now = time.time() if now is None else now
    issuer = str(claims.get('iss') or '')
    if claims.get('typ') and claims['typ'] != 'InitialAccessToken':
        return "%s is not an initial access token but a %s; give the value returned by initial_access_token" % (
            name, claims['typ'])
    if claims.get('exp') and claims['exp'] <= now:
        return "%s expired at %s (%d seconds ago); %s with a longer expiration" % (
            name, iso_time(claims['exp']), now - claims['exp'], mint)
    if issuer and not issuer.rstrip('/').endswith('/realms/' + realm):
        return "%s was minted for realm '%s', not realm '%s'; mint one in realm '%s'" % (
            name, issuer.rstrip('/').rsplit('/', 1)[-1], realm, realm)
    return ("%s was refused by Keycloak (%s): it is not a token of this server and realm, or the realm keys "
            "changed; %s" % (name, description or 'invalid_token', mint))


def rat_refusal(description, client_id, where):
    if 'initial access token' in description.lower():
        return ("The registration access token %s is an initial access token, which can only create clients; "
                "give the client's registration access token" % where)
    return ("The registration access token %s is no longer valid for client '%s' (%s): a later update rotated it, "
            "an admin regenerated it, or the client was deleted. Ask an admin for a new one (console: Clients > %s "
            "> Credentials > Registration access token > Regenerate) and pass it as registration_access_token, "
            "or remove the credentials file to register anew with an initial access token"
            % (where, client_id, description or 'invalid_token', client_id))


def policy_refusal(description):
    found = POLICY_REFUSAL.search(description)
    policy, details = (found.group(1), (found.group(2) or '').strip().rstrip('.')) if found else ('?', description)
    advice = POLICY_ADVICE.get(policy, "an admin can change the policy")
    return ("Registration refused by the realm's client registration policy '%s' (%s): %s "
            "(console: Clients > Client registration > Authenticated access policies)" % (policy, details, advice))


def refusal_message(status, body, kind, realm, base_url, token=None, client_id=None, where=None):
    """One line for a refusal of the Client Registration Service.

    kind is 'create' (with an initial access token) or 'read'/'update'/'delete'/'install' (with a registration
    access token). Keycloak's own texts tell the cases apart where the status does not.
    """
    data = body if isinstance(body, dict) else {}
    description = str(data.get('error_description') or data.get('error') or (body if isinstance(body, str) else ''))
    description = one_line(description, 200)
    if status == 401:
        if kind == 'create':
            return iat_refusal(description, token, realm)
        return rat_refusal(description, client_id, where)
    if status == 403 and (data.get('error') == 'insufficient_scope' or 'Policy' in description):
        return policy_refusal(description)
    if status == 403:
        return "Keycloak forbade the registration %s of client '%s' (HTTP 403: %s)" % (kind, client_id, description)
    if status == 404 and 'realm' in description.lower():
        return "Realm '%s' does not exist on %s" % (realm, base_url)
    if status == 400 and 'in use' in description:
        return ("client_id '%s' is already taken in realm '%s' (perhaps registered by an earlier run whose credentials "
                "file was lost): choose another client_id, or get its registration access token from an admin and "
                "pass it as registration_access_token" % (client_id, realm))
    if status == 400:
        return "Keycloak refused the client metadata (HTTP 400 %s): fix metadata" % (description,)
    return ("Keycloak answered HTTP %s to the registration %s of client '%s': %s"
            % (status, kind, client_id, description))
