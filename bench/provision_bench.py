"""Provisioning benchmark (issue 7): community.general's keycloak_client loop, our module and role, and the raw-API floor.

Against one real Keycloak, in one run, for N confidential clients with a service account and two default
client scopes, each tool provisions them from scratch (fresh realm) and then again (re-run, nothing to change):

  cg      community.general.keycloak_client with `loop:` (one module run and one admin login per client)
  module  keycloak_ops.clients.confidential_client with `clients:` (one task, one token, one HTTP session)
  role    keycloak_ops.clients.provision (if roles/provision/tasks/main.yml exists)
  floor   bench/floor.py: one Python process, one token, one requests.Session, minimal requests
  noop    ansible-playbook with one ansible.builtin.ping task: Ansible's fixed cost of running one module

Every run goes through tests/harness/counting_proxy.py (admin API and token requests counted apart) and is
timed by wall clock; CPU time comes from wait4() on the process (ansible-playbook and all its children), peak
RSS from GNU time around it (the largest single process of the tree, not a sum). Results: bench/results/results.{md,json} and
provision_time.png; with --profile (or when a target of our module is missed) a pyinstrument profile of the
module in bench/results/profile-*.txt.

Run with bench/run (sets up everything); `bench/run --help` for the options.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import importlib.metadata
import json
import os
import platform
import re
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import requests  # noqa: E402  (the main venv has it: python-keycloak needs it)

from tests.collection_path import collections_root  # noqa: E402
from tests.harness.counting_proxy import CountingProxy  # noqa: E402
from tests.harness.keycloak_server import HarnessUnavailable, KeycloakServer, StartError  # noqa: E402

BENCH = REPO / 'bench'
BIN = Path(sys.executable).parent
ANSIBLE_RELEASE = '14.5.0'  # ships community.general 13.x and requires ansible-core ~=2.21.5, as our venv has
SCOPES = ['profile', 'email']
CLIENT_PREFIX = 'bench-client-'
RUN_TIMEOUT = 1800
TIME_BIN = shutil.which('time', path='/usr/bin:/bin')  # GNU time (Debian package "time"), for exact peak RSS
TOOLS = {
    'cg': 'community.general keycloak_client (loop)',
    'module': 'keycloak_ops confidential_client (clients list)',
    'role': 'keycloak_ops provision role',
    'floor': 'raw API floor',
    'noop': 'ansible-playbook, one ping task',
}
PLOT_STYLE = {'cg': ('tab:red', 'o'), 'module': ('tab:blue', 's'), 'role': ('tab:cyan', 'D'),
              'floor': ('black', '^'), 'noop': ('tab:gray', 'x')}

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


def cache_dir() -> Path:
    """The project's download and venv cache (as the harness and scripts/bootstrap.sh use it)."""
    return Path(os.environ.get('KEYCLOAK_OPS_CACHE') or '~/.cache/keycloak_ops').expanduser()


def log(msg: str) -> None:
    print(f'[bench {time.strftime("%H:%M:%S")}] {msg}', file=sys.stderr, flush=True)


# --------------------------------------------------------------------------
# Setup: packages that stay out of the venvs
# --------------------------------------------------------------------------

def pip_target(requirements: list[str], name: str, deps: bool = True, tagged: bool = True) -> Path:
    """Install requirements once into ~/.cache/keycloak_ops/<name>[-<hash>] (pip --target); return the dir."""
    tag = hashlib.sha256('\n'.join(requirements).encode()).hexdigest()[:12]
    target = cache_dir() / (f'{name}-{tag}' if tagged else name)
    if (target / '.complete').exists():
        return target
    log(f'pip install --target {target}: {" ".join(requirements)}')
    tmp = Path(tempfile.mkdtemp(dir=cache_dir(), prefix=f'.{name}-'))
    try:
        command = [sys.executable, '-m', 'pip', 'install', '-q', '--disable-pip-version-check', '--target', str(tmp)]
        subprocess.run(command + ([] if deps else ['--no-deps']) + requirements, check=True)
        (tmp / '.complete').write_text('\n'.join(requirements) + '\n')
        try:
            os.rename(tmp, target)
        except OSError:
            if not (target / '.complete').exists():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def bench_requirements() -> list[str]:
    lines = (BENCH / 'requirements.txt').read_text().splitlines()
    return [line.split('#')[0].strip() for line in lines if line.split('#')[0].strip()]


# --------------------------------------------------------------------------
# Keycloak admin calls of the driver itself (direct, not through the proxy)
# --------------------------------------------------------------------------

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
        found = [c for c in self.request('GET', f'realms/{realm}/clients', params={'first': 0, 'max': count + 100})
                 if c['clientId'].startswith(CLIENT_PREFIX)]
        if len(found) != count:
            return f'{len(found)} clients in {realm}, expected {count}'
        for client in found:
            if client.get('publicClient') or not client.get('serviceAccountsEnabled') or client.get('standardFlowEnabled'):
                return f"client {client['clientId']} is not a service-account-only confidential client"
            if not set(SCOPES) <= set(client.get('defaultClientScopes') or []):
                return f"client {client['clientId']} lacks default scopes {SCOPES}: {client.get('defaultClientScopes')}"
        return None


# --------------------------------------------------------------------------
# Running and measuring one process
# --------------------------------------------------------------------------

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
                rss_exact=rss_exact, launched=launched, timed_out=timed_out.is_set())


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
        if tool == 'floor':
            env.update(credentials)
            return [sys.executable, str(BENCH / 'floor.py'), '--url', self.proxy.url, '--realm', realm,
                    '--prefix', CLIENT_PREFIX, '--count', str(count), '--scopes', ','.join(SCOPES)], env
        bench_vars = dict(bench_realm=realm, bench_clients=names, bench_scopes=SCOPES)
        if tool == 'cg':
            env['ANSIBLE_COLLECTIONS_PATH'] = str(self.cg_collections)
            bench_vars.update(bench_url=self.proxy.url, bench_auth_realm=self.server.admin_realm,
                              bench_user=self.server.admin_user, bench_password=self.server.admin_password)
        else:
            env['ANSIBLE_COLLECTIONS_PATH'] = self.args.collections or collections_root()
            env.update(credentials)
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
        if tool != 'floor':
            record['changed'] = bool(recap) and int(recap[-1][1]) > 0
            record['timer'] = self._timer(env.get('BENCH_TIMER_FILE'), measured['launched'])
        else:
            last = output.strip().splitlines()[-1:] or ['{}']
            try:
                record['changed'] = json.loads(last[0]).get('created', 0) > 0
            except ValueError:
                record['changed'] = None
        record['warnings'] = sorted(set(line.strip() for line in output.splitlines() if '[WARNING]' in line
                                        or 'DEPRECATION' in line))[:5]
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
        sizes = {'cg': 3, 'module': 20, 'role': 5, 'floor': 20, 'noop': 0}
        for tool in tools:
            records = self.measure(tool, sizes[tool], None, keep=False)
            if tool == 'cg':
                warnings = sorted(set(w for r in records for w in r['warnings']))
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
    from tests.harness.counting_proxy import READ_METHODS, WRITE_METHODS, classify
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


# --------------------------------------------------------------------------
# Summary, targets, report
# --------------------------------------------------------------------------

def summarize(runs: list[dict]) -> dict:
    groups: dict[tuple, list[dict]] = {}
    for run in runs:
        groups.setdefault((run['tool'], run['n'], run['phase']), []).append(run)
    summary = {}
    for key, group in groups.items():
        ok = [r for r in group if r['ok']]
        entry = dict(runs=len(group), ok=len(ok), failed=[r['error'] for r in group if not r['ok']])
        if ok:
            walls = sorted(r['wall'] for r in ok)
            first = ok[0]
            n = max(key[1], 1)
            timers = [r['timer'] for r in ok if r.get('timer')]
            entry.update(
                wall=statistics.median(walls), wall_min=walls[0], wall_max=walls[-1], walls=walls,
                cpu=statistics.median(r['cpu'] for r in ok), maxrss_mib=max(r['maxrss_kb'] for r in ok) / 1024,
                admin_reads=first['admin_reads'], admin_writes=first['admin_writes'], token=first['token'],
                # Replaced by the fit below when there are two sizes; with one, all requests count per client.
                reads_per_client=first['admin_reads'] / n, writes_per_client=first['admin_writes'] / n,
                reads_per_run=None, writes_per_run=None,
                counts_stable=len({(r['admin_reads'], r['admin_writes'], r['token']) for r in ok}) == 1,
                startup=statistics.median(t['startup'] for t in timers) if timers else None,
                task=statistics.median(t['tasks'] for t in timers) if timers else None,
            )
        summary[key] = entry
    # Requests are deterministic: split them into per client and per run by a straight line through the sizes.
    for tool, phase in {(k[0], k[2]) for k in summary}:
        sized = sorted((k[1], v) for k, v in summary.items() if k[0] == tool and k[2] == phase and v.get('ok'))
        if len(sized) < 2 or tool == 'noop':
            continue
        (n_lo, lo), (n_hi, hi) = sized[0], sized[-1]
        for what in ('reads', 'writes'):
            per_client = (hi['admin_' + what] - lo['admin_' + what]) / (n_hi - n_lo)
            per_run = lo['admin_' + what] - per_client * n_lo
            for _n, entry in sized:
                entry[what + '_per_client'] = per_client
                entry[what + '_per_run'] = round(per_run, 2)
                entry['split'] = 'fit'
    return summary


def linear_fit(points: list[tuple[int, float]]) -> tuple[float, float, float] | None:
    """(intercept, slope, largest relative deviation of a point from the line) or None for < 2 points."""
    if len(points) < 2:
        return None
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    slope = sum((x - mx) * (y - my) for x, y in points) / sxx
    intercept = my - slope * mx
    deviation = max(abs(y - (intercept + slope * x)) / y for x, y in points)
    return intercept, slope, deviation


def evaluate_targets(summary: dict, sizes: list[int], tools: list[str]) -> list[tuple[str, str, bool | None, str]]:
    """[(tool, target, met (None: not measured), detail)] for our module and role."""
    def get(tool, n, phase):
        entry = summary.get((tool, n, phase))
        return entry if entry and entry.get('ok') else None

    noops = [w for k, v in summary.items() if k[0] == 'noop' and v.get('ok') for w in v['walls']]
    noop = statistics.median(noops) if noops else None
    targets = []
    for tool in [t for t in ('module', 'role') if t in tools]:
        for n in sizes:
            ours, cg, floor = get(tool, n, 'scratch'), get('cg', n, 'scratch'), get('floor', n, 'scratch')
            if ours and cg:
                speed = cg['wall'] / ours['wall']
                targets.append((tool, f'N={n} from scratch: >= 10x faster than community.general', speed >= 10,
                                f'{speed:.1f}x'))
            if ours and floor:
                ratio = ours['wall'] / floor['wall']
                targets.append((tool, f'N={n} from scratch: <= 1.3x the raw-API floor', ratio <= 1.3, f'{ratio:.2f}x'))
                if noop is not None:
                    beyond = (ours['wall'] - noop) / floor['wall']
                    targets.append((tool, f'N={n} from scratch, informational: (wall - ping playbook) <= 1.3x the floor',
                                    beyond <= 1.3, f'{beyond:.2f}x: {ours["wall"]:.2f} s - {noop:.2f} s vs {floor["wall"]:.2f} s'))
            ours, cg = get(tool, n, 'rerun'), get('cg', n, 'rerun')
            if ours:
                targets.append((tool, f'N={n} re-run: 0 write requests', ours['admin_writes'] == 0,
                                f'{ours["admin_writes"]} writes'))
                targets.append((tool, f'N={n} re-run: <= 1 read request per client', ours['reads_per_client'] <= 1,
                                f'{ours["reads_per_client"]:.2f} per client + {fmt(ours["reads_per_run"], "g", "?")} per run'))
            if ours and cg:
                speed = cg['wall'] / ours['wall']
                targets.append((tool, f'N={n} re-run: >= 20x faster than community.general', speed >= 20, f'{speed:.1f}x'))
        for phase in ('scratch', 'rerun'):
            points = [(n, get(tool, n, phase)['wall']) for n in sizes if get(tool, n, phase)]
            fit = linear_fit(points)
            cpu = linear_fit([(n, get(tool, n, phase)['cpu']) for n in sizes if get(tool, n, phase)])
            if fit and len(points) >= 3:
                targets.append((tool, f'{phase}: time linear in N (medians within 10% of a straight line)', fit[2] <= 0.10,
                                f'{fit[1] * 1000:.1f} ms/client + {fit[0]:.2f} s, worst point {fit[2] * 100:.0f}% off the line; '
                                f'CPU time of the Ansible processes: {cpu[1] * 1000:.1f} ms/client + {cpu[0]:.2f} s, '
                                f'worst point {cpu[2] * 100:.0f}% off'))
            elif fit:
                lo, hi = points[0], points[-1]
                per = [(hi[1] - lo[1]) / (hi[0] - lo[0]), lo[1] / lo[0]]
                targets.append((tool, f'{phase}: time linear in N (2 sizes: marginal <= average cost per client)',
                                per[0] <= per[1], f'{per[0] * 1000:.1f} ms/client marginal, {per[1] * 1000:.1f} ms/client average'))
            mem = [get(tool, n, phase)['maxrss_mib'] for n in sizes if get(tool, n, phase)]
            if len(mem) >= 2:
                growth = mem[-1] / mem[0] - 1
                targets.append((tool, f'{phase}: peak memory flat in N (< 10% growth)', growth < 0.10,
                                f'{mem[0]:.0f} -> {mem[-1]:.0f} MiB ({growth * 100:+.0f}%)'))
    return targets


def fmt(value, spec='.2f', none='-'):
    return none if value is None else format(value, spec)


def machine_info(admin: DirectAdmin, server: KeycloakServer, cg_collections: Path | None) -> dict:
    def first_line(path, prefix):
        try:
            for line in Path(path).read_text().splitlines():
                if line.startswith(prefix):
                    return line.split(':', 1)[1].strip()
        except OSError:
            pass
        return None

    info = admin.serverinfo()
    cg_version = None
    if cg_collections:
        try:
            manifest = json.loads((cg_collections / 'ansible_collections/community/general/MANIFEST.json').read_text())
            cg_version = manifest['collection_info']['version']
        except (OSError, ValueError, KeyError):
            pass
    mem_kb = first_line('/proc/meminfo', 'MemTotal')
    return {
        'nproc': len(os.sched_getaffinity(0)),
        'memory': f'{int(mem_kb.split()[0]) / 1024 / 1024:.1f} GiB' if mem_kb else None,
        'cpu': first_line('/proc/cpuinfo', 'model name'),
        'kernel': platform.release(),
        'python': platform.python_version(),
        'keycloak': info.get('version') or server.version,
        'keycloak_java': info.get('javaVersion'),
        'keycloak_server': 'external (KEYCLOAK_URL)' if not server.started_by_us else 'tests/harness start-dev, H2',
        'ansible_core': importlib.metadata.version('ansible-core'),
        'ansible_package': ANSIBLE_RELEASE if cg_collections else None,
        'community_general': cg_version,
        'python_keycloak': importlib.metadata.version('python-keycloak'),
        'requests': importlib.metadata.version('requests'),
        'load_average_start': os.getloadavg(),
    }


def write_report(out: Path, data: dict) -> None:
    summary = {tuple(json.loads(k)): v for k, v in data['summary'].items()}
    sizes, tools = data['sizes'], data['tools']
    m = data['machine']
    lines = [
        '# Provisioning benchmark (issue 7)', '',
        f'Generated by `bench/run` on {data["finished"]} in {data["duration_min"]:.1f} min '
        f'(up to {data["reps"]} runs per point, community.general up to {data["cg_reps"]}: see "Runs ok"; '
        'times are medians).', '',
        f'- Machine: {m["nproc"]} CPUs ({m["cpu"]}), {m["memory"]} RAM, Linux {m["kernel"]}; '
        f'load average at start {", ".join(f"{x:.2f}" for x in m["load_average_start"])}, at end '
        f'{", ".join(f"{x:.2f}" for x in m["load_average_end"])}',
        f'- Keycloak {m["keycloak"]} ({m["keycloak_server"]}, Java {m["keycloak_java"]}), behind the counting proxy',
        f'- ansible-core {m["ansible_core"]}, Python {m["python"]}, python-keycloak {m["python_keycloak"]}, '
        f'community.general {m["community_general"]} (from the `ansible` {m["ansible_package"]} package)',
        '- Each client: confidential, service account on, standard flow and direct grants off, default client '
        f'scopes {" and ".join(SCOPES)}. From scratch: a fresh realm per measurement; re-run: the same task again.',
        '', '## Results', '',
        '| Tool | N | Phase | Median wall s (min-max) | x floor | x faster than cg | Admin reads/client '
        '(+ per run) | Admin writes/client (+ per run) | Token requests | Peak RSS MiB | CPU s | Runs ok |',
        '| --- | ---: | --- | --- | ---: | ---: | --- | --- | ---: | ---: | ---: | ---: |',
    ]
    for phase in ('scratch', 'rerun'):
        for n in sizes:
            for tool in tools:
                e = summary.get((tool, n, phase))
                if tool == 'noop' or not e:
                    continue
                if not e.get('ok'):
                    lines.append(f'| {TOOLS[tool]} | {n} | {phase} | FAILED: {str(e["failed"][:1])[:120]} | | | | | | | | 0/{e["runs"]} |')
                    continue
                floor, cg = summary.get(('floor', n, phase)), summary.get(('cg', n, phase))
                x_floor = e['wall'] / floor['wall'] if floor and floor.get('ok') else None
                x_cg = cg['wall'] / e['wall'] if cg and cg.get('ok') else None
                lines.append(
                    f'| {TOOLS[tool]} | {n} | {"from scratch" if phase == "scratch" else "re-run"} | '
                    f'{e["wall"]:.2f} ({e["wall_min"]:.2f}-{e["wall_max"]:.2f}) | {fmt(x_floor)} | {fmt(x_cg, ".1f")} | '
                    f'{e["reads_per_client"]:.2f} (+{fmt(e["reads_per_run"], "g", "?")}) | '
                    f'{e["writes_per_client"]:.2f} (+{fmt(e["writes_per_run"], "g", "?")}) | '
                    f'{e["token"]} | {e["maxrss_mib"]:.0f} | {e["cpu"]:.2f} | {e["ok"]}/{e["runs"]} |')
    noop = [summary[k] for k in summary if k[0] == 'noop' and summary[k].get('ok')]
    if noop:
        walls = sorted(w for e in noop for w in e['walls'])
        lines += ['', f'Ansible\'s fixed cost (ansible-playbook with one `ansible.builtin.ping` task): median '
                  f'{statistics.median(walls):.2f} s, peak RSS {max(e["maxrss_mib"] for e in noop):.0f} MiB.']
    lines += ['', 'Time against N, straight line through the medians (t = fixed + per client x N):', '',
              '| Tool | Phase | Per client ms | Fixed s | Worst point off the line |', '| --- | --- | ---: | ---: | ---: |']
    for phase in ('scratch', 'rerun'):
        for tool in tools:
            points = sorted((k[1], v['wall']) for k, v in summary.items() if k[0] == tool and k[2] == phase and v.get('ok'))
            fit = linear_fit(points) if tool != 'noop' else None
            if fit:
                lines.append(f'| {TOOLS[tool]} | {phase} | {fit[1] * 1000:.1f} | {fit[0]:.2f} | {fit[2] * 100:.0f}% |')
    noop_wall = statistics.median(w for k, v in summary.items() if k[0] == 'noop' and v.get('ok') for w in v['walls']) \
        if any(k[0] == 'noop' and v.get('ok') for k, v in summary.items()) else None
    lines += ['', 'Where the time of the Ansible runs goes (medians; marks from bench/callback_plugins/bench_timer.py). '
              '"Beyond the ping playbook" is the wall time minus that of the one-ping-task playbook, i.e. without '
              'Ansible\'s fixed cost, next to the floor:', '',
              '| Tool | N | Phase | Wall s | Start-up until the play starts s | Task(s) s | Rest s | Beyond the ping playbook s '
              '| Floor s |',
              '| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |']
    for phase in ('scratch', 'rerun'):
        for n in sizes:
            for tool in tools:
                e = summary.get((tool, n, phase))
                if e and e.get('ok') and e.get('task') is not None and tool != 'noop':
                    rest = e['wall'] - e['startup'] - e['task']
                    floor = summary.get(('floor', n, phase))
                    beyond = e['wall'] - noop_wall if noop_wall is not None else None
                    lines.append(f'| {TOOLS[tool]} | {n} | {phase} | {e["wall"]:.2f} | {e["startup"]:.2f} | '
                                 f'{e["task"]:.2f} | {rest:.2f} | {fmt(beyond)} | '
                                 f'{fmt(floor["wall"] if floor and floor.get("ok") else None)} |')
    lines += ['', f'Requests by endpoint at N={sizes[-1]} (realm and ids left out):', '',
              '| Tool | Phase | Requests |', '| --- | --- | --- |']
    for phase in ('scratch', 'rerun'):
        for tool in tools:
            runs = [r for r in data['runs'] if r['tool'] == tool and r['n'] == sizes[-1] and r['phase'] == phase and r['ok']]
            if runs and tool != 'noop':
                text = ', '.join(f'`{k}` {v}' for k, v in sorted(runs[0]['endpoints'].items(), key=lambda kv: -kv[1]))
                lines.append(f'| {TOOLS[tool]} | {phase} | {text} |')
    lines += ['', '![Wall time against N](provision_time.png)', '', '## Targets', '']
    for tool, target, met, detail in data['targets']:
        mark = 'not measured' if met is None else ('met' if met else '**MISSED**')
        lines.append(f'- {TOOLS[tool]}: {target}: {mark} ({detail})')
    if data.get('profiles'):
        lines += ['', '## Profiles', ''] + [f'- `{p}`' for p in data['profiles']]
    lines += ['', '## Method', '',
              '- All tools talk to the same Keycloak through `tests/harness/counting_proxy.py` (a Python proxy on '
              'loopback; it adds the same small cost per request to every tool). Admin API and token requests '
              'are counted apart. Request counts do not vary between runs; "per client" and "per run" are the slope and '
              'intercept of the straight line through the counts at the smallest and largest N.',
              '- Wall time: launch to exit of `ansible-playbook` (or of the floor\'s Python process). CPU time: '
              '`wait4()` of that process, covering it and every descendant it waited for (forked workers, module '
              'processes). Peak RSS: GNU `time` around the command (`%M`, the same `wait4()` numbers, taken one '
              'process away so that the benchmark\'s own memory does not leak into the child\'s high-water mark); '
              'it is the largest single process of the tree, not a sum.',
              '- Order: repetitions outermost, tools rotated within each, so drifting load from other work on '
              'the machine spreads over all tools. Runs are checked: the realm must hold exactly N such clients '
              'and a re-run must report no change.',
              '- community.general runs as its documentation shows: `loop:` over the clients, one '
              '`keycloak_client` call per item, admin login per call, `client_scopes_behavior` left at its default. '
              'Its new clients get exactly the two listed default scopes; ours and the floor add them to the '
              'realm\'s default scopes (as the admin console does). Ansible settings are the defaults for all '
              'tools (no pipelining, `gather_facts: false`).',
              '- The floor (`bench/floor.py`) sends per client GET by clientId plus, if absent, one POST; per run one '
              'token request and, when something is created, the realm\'s two default-scope lists.']
    if any(not r.get('rss_exact', True) for r in data['runs']):
        data.setdefault('notes', []).append('GNU time was missing: peak RSS is wait4()\'s, which starts at the '
                                            'benchmark driver\'s own RSS (an upper bound)')
    unstable = sorted({f'{TOOLS[k[0]]} N={k[1]} {k[2]}' for k, v in summary.items() if v.get('ok') and not v['counts_stable']})
    if unstable:
        data.setdefault('notes', []).append('request counts differed between runs of: ' + '; '.join(unstable))
    if data.get('notes'):
        lines += ['', '## Notes', ''] + [f'- {n}' for n in data['notes']]
    (out / 'results.md').write_text('\n'.join(lines) + '\n')


def plot(out: Path, data: dict, plot_dir: Path | None) -> str | None:
    if plot_dir is None:
        return 'matplotlib not installed'
    sys.path.append(str(plot_dir))
    try:
        import matplotlib  # pylint: disable=import-outside-toplevel
        matplotlib.use('Agg')
        import matplotlib.pyplot as plt  # pylint: disable=import-outside-toplevel
        import matplotlib.ticker  # pylint: disable=import-outside-toplevel
    except ImportError as exc:
        return f'no plot: {exc}'
    summary = {tuple(json.loads(k)): v for k, v in data['summary'].items()}
    fig, axes = plt.subplots(1, 2, figsize=(12, 6))
    for ax, phase, title in zip(axes, ('scratch', 'rerun'), ('From scratch (fresh realm)', 'Idempotent re-run')):
        for tool in data['tools']:
            points = sorted((k[1], v) for k, v in summary.items() if k[0] == tool and k[2] == phase and v.get('ok'))
            if tool == 'noop':
                noop = [v for k, v in summary.items() if k[0] == 'noop' and v.get('ok')]
                if noop:
                    ax.axhline(statistics.median(w for v in noop for w in v['walls']), color=PLOT_STYLE[tool][0],
                               linestyle=':', label=TOOLS[tool])
                continue
            if not points:
                continue
            xs = [p[0] for p in points]
            ys = [p[1]['wall'] for p in points]
            err = [[y - p[1]['wall_min'] for y, p in zip(ys, points)], [p[1]['wall_max'] - y for y, p in zip(ys, points)]]
            color, marker = PLOT_STYLE[tool]
            ax.errorbar(xs, ys, yerr=err, color=color, marker=marker, capsize=3, label=TOOLS[tool])
            for x, y in zip(xs, ys):
                ax.annotate(f'{y:.2f}s' if y < 10 else f'{y:.0f}s', (x, y), textcoords='offset points', xytext=(5, 4), fontsize=8, color=color)
        ax.set_yscale('log')
        plain = matplotlib.ticker.FuncFormatter(lambda y, _pos: f'{y:g}')
        ax.yaxis.set_major_formatter(plain)
        ax.yaxis.set_minor_formatter(plain)
        ax.tick_params(axis='y', which='minor', labelsize=7)
        ax.set_xlabel('clients (N)')
        ax.set_ylabel('wall time, s (median, min-max bars; log scale)')
        ax.set_title(title)
        ax.set_xticks(data['sizes'])
        ax.grid(True, which='both', alpha=0.3)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc='lower center', ncol=3, fontsize=9, frameon=False)
    m = data['machine']
    fig.suptitle(f'Provisioning N confidential clients: Keycloak {m["keycloak"]}, ansible-core {m["ansible_core"]}, '
                 f'community.general {m["community_general"]}; {m["nproc"]} CPUs, {m["cpu"]}', fontsize=10)
    fig.tight_layout(rect=(0, 0.1, 1, 1))
    fig.savefig(out / 'provision_time.png', dpi=110)
    plt.close(fig)
    return None


# --------------------------------------------------------------------------
# Profile of our module (pyinstrument, in-process)
# --------------------------------------------------------------------------

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


# --------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------

def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--sizes', default='50,100,200',
                        help='client counts for module, role, floor (default 50,100,200)')
    parser.add_argument('--cg-sizes', default='50,200', help='client counts for community.general (default 50,200)')
    parser.add_argument('--reps', type=int, default=3, help='runs per point (median; default 3)')
    parser.add_argument('--cg-reps', type=int, default=None, help='runs per point for community.general (default --reps)')
    parser.add_argument('--budget-min', type=float, default=20,
                        help='skip community.general repetitions after its first run at a size when they would make '
                             'the whole benchmark last longer than this many minutes (default 20; 0: no limit)')
    parser.add_argument('--tools', default='cg,module,role,floor,noop',
                        help='subset of cg,module,role,floor,noop (role only if roles/provision/tasks/main.yml exists)')
    parser.add_argument('--out', default=str(BENCH / 'results'), help='results directory (default bench/results)')
    parser.add_argument('--profile', choices=['auto', 'always', 'never'], default='auto',
                        help='pyinstrument profile of our module at the largest N (auto: when one of its targets is missed)')
    parser.add_argument('--collections', metavar='DIR',
                        help='collections root holding ansible_collections/keycloak_ops/clients to measure instead of '
                             'this checkout (e.g. a copy with a proposed change)')
    parser.add_argument('--report-only', action='store_true',
                        help='rewrite results.md and the plot from the results.json in --out, measuring nothing')
    parser.add_argument('--quick', action='store_true', help='smoke test: sizes 5,10, cg 5, one run, results to a temp dir')
    args = parser.parse_args(argv)
    if args.quick:
        args.sizes, args.cg_sizes, args.reps, args.cg_reps = '5,10', '5', 1, 1
        if args.out == str(BENCH / 'results'):
            args.out = tempfile.mkdtemp(prefix='keycloak_ops-bench-')
    args.cg_reps = args.reps if args.cg_reps is None else args.cg_reps
    return args


def _raise_on_signal(signum, _frame):
    raise SystemExit(128 + signum)  # unwinds through the finally blocks: Keycloak and the run are stopped


def main(argv=None) -> int:
    signal.signal(signal.SIGTERM, _raise_on_signal)
    signal.signal(signal.SIGINT, _raise_on_signal)  # also when started in the background, where SIGINT is ignored
    args = parse_args(argv)
    if args.report_only:
        return report_only(Path(args.out))
    wanted = [t.strip() for t in args.tools.split(',') if t.strip()]
    unknown = set(wanted) - set(TOOLS)
    if unknown:
        raise SystemExit(f'unknown tools: {sorted(unknown)}; choose from {sorted(TOOLS)}')
    if 'role' in wanted and not (REPO / 'roles/provision/tasks/main.yml').exists():
        log('roles/provision/tasks/main.yml does not exist: the role is not measured')
        wanted.remove('role')
    tools = [t for t in TOOLS if t in wanted]
    sizes_main = [int(s) for s in args.sizes.split(',') if s]
    sizes_cg = [int(s) for s in args.cg_sizes.split(',') if s]
    sizes = sorted(set(sizes_main) | (set(sizes_cg) if 'cg' in tools else set()))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    cg_collections = pip_target([f'ansible=={ANSIBLE_RELEASE}'], f'ansible-pkg-{ANSIBLE_RELEASE}',
                                deps=False, tagged=False) \
        if 'cg' in tools else None
    extra = pip_target(bench_requirements(), 'bench-pkgs')
    started = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix='keycloak_ops-bench-work-'))
    server = KeycloakServer.external_from_env()
    try:
        if server is None:
            log('starting Keycloak (tests/harness)')
            server = KeycloakServer.start()
        with server, CountingProxy(server.url, ca_path=server.ca_path) as proxy:
            bench = Bench(server, proxy, args, work, cg_collections)
            machine = machine_info(bench.admin, server, cg_collections)
            log(f'Keycloak {machine["keycloak"]} at {server.url}, proxy {proxy.url}; tools {tools}; sizes {sizes}; '
                f'reps {args.reps} (cg {args.cg_reps})')
            bench.warm_up(tools)
            data = dict(sizes=sizes, tools=tools, reps=args.reps, cg_reps=args.cg_reps, machine=machine,
                        notes=bench.notes, runs=bench.runs)
            schedule = []
            for rep in range(max(args.reps, args.cg_reps)):
                for index, n in enumerate(sizes):
                    order = tools[(rep + index) % len(tools):] + tools[:(rep + index) % len(tools)]
                    for tool in order:
                        if tool == 'cg' and (n not in sizes_cg or rep >= args.cg_reps):
                            continue
                        if tool != 'cg' and (n not in sizes_main or rep >= args.reps):
                            continue
                        if tool == 'noop' and index > 0:
                            continue  # independent of N: once per repetition
                        schedule.append((rep, n, tool))
            took: dict[tuple[str, int], float] = {}
            for position, (rep, n, tool) in enumerate(schedule):
                if tool == 'cg' and rep > 0 and args.budget_min > 0 and ('cg', n) in took:
                    # Extra community.general runs only while the whole benchmark stays within the budget.
                    rest = sum(took.get((t, m), 0) for _r, m, t in schedule[position + 1:] if t != 'cg')
                    projected = time.monotonic() - started + took[('cg', n)] + rest + 60
                    if projected > args.budget_min * 60:
                        note = (f'community.general N={n} run {rep + 1} skipped: it would end the benchmark after '
                                f'{projected / 60:.0f} min, over --budget-min {args.budget_min:g}')
                        log(note)
                        bench.notes.append(note)
                        continue
                began = time.monotonic()
                bench.measure(tool, n, rep)
                took.setdefault((tool, n), time.monotonic() - began)
                save(out, data, started)
            summary = summarize(bench.runs)
            data['summary'] = {json.dumps(list(k)): v for k, v in summary.items()}
            data['targets'] = evaluate_targets(summary, sizes_main, tools)
            missed = [t for t in data['targets'] if t[2] is False and t[0] == 'module']
            if args.profile == 'always' or (args.profile == 'auto' and missed):
                log('profiling our module (pyinstrument)' + (f': {len(missed)} target(s) missed' if missed else ''))
                data['profiles'] = profile_module(bench, max(sizes_main), out, extra)
            machine['load_average_end'] = os.getloadavg()
            save(out, data, started)
            problem = plot(out, data, extra)
            if problem:
                log(problem)
            write_report(out, data)
    except (HarnessUnavailable, StartError) as exc:
        log(f'cannot start Keycloak: {exc}')
        return 3
    finally:
        shutil.rmtree(work, ignore_errors=True)
    log(f'done in {(time.monotonic() - started) / 60:.1f} min: {out / "results.md"}')
    print((out / 'results.md').read_text())
    return 0 if all(r['ok'] for r in bench.runs) else 1


def report_only(out: Path) -> int:
    data = json.loads((out / 'results.json').read_text())
    summary = summarize(data['runs'])
    data['summary'] = {json.dumps(list(k)): v for k, v in summary.items()}
    sizes_main = sorted({r['n'] for r in data['runs'] if r['tool'] in ('module', 'role', 'floor')})
    data['targets'] = evaluate_targets(summary, sizes_main, data['tools'])
    (out / 'results.json').write_text(json.dumps(data, indent=1, default=str) + '\n')
    extra = pip_target(bench_requirements(), 'bench-pkgs')
    problem = plot(out, data, extra)
    if problem:
        log(problem)
    write_report(out, data)
    print((out / 'results.md').read_text())
    return 0


def save(out: Path, data: dict, started: float) -> None:
    data['finished'] = datetime.datetime.now().isoformat(timespec='seconds')
    data['duration_min'] = (time.monotonic() - started) / 60
    runs = [{k: v for k, v in r.items() if k != 'launched'} for r in data['runs']]
    (out / 'results.json').write_text(json.dumps(dict(data, runs=runs), indent=1, default=str) + '\n')


if __name__ == '__main__':
    sys.exit(main())
