"""Provisioning benchmark: community.general's keycloak_client loop, our module and role, and the raw-API floor.

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

Run with bench/run (sets up everything); `bench/run --help` for the options. This file is the command line;
the jobs live in bench/kcbench/: common.py (paths, tools, workload), packages.py (what is installed beside the
venvs), admin.py (the driver's own admin calls), measure.py (one measured run, request counts, profiles) and
report.py (medians, fits, targets, results.md and the plot).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repository: tests.harness is imported

from kcbench.common import ANSIBLE_RELEASE, BENCH, REPO, TOOLS, log  # noqa: E402
from kcbench.measure import Bench, profile_module  # noqa: E402
from kcbench.packages import bench_requirements, pip_target  # noqa: E402
from kcbench.report import evaluate_targets, machine_info, plot, summarize, uptime, write_report  # noqa: E402
from kcbench.authz import measure_authorization  # noqa: E402
from kcbench.scale import measure_rotation, measure_scale  # noqa: E402

from tests.harness.counting_proxy import CountingProxy  # noqa: E402
from tests.harness.keycloak_server import HarnessUnavailable, KeycloakServer, StartError  # noqa: E402


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--sizes', default='50,100,200',
                        help='client counts for module, role, floor (default 50,100,200)')
    parser.add_argument('--cg-sizes', default='50',
                        help='client counts for community.general (default 50: at 200 one run takes minutes)')
    parser.add_argument('--reps', type=int, default=3, help='runs per point (median; default 3)')
    parser.add_argument('--cg-reps', type=int, default=None, help='runs per point for community.general (default --reps)')
    parser.add_argument('--budget-min', type=float, default=30,
                        help='skip community.general repetitions after its first run at a size when they would make '
                             'the whole benchmark last longer than this many minutes (default 30; 0: no limit)')
    parser.add_argument('--tools', default='cg,module,role,floor,pfloor,noop',
                        help='subset of cg,module,role,floor,pfloor,noop (role only if roles/provision/tasks/main.yml '
                             'exists; pfloor: the parallel raw-API floor)')
    parser.add_argument('--out', default=str(BENCH / 'results'), help='results directory (default bench/results)')
    parser.add_argument('--profile', choices=['auto', 'always', 'never'], default='auto',
                        help='pyinstrument profile of our module at the largest N (auto: when one of its targets is missed)')
    parser.add_argument('--collections', metavar='DIR',
                        help='collections root holding ansible_collections/keycloak_ops/clients to measure instead of '
                             'this checkout (e.g. a copy with a proposed change)')
    parser.add_argument('--report-only', action='store_true',
                        help='rewrite results.md and the plot from the results.json in --out, measuring nothing')
    parser.add_argument('--scale-sizes', default='2000,5000',
                        help='client counts for our module alone in a fresh realm, one run each (default 2000,5000; '
                             'empty: none)')
    parser.add_argument('--crowd', type=int, default=10000,
                        help='other clients in the realm of the crowded-realm run (default 10000; 0: no such run)')
    parser.add_argument('--crowd-n', type=int, default=200, help='our clients in the crowded realm (default 200)')
    parser.add_argument('--scale-tools', default='module,role,floor,pfloor',
                        help='tools measured at the scale sizes (default module,role,floor,pfloor)')
    parser.add_argument('--scale-reps', type=int, default=3, help='runs per scale point (default 3)')
    parser.add_argument('--scale-once-above', type=int, default=2000,
                        help='scale sizes above this run once, with our module and the parallel floor only (default 2000)')
    parser.add_argument('--rotation', default='200,1000',
                        help='client counts rotated by playbooks/rotate.yml with delivery to files on 2 hosts, each '
                             'followed by a re-run with nothing due, beside the raw-API floor of a rotation '
                             '(default 200,1000; empty or 0: no rotation run)')
    parser.add_argument('--rotation-reps', type=int, default=None, help='runs per rotation point (default --reps)')
    parser.add_argument('--rotation-once-above', type=int, default=200,
                        help='rotations of more clients than this run once (default 200)')
    parser.add_argument('--authz', type=int, default=50,
                        help='resource servers declared with their authorization in one confidential_client task, '
                             'from scratch and re-run, --reps times (default 50; 0: none)')
    parser.add_argument('--before', metavar='DIR',
                        help='collections root holding the code before a change: the rotation and authorization rows '
                             'are measured with it too, side by side')
    parser.add_argument('--quick', action='store_true', help='smoke test: sizes 5,10, cg 5, one run, results to a temp dir')
    args = parser.parse_args(argv)
    if args.quick:
        args.sizes, args.cg_sizes, args.reps, args.cg_reps = '5,10', '5', 1, 1
        args.scale_sizes, args.crowd, args.crowd_n, args.rotation, args.authz = '30', 200, 3, '6', 3
        args.scale_reps = 1
        if args.out == str(BENCH / 'results'):
            args.out = tempfile.mkdtemp(prefix='keycloak_ops-bench-')
    args.cg_reps = args.reps if args.cg_reps is None else args.cg_reps
    args.rotation_reps = args.reps if args.rotation_reps is None else args.rotation_reps
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
            scale_tools = [t for t in args.scale_tools.split(',') if t in tools]
            scale_sizes = [int(s) for s in args.scale_sizes.split(',') if s]
            for rep in range(args.scale_reps if scale_tools else 0):
                for n in scale_sizes:
                    if n > args.scale_once_above and rep:
                        continue
                    here = [t for t in scale_tools if n <= args.scale_once_above or t in ('module', 'pfloor')]
                    for tool in here[rep % len(here):] + here[:rep % len(here)]:
                        data.setdefault('scale', []).extend(measure_scale(bench, n, 0, tool=tool, rep=rep))
                        save(out, data, started)
            if args.crowd and 'module' in tools:
                data.setdefault('scale', []).extend(measure_scale(bench, args.crowd_n, args.crowd))
                save(out, data, started)
            rotation_sizes = [int(s) for s in str(args.rotation).split(',') if s and int(s)]
            variants = [('rotate', 'now', None), ('rfloor', 'floor', None)]
            if args.before:
                variants.insert(1, ('rotate', 'before', args.before))
            for rep in range(args.rotation_reps if rotation_sizes else 0):
                for count in rotation_sizes:
                    if rep and count > args.rotation_once_above:
                        continue
                    for tool, label, collections in variants[rep % len(variants):] + variants[:rep % len(variants)]:
                        data.setdefault('rotation', []).extend(
                            measure_rotation(bench, count, tool, rep, label=label, collections=collections))
                        save(out, data, started)
            labels = [('now', None)] + ([('before', args.before)] if args.before else [])
            for rep in range(args.reps if args.authz else 0):
                for label, collections in labels[rep % len(labels):] + labels[:rep % len(labels)]:
                    data.setdefault('authz', []).extend(
                        measure_authorization(bench, args.authz, rep, label=label, collections=collections))
                    save(out, data, started)
            summary = summarize(bench.runs)
            data['summary'] = {json.dumps(list(k)): v for k, v in summary.items()}
            data['targets'] = evaluate_targets(summary, sizes_main, tools)
            missed = [t for t in data['targets'] if t[2] is False and t[0] == 'module']
            if args.profile == 'always' or (args.profile == 'auto' and missed):
                log('profiling our module (pyinstrument)' + (f': {len(missed)} target(s) missed' if missed else ''))
                data['profiles'] = profile_module(bench, max(sizes_main), out, extra)
            machine['load_average_end'] = os.getloadavg()
            machine['uptime_end'] = uptime()
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
    sizes_main = sorted({r['n'] for r in data['runs'] if r['tool'] in ('module', 'role', 'floor', 'pfloor')})
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

    def stored(records):
        return [{k: v for k, v in r.items() if k != 'launched'} for r in records]
    extra = {key: stored(data[key]) for key in ('scale', 'rotation', 'authz') if key in data}
    (out / 'results.json').write_text(json.dumps(dict(data, runs=stored(data['runs']), **extra), indent=1,
                                                 default=str) + '\n')


if __name__ == '__main__':
    sys.exit(main())
