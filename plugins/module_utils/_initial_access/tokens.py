# -*- coding: utf-8 -*-
# Copyright: keycloak_ops contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Internal to keycloak_ops.clients: no stability promise. Modules and plugins of other collections
# must not import it; its names and signatures change whenever the collection needs them to.
"""Initial access tokens (clients-initial-access) through the admin API: list, create and revoke, and the summary
of a token that may be shown (never its value). The run of initial_access_token is in _initial_access/run.py."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible_collections.keycloak_ops.clients.plugins.module_utils._core.connection import admin_path
from ansible_collections.keycloak_ops.clients.plugins.module_utils._core.errors import KeycloakOpsError
from ansible_collections.keycloak_ops.clients.plugins.module_utils._core.durations import iso_time


def summary(rep, now=None):
    """What may be shown of a token: never its value (Keycloak only has it at creation anyway)."""
    now = time.time() if now is None else now
    timestamp, expiration = rep.get('timestamp') or 0, rep.get('expiration') or 0
    # Keycloak treats expiration 0 as "never expires"; expiry is judged with the local clock.
    expires = timestamp + expiration if expiration else None
    remaining = rep.get('remainingCount')
    return dict(
        id=rep.get('id'),
        timestamp=timestamp,
        created_at=iso_time(timestamp),
        expiration=expiration,
        expires_at=iso_time(expires),
        expired=bool(expires is not None and expires <= now),
        count=rep.get('count'),
        remaining=remaining,
        used_up=remaining is not None and remaining <= 0,
    )


def to_revoke(tokens, ids=None, expired=False, used_up=False):
    """The summaries (of tokens) chosen by id, by expiry or by being used up; unknown ids are simply absent."""
    wanted = set(ids or ())
    return [t for t in tokens if t['id'] in wanted or (expired and t['expired']) or (used_up and t['used_up'])]


class InitialAccessTokens(object):
    """clients-initial-access of one realm through the admin API."""

    def __init__(self, api, realm):
        self.api = api
        self.realm = realm

    def list(self):
        return [summary(rep) for rep in self.api.get(admin_path(self.realm, 'clients-initial-access')) or []]

    def create(self, count, expiration):
        """The created token's summary plus its value. Keycloak answers 200 up to 26.6 and 201 from 26.7."""
        body = self.api.post(admin_path(self.realm, 'clients-initial-access'),
                             body={'count': count, 'expiration': expiration}, expected=(200, 201),
                             check_hint="list the tokens (initial_access_token without state) and revoke one created "
                                        "now, as its value cannot be read again, before minting another")[1]
        if not isinstance(body, dict) or not body.get('token'):
            raise KeycloakOpsError("Keycloak created an initial access token in realm '%s' but returned no value: "
                                   "revoke it (it cannot be read later) and try again" % self.realm)
        return dict(summary(body), token=body['token'])

    def revoke(self, token_id):
        return self.api.delete(admin_path(self.realm, 'clients-initial-access', token_id))
