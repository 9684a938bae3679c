"""The benchmark driver's own Keycloak admin calls: realms per measurement and result checks, sent directly (not through the counting proxy)."""

from __future__ import annotations

import time

import requests

from tests.harness.keycloak_server import KeycloakServer

from .common import CLIENT_PREFIX, SCOPES, log


class DirectAdmin:
    def __init__(self, server: KeycloakServer):
        self.server = server
        self.session = requests.Session()
        self.session.trust_env = False
        self.session.verify = server.ca_path or True
        self.expires = 0.0

    def request(self, method: str, path: str, **kwargs):
        if time.monotonic() >= self.expires:
            started = time.monotonic()
            form = {'grant_type': 'password', 'client_id': 'admin-cli',
                    'username': self.server.admin_user, 'password': self.server.admin_password}
            resp = self.session.post(f'{self.server.url}/realms/{self.server.admin_realm}/protocol/openid-connect/token',
                                     data=form, timeout=60)
            resp.raise_for_status()
            self.session.headers['Authorization'] = 'Bearer ' + resp.json()['access_token']
            self.expires = started + resp.json().get('expires_in', 60) - 15
        resp = self.session.request(method, f'{self.server.url}/admin/{path}', timeout=300, **kwargs)
        resp.raise_for_status()
        return resp.json() if resp.content else None

    def create_realm(self, realm: str) -> None:
        self.request('POST', 'realms', json={'realm': realm, 'enabled': True})

    def delete_realm(self, realm: str) -> None:
        try:
            self.request('DELETE', f'realms/{realm}')
        except requests.RequestException as exc:
            log(f'could not delete realm {realm}: {exc}')

    def serverinfo(self) -> dict:
        try:
            return self.request('GET', 'serverinfo').get('systemInfo', {})
        except (requests.RequestException, AttributeError):
            return {}

    def check_clients(self, realm: str, count: int) -> str | None:
        """None if the realm holds exactly the clients the benchmark asked for, else what is wrong."""
        found, first = [], 0
        while True:  # pages of 300: Keycloak answers a big page in more than linear time
            page = self.request('GET', f'realms/{realm}/clients', params={'first': first, 'max': 300})
            found += [c for c in page if c['clientId'].startswith(CLIENT_PREFIX)]
            if len(page) < 300:
                break
            first += 300
        if len(found) != count:
            return f'{len(found)} clients in {realm}, expected {count}'
        for client in found:
            if client.get('publicClient') or not client.get('serviceAccountsEnabled') or client.get('standardFlowEnabled'):
                return f"client {client['clientId']} is not a service-account-only confidential client"
            if not set(SCOPES) <= set(client.get('defaultClientScopes') or []):
                return f"client {client['clientId']} lacks default scopes {SCOPES}: {client.get('defaultClientScopes')}"
        return None
