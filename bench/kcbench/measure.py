"""Running one tool as a measured process and counting the requests it sent; profiling our module."""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from tests.collection_path import collections_root
from tests.harness.counting_proxy import READ_METHODS, WRITE_METHODS, CountingProxy, classify
from tests.harness.keycloak_server import KeycloakServer

from .admin import DirectAdmin
from .common import BENCH, BIN, CLIENT_PREFIX, PARALLEL_FLOOR_WORKERS, REPO, RUN_TIMEOUT, SCOPES, log

TIME_BIN = shutil.which('time', path='/usr/bin:/bin')  # GNU time (Debian package "time"), for exact peak RSS
PLAYBOOKS = {
    'cg': """\
- name: community.general keycloak_client, one client per loop iteration
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Confidential clients with a service account
      community.general.keycloak_client:
        auth_keycloak_url: "{{ bench_url }}"
        auth_realm: "{{ bench_auth_realm }}"
        auth_client_id: admin-cli
        auth_username: "{{ bench_user }}"
        auth_password: "{{ bench_password }}"
        realm: "{{ bench_realm }}"
        client_id: "{{ item }}"
        public_client: false
        service_accounts_enabled: true
        standard_flow_enabled: false
        direct_access_grants_enabled: false
        default_client_scopes: "{{ bench_scopes }}"
        state: present
      loop: "{{ bench_clients }}"
""",
    'module': """\
- name: keycloak_ops.clients.confidential_client, all clients in one task
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Confidential clients with a service account
      keycloak_ops.clients.confidential_client:
        realm: "{{ bench_realm }}"
        preset: service
        default_client_scopes: "{{ bench_scopes }}"
        clients: "{{ bench_clients }}"
""",
    'role': """\
- name: keycloak_ops.clients.provision role
  hosts: localhost
  gather_facts: false
  roles:
    - role: keycloak_ops.clients.provision
      vars:
        provision_realm: "{{ bench_realm }}"
        provision_clients: "{{ bench_role_clients }}"
""",
    'noop': """\
- name: Ansible's fixed cost of one task running one module
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Ping
      ansible.builtin.ping:
""",
}
RECAP = re.compile(r'^localhost\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)', re.M)
UUID = re.compile(r'[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}')


def run_measured(command: list[str], env: dict, log_path: Path, timeout: float = RUN_TIMEOUT) -> dict:
    """Run command; wall time, CPU time and max RSS (wait4: the process and its waited-for descendants).

    Linux starts a child's peak RSS at its parent's (fork, then exec, keeps the high-water mark), so the
    command runs under /usr/bin/time, a process of ~2 MiB, whose report of its own child's peak RSS is
    not inflated by this driver's memory; without it, wait4's number is kept and marked approximate.
    """
    rss_file = log_path.with_suffix('.rss')
    if TIME_BIN:
        command = [TIME_BIN, '-f', '%M', '-o', str(rss_file)] + command
    with open(log_path, 'wb') as out:
        launched = time.time()
        started = time.monotonic()
        proc = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True, cwd=str(REPO))
        timed_out = threading.Event()

        def kill():
            timed_out.set()
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

        timer = threading.Timer(timeout, kill)
        timer.start()
        try:
            _pid, status, usage = os.wait4(proc.pid, 0)
        except BaseException:
            kill()
            proc.wait()
            raise
        finally:
            timer.cancel()
        wall = time.monotonic() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
    try:  # stray grandchildren of a killed run
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    maxrss_kb, rss_exact = usage.ru_maxrss, False
    try:
        maxrss_kb, rss_exact = int(rss_file.read_text().split()[-1]), True
    except (OSError, ValueError, IndexError):
        pass
    return dict(rc=proc.returncode, wall=wall, cpu=usage.ru_utime + usage.ru_stime, maxrss_kb=maxrss_kb,
                rss_exact=rss_exact, launched=launched, timed_out=timed_out.is_set(), load=os.getloadavg()[0])


def tail(path: Path, lines: int = 15) -> str:
    try:
        return '\n'.join(path.read_text(errors='replace').splitlines()[-lines:])
    except OSError:
        return ''


class Bench:
    def __init__(self, server: KeycloakServer, proxy: CountingProxy, args, work: Path, cg_collections: Path | None):
        self.server, self.proxy, self.args, self.work = server, proxy, args, work
        self.admin = DirectAdmin(server)
        self.cg_collections = cg_collections
        self.runs: list[dict] = []
        self.notes: list[str] = []
        self.sequence = 0
        home = work / 'ansible-home'
        home.mkdir()
        self.base_env = {k: v for k, v in os.environ.items() if not k.startswith(('KEYCLOAK_', 'ANSIBLE_'))}
        self.base_env.update(
            ANSIBLE_PYTHON_INTERPRETER=sys.executable,
            ANSIBLE_NOCOLOR='1', ANSIBLE_FORCE_COLOR='0', ANSIBLE_RETRY_FILES_ENABLED='0',
            ANSIBLE_LOCALHOST_WARNING='0', ANSIBLE_INVENTORY_UNPARSED_WARNING='0', ANSIBLE_DEPRECATION_WARNINGS='0',
            ANSIBLE_HOME=str(home), ANSIBLE_CALLBACK_PLUGINS=str(BENCH / 'callback_plugins'),
            ANSIBLE_CALLBACKS_ENABLED='bench_timer',
        )
        for tool, text in PLAYBOOKS.items():
            (work / f'{tool}.yml').write_text(text)

    # -- one run ---------------------------------------------------------------------------

    def _command(self, tool: str, realm: str, count: int) -> tuple[list[str], dict]:
        self.sequence += 1
        env = dict(self.base_env)
        names = [f'{CLIENT_PREFIX}{i:04d}' for i in range(count)]
        credentials = dict(KEYCLOAK_URL=self.proxy.url, KEYCLOAK_USER=self.server.admin_user,
                           KEYCLOAK_PASSWORD=self.server.admin_password, KEYCLOAK_REALM=self.server.admin_realm)
        if self.server.ca_path:
            credentials['KEYCLOAK_CA_PATH'] = self.server.ca_path
        if tool in ('floor', 'pfloor'):
            env.update(credentials)
            return [sys.executable, str(BENCH / 'floor.py'), '--url', self.proxy.url, '--realm', realm,
                    '--prefix', CLIENT_PREFIX, '--count', str(count), '--scopes', ','.join(SCOPES),
                    '--parallel', str(PARALLEL_FLOOR_WORKERS if tool == 'pfloor' else 0)], env
        bench_vars = dict(bench_realm=realm, bench_clients=names, bench_scopes=SCOPES)
        if tool == 'cg':
            env['ANSIBLE_COLLECTIONS_PATH'] = str(self.cg_collections)
            bench_vars.update(bench_url=self.proxy.url, bench_auth_realm=self.server.admin_realm,
                              bench_user=self.server.admin_user, bench_password=self.server.admin_password)
        else:
            env = self.ansible_command()[1]
        if tool == 'role':
            bench_vars['bench_role_clients'] = [dict(client_id=n, kind='confidential', preset='service',
                                                     default_client_scopes=SCOPES) for n in names]
        vars_path = self.work / f'vars-{self.sequence}.json'
        fd = os.open(vars_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # may hold the admin password
        with os.fdopen(fd, 'w') as f:
            json.dump(bench_vars, f)
        env['BENCH_TIMER_FILE'] = str(self.work / f'timer-{self.sequence}.json')
        return [str(BIN / 'ansible-playbook'), '-i', 'localhost,', '-c', 'local', str(self.work / f'{tool}.yml'),
                '-e', f'@{vars_path}'], env

    def ansible_command(self) -> tuple[list[str], dict]:
        """ansible-playbook and the environment of a run of our collection against Keycloak through the proxy."""
        env = dict(self.base_env, ANSIBLE_COLLECTIONS_PATH=self.args.collections or collections_root(),
                   KEYCLOAK_URL=self.proxy.url, KEYCLOAK_USER=self.server.admin_user,
                   KEYCLOAK_PASSWORD=self.server.admin_password, KEYCLOAK_REALM=self.server.admin_realm)
        if self.server.ca_path:
            env['KEYCLOAK_CA_PATH'] = self.server.ca_path
        return [str(BIN / 'ansible-playbook')], env

    def run_once(self, tool: str, realm: str, count: int, phase: str, rep: int | None, extra_env: dict | None = None) -> dict:
        command, env = self._command(tool, realm, count)
        env.update(extra_env or {})
        log_path = self.work / f'run-{self.sequence}-{tool}-{count}-{phase}.log'
        self.proxy.reset()
        measured = run_measured(command, env, log_path)
        calls = list(self.proxy.calls)
        record = dict(tool=tool, n=count, phase=phase, rep=rep, realm=realm, log=log_path.name, **measured)
        record.update(count_requests(calls))
        output = log_path.read_text(errors='replace')
        recap = RECAP.findall(output)
        if tool not in ('floor', 'pfloor'):
            record['changed'] = bool(recap) and int(recap[-1][1]) > 0
            record['timer'] = self._timer(env.get('BENCH_TIMER_FILE'), measured['launched'])
        else:
            last = output.strip().splitlines()[-1:] or ['{}']
            try:
                record['changed'] = json.loads(last[0]).get('created', 0) > 0
            except ValueError:
                record['changed'] = None
        record['warnings'] = sorted({line.strip() for line in output.splitlines()
                                     if '[WARNING]' in line or 'DEPRECATION' in line})[:5]
        error = None
        if measured['timed_out']:
            error = f'timed out after {RUN_TIMEOUT} s'
        elif measured['rc'] != 0 or (recap and int(recap[-1][3]) > 0):
            error = f'exit code {measured["rc"]}: {tail(log_path)}'
        elif count and tool != 'noop':
            error = self.admin.check_clients(realm, count)
            if error is None and phase == 'rerun' and record['changed']:
                error = 'the re-run reported a change'
        record['ok'] = error is None
        record['error'] = error
        return record

    @staticmethod
    def _timer(path: str | None, launched: float) -> dict | None:
        try:
            marks = json.loads(Path(path).read_text())
        except (OSError, ValueError, TypeError):
            return None
        tasks = [t for t in marks.get('tasks', []) if t.get('end')]
        task_time = sum(t['end'] - t['start'] for t in tasks)
        return dict(startup=marks.get('playbook_start', marks['loaded']) - launched, tasks=task_time,
                    task_detail=[(t['name'], round(t['end'] - t['start'], 3), t['items']) for t in tasks],
                    until_stats=marks.get('stats', 0) - launched)

    # -- a measurement: fresh realm, from scratch, then re-run -------------------------------

    def measure(self, tool: str, count: int, rep: int | None, keep: bool = True) -> list[dict]:
        realm = f'bench-{tool}-{count}-{secrets.token_hex(3)}'
        records = []
        if tool != 'noop':
            self.admin.create_realm(realm)
        try:
            for phase in ('scratch', 'rerun') if tool != 'noop' else ('scratch',):
                record = self.run_once(tool, realm, count if tool != 'noop' else 0, phase, rep)
                if tool == 'noop':
                    record['n'] = count
                records.append(record)
                state = 'ok' if record['ok'] else 'FAILED: ' + str(record['error'])[:300]
                log(f'{tool:6} N={count:<4} {phase:7} {record["wall"]:7.2f}s  cpu {record["cpu"]:6.2f}s  '
                    f'rss {record["maxrss_kb"] / 1024:6.1f} MiB  admin r/w {record["admin_reads"]}/{record["admin_writes"]}  '
                    f'token {record["token"]}  {state}')
                if not record['ok']:
                    break
        finally:
            if tool != 'noop':
                self.admin.delete_realm(realm)
        if keep:
            self.runs.extend(records)
        return records

    def warm_up(self, tools: list[str]) -> None:
        """Untimed: JIT-compile Keycloak's paths, fill the page cache, check every tool works (and cg on this core)."""
        log('warm-up (not measured)')
        sizes = {'cg': 3, 'module': 20, 'role': 5, 'floor': 20, 'pfloor': 20, 'noop': 0}
        for tool in tools:
            records = self.measure(tool, sizes[tool], None, keep=False)
            if tool == 'cg':
                warnings = sorted({w for r in records for w in r['warnings']})
                self.notes.append('community.general keycloak_client warm-up on this ansible-core: '
                                  + ('ok' if all(r['ok'] for r in records) else 'FAILED')
                                  + (f'; warnings: {warnings}' if warnings else ', no warnings'))
            if not all(r['ok'] for r in records):
                raise SystemExit(f'warm-up of {tool} failed: {records[-1]["error"]}')


def endpoint(method: str, path: str) -> str:
    """'GET /admin/realms/{realm}/clients?clientId': the request with its realm, ids and query values left out."""
    path, query = path.split('?', 1) if '?' in path else (path, '')
    path = re.sub(r'/realms/[^/]+', '/realms/{realm}', path, count=1)
    path = UUID.sub('{id}', path)
    keys = sorted(p.split('=', 1)[0] for p in query.split('&') if p)
    return f'{method} {path}' + (f'?{"&".join(keys)}' if keys else '')


def count_requests(calls: list[tuple[str, str]]) -> dict:
    """Admin API reads and writes, token requests, and every request by endpoint."""
    out = dict(admin_reads=0, admin_writes=0, token=0, other=0, endpoints={})
    for method, path in calls:
        key = endpoint(method, path)
        out['endpoints'][key] = out['endpoints'].get(key, 0) + 1
        kind = classify(path)
        if kind == 'token':
            out['token'] += 1
        elif kind != 'admin':
            out['other'] += 1
        elif method in READ_METHODS:
            out['admin_reads'] += 1
        elif method in WRITE_METHODS:
            out['admin_writes'] += 1
    return out


def profile_module(bench: Bench, count: int, out: Path, prof_dir: Path) -> list[str]:
    realm = f'bench-profile-{count}-{secrets.token_hex(3)}'
    bench.admin.create_realm(realm)
    written = []
    try:
        for phase in ('scratch', 'rerun'):
            args = dict(auth_keycloak_url=bench.proxy.url, auth_realm=bench.server.admin_realm,
                        auth_username=bench.server.admin_user, auth_password=bench.server.admin_password,
                        realm=realm, preset='service', default_client_scopes=SCOPES,
                        clients=[f'{CLIENT_PREFIX}{i:04d}' for i in range(count)])
            args_path = bench.work / f'profile-args-{phase}.json'
            fd = os.open(args_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, 'w') as f:
                json.dump({'ANSIBLE_MODULE_ARGS': args}, f)
            prefix = out / f'profile-module-{phase}-N{count}'
            env = dict(bench.base_env, PYTHONPATH=bench.args.collections or collections_root())
            bench.proxy.reset()
            started = time.monotonic()
            proc = subprocess.run([sys.executable, str(BENCH / 'profile_module.py'), 'confidential_client',
                                   str(args_path), str(prefix), str(prof_dir)],
                                  env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT, check=False)
            wall = time.monotonic() - started
            calls = count_requests(list(bench.proxy.calls))
            if proc.returncode != 0:
                log(f'profile {phase} failed ({proc.returncode}): {proc.stderr[-500:]}')
                continue
            result = prefix.with_suffix('.result.json')
            result.unlink(missing_ok=True)  # holds masked output only, but the report needs none of it
            html = prefix.with_suffix('.html')
            html.unlink(missing_ok=True)  # large; the text tree says the same
            written.append(prefix.with_suffix('.txt').name)
            log(f'profile {phase}: {wall:.2f}s in-process, admin r/w {calls["admin_reads"]}/{calls["admin_writes"]}, '
                f'token {calls["token"]} -> {prefix.with_suffix(".txt")}')
            with open(prefix.with_suffix('.txt'), 'a') as f:
                f.write(f'\nRequests ({wall:.2f} s in-process): ' + json.dumps(calls['endpoints'], indent=1) + '\n')
    finally:
        bench.admin.delete_realm(realm)
    return written
