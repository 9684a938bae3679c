"""Scale and rotation: our module with thousands of clients in one realm or among many others, and the rotate
playbook re-delivering many secrets to files on two hosts."""

from __future__ import annotations

import json
import secrets
import time
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .common import BENCH, CLIENT_PREFIX, REPO, log
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


def measure_scale(bench: Bench, count: int, others: int, tool: str = 'module', rep: int | None = None) -> list[dict]:
    """A tool (our module, the role, a floor) from scratch and re-run for count clients in a realm already holding
    `others` clients."""
    realm = f'bench-scale-{count}-{others}-{secrets.token_hex(3)}'
    bench.admin.create_realm(realm)
    records = []
    try:
        if others:
            log(f'filling {realm} with {others} other clients')
            fill_realm(bench, realm, others)
            crossover = measure_crossover(bench, realm)
        for phase in ('scratch', 'rerun'):
            record = bench.run_once(tool, realm, count, phase, rep)
            record.update(others=others, per_client_ms=record['wall'] / count * 1000)
            if others:
                record['crossover'] = crossover
            records.append(record)
            log(f'scale  {tool:7} N={count:<5} others={others:<5} {phase:7} {record["wall"]:7.2f}s '
                f'rss {record["maxrss_kb"] / 1024:6.1f} MiB admin r/w {record["admin_reads"]}/{record["admin_writes"]} '
                + ('ok' if record['ok'] else 'FAILED: ' + str(record['error'])[:300]))
            if not record['ok']:
                break
    finally:
        bench.admin.delete_realm(realm)
    return records


ROTATION_TOOLS = {'rotate': 'keycloak_ops rotate role (playbooks/rotate.yml)',
                  'rfloor': 'raw API floor of a rotation (bench/rotation_floor.py, 4 in flight)'}
ROTATION_GRACE_S = 600
NOTHING_DUE_MAX_AGE_S = 86400


def measure_rotation(bench: Bench, count: int, tool: str = 'rotate', rep: int | None = None, hosts: int = 2,
                     label: str = 'now', collections: str | None = None) -> list[dict]:
    """A rotation of count clients whose secrets are delivered to files, split over `hosts` hosts, then the same with
    the maximum age not reached (a scheduled re-run with nothing due: no write, nothing delivered), in a fresh realm:
    by playbooks/rotate.yml (tool 'rotate'; with `collections`, that collections root, e.g. the code before a change)
    or by the raw-API floor (tool 'rfloor', bench/rotation_floor.py)."""
    realm = f'bench-{tool}-{count}-{secrets.token_hex(3)}'
    bench.admin.create_realm(realm)
    names = [f'{CLIENT_PREFIX}{i:04d}' for i in range(count)]
    records = []
    try:
        with ThreadPoolExecutor(FILL_WORKERS) as pool:
            list(pool.map(lambda name: bench.admin.request('POST', f'realms/{realm}/clients', json={
                'clientId': name, 'publicClient': False, 'serviceAccountsEnabled': True,
                'standardFlowEnabled': False}), names))
        files = bench.work / f'rotate-files-{realm}'
        inventory_path = rotation_inventory(bench, realm, names, files, hosts)
        for phase, max_age in (('rotate', 0), ('nothing due', NOTHING_DUE_MAX_AGE_S)):
            command, env = bench.ansible_command()
            if tool == 'rotate':
                if collections:
                    env['ANSIBLE_COLLECTIONS_PATH'] = collections
                playbook = Path(collections, 'ansible_collections/keycloak_ops/clients') if collections else REPO
                command += ['-i', str(inventory_path), str(playbook / 'playbooks' / 'rotate.yml')]
                command += ['-e', f'rotate_max_age={max_age}'] if max_age else []
            else:
                command = [sys.executable, str(BENCH / 'rotation_floor.py'), '--url', bench.proxy.url, '--realm', realm,
                           '--prefix', CLIENT_PREFIX, '--count', str(count), '--files', str(files), '--hosts',
                           str(hosts), '--grace', str(ROTATION_GRACE_S), '--max-age', str(max_age)]
            log_path = bench.work / f'{tool}-{label}-{count}-{rep}-{phase.replace(" ", "-")}.log'
            env['BENCH_TIMER_FILE'] = str(log_path.with_suffix('.timer.json'))
            before = {p: p.stat().st_mtime_ns for p in files.glob('host*/*.env')}
            bench.proxy.reset()
            measured = run_measured(command, env, log_path)
            record = dict(tool=tool, label=label, n=count, hosts=hosts, phase=phase, rep=rep, **measured)
            record.update(count_requests(list(bench.proxy.calls)))
            if tool == 'rotate':
                record['timer'] = bench._timer(env['BENCH_TIMER_FILE'], measured['launched'])
            else:
                last = (log_path.read_text(errors='replace').strip().splitlines() or ['{}'])[-1]
                try:
                    record['phases'] = json.loads(last).get('seconds')
                except ValueError:
                    record['phases'] = None
            delivered = sorted(files.glob('host*/*.env'))
            record['files'] = len(delivered)
            record['rewritten'] = sum(1 for p in delivered if before.get(p) != p.stat().st_mtime_ns)
            error = None
            if measured['rc'] != 0:
                error = f'exit code {measured["rc"]}: {tail(log_path)}'
            elif len(delivered) != count:
                error = f'{len(delivered)} files delivered, expected {count}'
            elif phase == 'nothing due' and (record['rewritten'] or record['admin_writes']):
                error = f'nothing was due, yet {record["rewritten"]} files and {record["admin_writes"]} admin writes'
            record.update(ok=error is None, error=error)
            records.append(record)
            log(f'{tool:6} {label:6} N={count} hosts={hosts} {phase:11} {record["wall"]:7.2f}s cpu {record["cpu"]:6.2f}s admin r/w '
                f'{record["admin_reads"]}/{record["admin_writes"]} token {record["token"]} files rewritten '
                f'{record["rewritten"]} ' + ('ok' if record['ok'] else 'FAILED: ' + str(error)[:300]))
            if error:
                break
    finally:
        bench.admin.delete_realm(realm)
    return records


def rotation_inventory(bench: Bench, realm: str, names: list[str], files, hosts: int):
    """The rotate playbook's inventory: the clients' files split over `hosts` local hosts."""
    consumers = {}
    for host in range(hosts):
        consumers[f'consumer-{host}'] = dict(
            ansible_connection='local', ansible_python_interpreter=sys.executable,
            deliver_files=[dict(client_id=n, path=str(files / f'host{host}' / f'{n}.env')) for n in names[host::hosts]])
    inventory = {'all': {'hosts': {'localhost': dict(ansible_connection='local',
                                                     ansible_python_interpreter=sys.executable)},
                         'vars': dict(rotate_realm=realm, rotate_clients=names,
                                      rotate_grace_period=f'{ROTATION_GRACE_S}s'),
                         'children': {'keycloak_consumers': {'hosts': consumers}}}}
    path = bench.work / f'rotate-inventory-{realm}.json'
    path.write_text(json.dumps(inventory))  # JSON is YAML: ansible's yaml inventory reads it
    return path
