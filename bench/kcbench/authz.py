"""Authorization services of many resource servers in one confidential_client task: from scratch and re-run, with the
reads of each resource server's settings counted (one per resource server: Keycloak's client listing carries no
authorization settings)."""

from __future__ import annotations

import json
import os
import secrets

from .common import CLIENT_PREFIX, log
from .measure import Bench, RECAP, count_requests, run_measured, tail

ROLE = 'bench-reader'
PLAYBOOK = """\
- name: keycloak_ops.clients.confidential_client, resource servers with their authorization in one task
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Resource servers
      keycloak_ops.clients.confidential_client:
        realm: "{{ bench_realm }}"
        preset: service
        clients: "{{ bench_clients }}"
"""
SETTINGS_ENDPOINT = 'GET /admin/realms/{realm}/clients/{id}/authz/resource-server/settings'


def resource_server(name: str) -> dict:
    """One client's declaration: two scopes, a resource, a role policy and a scope permission."""
    return dict(client_id=name, authorization=dict(
        scopes=['read', 'write'],
        resources=[dict(name='documents', uris=['/documents/*'], scopes=['read', 'write'])],
        policies=[dict(name='readers', type='role', roles=[ROLE])],
        permissions=[dict(name='read documents', resources=['documents'], scopes=['read'], policies=['readers'])]))


def measure_authorization(bench: Bench, count: int, rep: int | None, label: str = 'now',
                          collections: str | None = None) -> list[dict]:
    """count resource servers declared in one task, from scratch in a fresh realm and then re-run (nothing to change);
    with `collections`, that collections root (e.g. the code before a change) instead of this checkout."""
    realm = f'bench-authz-{count}-{secrets.token_hex(3)}'
    bench.admin.create_realm(realm)
    bench.admin.request('POST', f'realms/{realm}/roles', json={'name': ROLE})
    records = []
    playbook = bench.work / 'authz.yml'
    playbook.write_text(PLAYBOOK)
    vars_path = bench.work / f'authz-vars-{realm}.json'
    vars_path.write_text(json.dumps(dict(bench_realm=realm, bench_clients=[
        resource_server(f'{CLIENT_PREFIX}{i:04d}') for i in range(count)])))
    try:
        for phase in ('scratch', 'rerun'):
            command, env = bench.ansible_command()
            if collections:
                env['ANSIBLE_COLLECTIONS_PATH'] = collections
            command += ['-i', 'localhost,', '-c', 'local', str(playbook), '-e', f'@{vars_path}']
            log_path = bench.work / f'authz-{label}-{count}-{rep}-{phase}.log'
            bench.proxy.reset()
            measured = run_measured(command, env, log_path)
            record = dict(tool='authz', label=label, n=count, phase=phase, rep=rep, **measured)
            record.update(count_requests(list(bench.proxy.calls)))
            record['settings_reads'] = record['endpoints'].get(SETTINGS_ENDPOINT, 0)
            recap = RECAP.findall(log_path.read_text(errors='replace'))
            changed = bool(recap) and int(recap[-1][1]) > 0
            error = None
            if measured['rc'] != 0:
                error = f'exit code {measured["rc"]}: {tail(log_path)}'
            elif phase == 'rerun' and (changed or record['admin_writes']):
                error = f'the re-run changed something ({record["admin_writes"]} admin writes)'
            record.update(ok=error is None, error=error)
            records.append(record)
            log(f'authz  {label:6} N={count} {phase:7} {record["wall"]:7.2f}s admin r/w {record["admin_reads"]}/'
                f'{record["admin_writes"]} settings reads {record["settings_reads"]} '
                + ('ok' if record['ok'] else 'FAILED: ' + str(error)[:300]))
            if error:
                break
    finally:
        os.unlink(vars_path)
        bench.admin.delete_realm(realm)
    return records
