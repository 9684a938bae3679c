"""The raw-API floor of the provisioning benchmark: the fewest requests for the end state our module makes.

One Python process, one token, one requests.Session. For each client: GET by clientId and, only if it is
absent, one POST. Like keycloak_ops.clients.confidential_client (client_scopes_exclusive: false), a new client
gets the realm's default OpenID Connect scopes plus the ones asked for, so the realm's two default scope lists
are read once per run (only when something has to be created).

With --parallel W (the parallel floor): the fewest requests a hand-written client needs, W in flight: the realm's
clients listed in pages of 300 (brief representations: only the clientIds are needed) instead of a query per
client, then the POSTs of the absent ones, W at a time.

    python bench/floor.py --url URL --realm REALM --prefix bench- --count 200 --scopes profile,email [--parallel 4]

Admin credentials come from KEYCLOAK_USER / KEYCLOAK_PASSWORD / KEYCLOAK_REALM (master realm by default).
Prints one JSON line: {"created": n, "present": n}.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor

import requests

# Refresh a little before Keycloak's default 60 s admin token lifespan runs out, as python-keycloak does.
TOKEN_MARGIN = 10


class Admin:
    def __init__(self, url: str):
        self.url = url.rstrip('/')
        self.session = requests.Session()
        self.session.trust_env = False  # loopback: never through an $http_proxy
        self.expires = 0.0
        self.lock = threading.Lock()

    def _token(self) -> None:
        realm = os.environ.get('KEYCLOAK_REALM') or 'master'
        form = {'grant_type': 'password', 'client_id': 'admin-cli',
                'username': os.environ['KEYCLOAK_USER'], 'password': os.environ['KEYCLOAK_PASSWORD']}
        started = time.monotonic()
        response = self.session.post(f'{self.url}/realms/{realm}/protocol/openid-connect/token', data=form, timeout=30)
        response.raise_for_status()
        token = response.json()
        self.session.headers['Authorization'] = 'Bearer ' + token['access_token']
        self.expires = started + token.get('expires_in', 60) - TOKEN_MARGIN

    def request(self, method: str, path: str, **kwargs) -> requests.Response:
        with self.lock:
            if time.monotonic() >= self.expires:
                self._token()
        response = self.session.request(method, f'{self.url}/admin/realms/{path}', timeout=30, **kwargs)
        if response.status_code >= 400:
            sys.exit(f'{method} {path}: HTTP {response.status_code} {response.text[:200]}')
        return response


def scope_names(admin: Admin, realm: str, kind: str) -> set[str]:
    found = admin.request('GET', f'{realm}/default-{kind}-client-scopes').json()
    return {s['name'] for s in found if s.get('protocol', 'openid-connect') == 'openid-connect'}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n', 1)[0])
    parser.add_argument('--url', required=True)
    parser.add_argument('--realm', required=True)
    parser.add_argument('--prefix', required=True)
    parser.add_argument('--count', type=int, required=True)
    parser.add_argument('--scopes', default='profile,email', help='default client scopes, comma-separated')
    parser.add_argument('--parallel', type=int, default=0,
                        help='the parallel floor: list the realm once, then this many POSTs in flight')
    args = parser.parse_args(argv)
    if args.parallel:
        return parallel(args)

    admin = Admin(args.url)
    realm = urllib.parse.quote(args.realm, safe='')
    wanted = [s for s in args.scopes.split(',') if s]
    lists = None
    created = present = 0
    for index in range(args.count):
        client_id = f'{args.prefix}{index:04d}'
        found = admin.request('GET', f'{realm}/clients', params={'clientId': client_id}).json()
        if any(c.get('clientId') == client_id for c in found):
            present += 1
            continue
        if lists is None:
            default = scope_names(admin, realm, 'default') | set(wanted)
            optional = scope_names(admin, realm, 'optional') - set(wanted)
            lists = {'defaultClientScopes': sorted(default), 'optionalClientScopes': sorted(optional)}
        body = dict(clientId=client_id, protocol='openid-connect', publicClient=False,
                    clientAuthenticatorType='client-secret', serviceAccountsEnabled=True,
                    standardFlowEnabled=False, directAccessGrantsEnabled=False, **lists)
        admin.request('POST', f'{realm}/clients', json=body)
        created += 1
    print(json.dumps({'created': created, 'present': present}))
    return 0


def parallel(args) -> int:
    admin = Admin(args.url)
    realm = urllib.parse.quote(args.realm, safe='')
    wanted = [s for s in args.scopes.split(',') if s]
    existing: set[str] = set()
    first = 0
    while True:
        query = {'first': first, 'max': 300, 'briefRepresentation': 'true'}
        page = admin.request('GET', f'{realm}/clients', params=query).json()
        existing.update(c.get('clientId') for c in page)
        if len(page) < 300:
            break
        first += 300
    absent = [f'{args.prefix}{i:04d}' for i in range(args.count) if f'{args.prefix}{i:04d}' not in existing]
    if absent:
        default = scope_names(admin, realm, 'default') | set(wanted)
        optional = scope_names(admin, realm, 'optional') - set(wanted)
        lists = {'defaultClientScopes': sorted(default), 'optionalClientScopes': sorted(optional)}

        def create(client_id: str) -> None:
            admin.request('POST', f'{realm}/clients', json=dict(
                clientId=client_id, protocol='openid-connect', publicClient=False,
                clientAuthenticatorType='client-secret', serviceAccountsEnabled=True, standardFlowEnabled=False,
                directAccessGrantsEnabled=False, **lists))
        with ThreadPoolExecutor(args.parallel) as pool:
            list(pool.map(create, absent))
    print(json.dumps({'created': len(absent), 'present': args.count - len(absent)}))
    return 0


if __name__ == '__main__':
    sys.exit(main())
