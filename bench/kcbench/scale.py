"""Scale and rotation: our module with thousands of clients in one realm or among many others, and the rotate
playbook re-delivering many secrets to files on two hosts."""

from __future__ import annotations

import json
import secrets
import time
import sys
from concurrent.futures import ThreadPoolExecutor

from .common import CLIENT_PREFIX, REPO, log
from .measure import Bench, count_requests, run_measured, tail

OTHER_PREFIX = 'other-client-'
FILL_WORKERS = 8


def fill_realm(bench: Bench, realm: str, count: int) -> None:
    """count public clients that are not ours (cheap to create: no secret, no service account)."""
    def create(index: int) -> None:
        bench.admin.request('POST', f'realms/{realm}/clients',
                            json={'clientId': f'{OTHER_PREFIX}{index:05d}', 'publicClient': True})
    with ThreadPoolExecutor(FILL_WORKERS) as pool:
        list(pool.map(create, range(count)))


def measure_crossover(bench: Bench, realm: str, queries: int = 50) -> dict:
    """What one exact clientId query costs against listing full representations page by page (300 a page),
    timed directly against Keycloak (no proxy), to check LISTED_PER_QUERY in module_utils/_clients/reads.py."""
    started = time.monotonic()
    for index in range(queries):
        bench.admin.request('GET', f'realms/{realm}/clients', params={'clientId': f'{OTHER_PREFIX}{index * 7:05d}'})
    query = (time.monotonic() - started) / queries
    listed, first, started = 0, 0, time.monotonic()
    while True:
        page = bench.admin.request('GET', f'realms/{realm}/clients',
                                   params={'first': first, 'max': 300, 'briefRepresentation': 'false'})
        listed += len(page)
        first += 300
        if len(page) < 300:
            break
    listing = time.monotonic() - started
    result = dict(query_ms=query * 1000, listed=listed, listing_s=listing,
                  listed_per_query=listed * query / listing if listing else None)
    log(f'cross-over: one query {query * 1000:.1f} ms, listing {listed} clients {listing:.2f} s: '
        f'{result["listed_per_query"]:.0f} clients listed for the cost of one query')
    return result


def measure_scale(bench: Bench, count: int, others: int) -> list[dict]:
    """Our module from scratch and re-run for count clients in a realm already holding `others` clients."""
    realm = f'bench-scale-{count}-{others}-{secrets.token_hex(3)}'
    bench.admin.create_realm(realm)
    records = []
    try:
        if others:
            log(f'filling {realm} with {others} other clients')
            fill_realm(bench, realm, others)
            crossover = measure_crossover(bench, realm)
        for phase in ('scratch', 'rerun'):
            record = bench.run_once('module', realm, count, phase, None)
            record.update(others=others, per_client_ms=record['wall'] / count * 1000)
            if others:
                record['crossover'] = crossover
            records.append(record)
            log(f'scale  N={count:<5} others={others:<5} {phase:7} {record["wall"]:7.2f}s '
                f'rss {record["maxrss_kb"] / 1024:6.1f} MiB admin r/w {record["admin_reads"]}/{record["admin_writes"]} '
                + ('ok' if record['ok'] else 'FAILED: ' + str(record['error'])[:300]))
            if not record['ok']:
                break
    finally:
        bench.admin.delete_realm(realm)
    return records


def measure_rotation(bench: Bench, count: int, hosts: int = 2) -> list[dict]:
    """playbooks/rotate.yml for count clients whose secrets are delivered to files, split over `hosts` hosts."""
    realm = f'bench-rotate-{count}-{secrets.token_hex(3)}'
    bench.admin.create_realm(realm)
    names = [f'{CLIENT_PREFIX}{i:04d}' for i in range(count)]
    records = []
    try:
        with ThreadPoolExecutor(FILL_WORKERS) as pool:
            list(pool.map(lambda name: bench.admin.request('POST', f'realms/{realm}/clients', json={
                'clientId': name, 'publicClient': False, 'serviceAccountsEnabled': True,
                'standardFlowEnabled': False}), names))
        files = bench.work / f'rotate-files-{realm}'
        consumers = {}
        for host in range(hosts):
            mine = names[host::hosts]
            consumers[f'consumer-{host}'] = dict(
                ansible_connection='local', ansible_python_interpreter=sys.executable,
                deliver_files=[dict(client_id=n, path=str(files / f'host{host}' / f'{n}.env')) for n in mine])
        inventory = {'all': {'hosts': {'localhost': dict(ansible_connection='local',
                                                         ansible_python_interpreter=sys.executable)},
                             'vars': dict(rotate_realm=realm, rotate_clients=names, rotate_grace_period='10m'),
                             'children': {'keycloak_consumers': {'hosts': consumers}}}}
        inventory_path = bench.work / f'rotate-inventory-{realm}.json'
        inventory_path.write_text(json.dumps(inventory))  # JSON is YAML: ansible's yaml inventory reads it
        command, env = bench.ansible_command()
        command += ['-i', str(inventory_path), str(REPO / 'playbooks' / 'rotate.yml')]
        for phase in ('rotate',):
            log_path = bench.work / f'rotate-{count}-{phase}.log'
            bench.proxy.reset()
            measured = run_measured(command, env, log_path)
            record = dict(tool='rotate', n=count, hosts=hosts, phase=phase, **measured)
            record.update(count_requests(list(bench.proxy.calls)))
            delivered = sorted(files.glob('host*/*.env'))
            record['files'] = len(delivered)
            error = None
            if measured['rc'] != 0:
                error = f'exit code {measured["rc"]}: {tail(log_path)}'
            elif len(delivered) != count:
                error = f'{len(delivered)} files delivered, expected {count}'
            record.update(ok=error is None, error=error)
            records.append(record)
            log(f'rotate N={count} hosts={hosts} {phase:6} {record["wall"]:7.2f}s admin r/w '
                f'{record["admin_reads"]}/{record["admin_writes"]} token {record["token"]} '
                + ('ok' if record['ok'] else 'FAILED: ' + str(error)[:300]))
            if error:
                break
    finally:
        bench.admin.delete_realm(realm)
    return records
