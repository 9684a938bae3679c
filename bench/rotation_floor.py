"""The raw-API floor of a rotation: the fewest requests a hand-written script needs for what the rotate role does.

One Python process, one admin token, one requests.Session, four requests in flight:

1. the realm's clients, listed in pages of 100 side by side (ids, secrets' creation times, the policy attribute);
2. the realm's client profiles and policies, written when the secret-rotation profile and policy are missing;
3. per due client: the policy attribute set when missing (a PUT), the secret regenerated (a POST);
4. per rotated client: its credentials file written (owner-only) and a client-credentials token asked for with the
   new secret;
5. per rotated client: the rotated secret retired (a DELETE).

No read back after a write, no per-client read: the floor trusts Keycloak's answers. With --max-age a client whose
secret is younger is left alone (a run with nothing due: the listing and the policy reads only).

    python bench/rotation_floor.py --url URL --realm REALM --prefix bench-client- --count 200 --files DIR \\
        [--grace 600] [--max-age 86400] [--hosts 2]

Admin credentials come from KEYCLOAK_USER / KEYCLOAK_PASSWORD / KEYCLOAK_REALM (master realm by default). Prints one
JSON line: {"rotated": n, "not_due": n, "tokens_ok": n, "seconds": {phase: wall time}}.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

from floor import Admin  # bench/floor.py: the same token handling as the provisioning floor

WORKERS = 4
PAGE = 100
NAME = 'keycloak-ops-secret-rotation'
ATTRIBUTE = 'keycloak-ops.secret-rotation-policy'
EXPIRATION = 365 * 86400


def listing(admin: Admin, realm: str) -> list[dict]:
    clients: list[dict] = []
    first = 0
    with ThreadPoolExecutor(WORKERS) as pool:
        while True:
            starts = [first + i * PAGE for i in range(WORKERS)]
            pages = list(pool.map(lambda start: admin.request('GET', f'{realm}/clients', params={
                'first': start, 'max': PAGE}).json(), starts))
            for page in pages:
                clients += page
            if any(len(page) < PAGE for page in pages):
                return clients
            first += WORKERS * PAGE


def ensure_policy(admin: Admin, realm: str, grace: int) -> None:
    profiles = admin.request('GET', f'{realm}/client-policies/profiles').json().get('profiles') or []
    policies = admin.request('GET', f'{realm}/client-policies/policies').json().get('policies') or []
    if not any(p.get('name') == NAME for p in profiles):
        profiles.append({'name': NAME, 'executors': [{'executor': 'secret-rotation', 'configuration': {
            'expiration-period': str(EXPIRATION), 'rotated-expiration-period': str(grace),
            'remaining-rotation-period': str(10 * 86400)}}]})
        admin.request('PUT', f'{realm}/client-policies/profiles', json={'profiles': profiles})
    if not any(p.get('name') == NAME for p in policies):
        policies.append({'name': NAME, 'enabled': True, 'profiles': [NAME], 'conditions': [
            {'condition': 'client-attributes', 'configuration': {
                'is-negative-logic': False, 'attributes': json.dumps([{'key': ATTRIBUTE, 'value': NAME}])}}]})
        admin.request('PUT', f'{realm}/client-policies/policies', json={'policies': policies})


def write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temporary = path.with_name(f'.{path.name}.tmp')
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, 'w') as stream:
        stream.write(text)
        stream.flush()
        os.fsync(stream.fileno())
    os.replace(temporary, path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n', 1)[0])
    parser.add_argument('--url', required=True)
    parser.add_argument('--realm', required=True)
    parser.add_argument('--prefix', required=True)
    parser.add_argument('--count', type=int, required=True)
    parser.add_argument('--files', required=True, help='directory of the credentials files (host<i>/<client>.env)')
    parser.add_argument('--hosts', type=int, default=2)
    parser.add_argument('--grace', type=int, default=600, help='seconds the previous secret stays valid')
    parser.add_argument('--max-age', type=int, default=0, help='rotate only secrets at least this many seconds old')
    args = parser.parse_args(argv)
    started = time.monotonic()
    phases = {}

    def mark(phase: str) -> None:
        phases[phase] = round(time.monotonic() - started - sum(phases.values()), 2)

    admin = Admin(args.url)
    realm = urllib.parse.quote(args.realm, safe='')
    names = [f'{args.prefix}{index:04d}' for index in range(args.count)]
    wanted = set(names)
    clients = {c['clientId']: c for c in listing(admin, realm) if c.get('clientId') in wanted}
    now = time.time()
    due = [clients[n] for n in names
           if now - int((clients[n].get('attributes') or {}).get('client.secret.creation.time') or 0) >= args.max_age]
    mark('listing')
    ensure_policy(admin, realm, args.grace)
    mark('policy')
    if not due:
        print(json.dumps({'rotated': 0, 'not_due': len(names), 'tokens_ok': 0, 'seconds': phases}))
        return 0

    def rotate(client: dict) -> str:
        if (client.get('attributes') or {}).get(ATTRIBUTE) != NAME:
            admin.request('PUT', f'{realm}/clients/{client["id"]}',
                          json={'clientId': client['clientId'], 'attributes': {ATTRIBUTE: NAME}})
        return admin.request('POST', f'{realm}/clients/{client["id"]}/client-secret').json()['value']

    tokens = requests.Session()
    tokens.trust_env = False
    token_url = f'{args.url.rstrip("/")}/realms/{realm}/protocol/openid-connect/token'
    host_of = {name: index % args.hosts for index, name in enumerate(names)}

    def deliver_and_check(pair: tuple[dict, str]) -> bool:
        client, secret = pair
        write_private(Path(args.files) / f'host{host_of[client["clientId"]]}' / f'{client["clientId"]}.env',
                      f'OIDC_CLIENT_ID={client["clientId"]}\nOIDC_CLIENT_SECRET={secret}\nOIDC_TOKEN_URL={token_url}\n')
        answer = tokens.post(token_url, data={'grant_type': 'client_credentials'}, auth=(client['clientId'], secret),
                             timeout=30)
        return answer.status_code == 200

    with ThreadPoolExecutor(WORKERS) as pool:
        new = list(pool.map(rotate, due))
        mark('attribute and regenerate')
        ok = sum(pool.map(deliver_and_check, zip(due, new)))
        mark('files and tokens')
        if ok != len(due):
            sys.exit(f'{len(due) - ok} new secrets obtained no token: nothing retired')
        list(pool.map(lambda client: admin.request('DELETE', f'{realm}/clients/{client["id"]}/client-secret/rotated'),
                      due))
        mark('retire')
    print(json.dumps({'rotated': len(due), 'not_due': len(names) - len(due), 'tokens_ok': ok, 'seconds': phases}))
    return 0


if __name__ == '__main__':
    sys.exit(main())
