"""From runs to medians, fits and targets, and from those to results.md and the plot."""

from __future__ import annotations

import importlib.metadata
import json
import os
import platform
import statistics
import subprocess
import sys
from pathlib import Path

from tests.harness.keycloak_server import KeycloakServer

from .admin import DirectAdmin
from .common import ANSIBLE_RELEASE, SCOPES, TOOLS

# Goals at the largest N, from scratch: wall time against the sequential raw-API floor (bench/floor.py).
FLOOR_GOALS = {'module': 0.5, 'role': 0.7}
# Admin requests of a re-run of our module, whatever N (the role runs the module twice: check mode, then for real).
RERUN_BUDGET = 5
PLOT_STYLE = {'cg': ('tab:red', 'o'), 'module': ('tab:blue', 's'), 'role': ('tab:cyan', 'D'),
              'floor': ('black', '^'), 'pfloor': ('dimgray', 'v'), 'noop': ('tab:gray', 'x')}
# Goal against the parallel raw-API floor (bench/floor.py --parallel 4): wall <= this x the floor + the ping playbook.
PARALLEL_FLOOR_GOAL = 1.15


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
                goal = FLOOR_GOALS[tool]
                label = '' if n == max(sizes) else ', informational (the goal is set at the largest N)'
                targets.append((tool, f'N={n} from scratch{label}: <= {goal}x the sequential raw-API floor',
                                ratio <= goal, f'{ratio:.2f}x: {ours["wall"]:.2f} s vs {floor["wall"]:.2f} s'))
                if noop is not None:
                    beyond = (ours['wall'] - noop) / floor['wall']
                    targets.append((tool, f'N={n} from scratch, informational: (wall - ping playbook) <= 1.3x the floor',
                                    beyond <= 1.3, f'{beyond:.2f}x: {ours["wall"]:.2f} s - {noop:.2f} s vs {floor["wall"]:.2f} s'))
            pfloor = get('pfloor', n, 'scratch')
            if ours and pfloor and noop is not None:
                allowed = PARALLEL_FLOOR_GOAL * pfloor['wall'] + noop
                label = '' if tool == 'module' else ', informational (the goal is set for the module)'
                targets.append((tool, f'N={n} from scratch{label}: <= {PARALLEL_FLOOR_GOAL}x the parallel raw-API floor '
                                      '+ the ping playbook', ours['wall'] <= allowed,
                                f'{ours["wall"]:.2f} s vs {PARALLEL_FLOOR_GOAL} x {pfloor["wall"]:.2f} s + {noop:.2f} s '
                                f'= {allowed:.2f} s'))
            ours, cg = get(tool, n, 'rerun'), get('cg', n, 'rerun')
            if ours:
                targets.append((tool, f'N={n} re-run: 0 write requests', ours['admin_writes'] == 0,
                                f'{ours["admin_writes"]} writes'))
                total = ours['admin_reads'] + ours['admin_writes']
                budget = RERUN_BUDGET * (2 if tool == 'role' else 1)  # the role runs a check-mode pass first
                targets.append((tool, f'N={n} re-run: <= {budget} admin requests in total', total <= budget,
                                f'{total} requests'))
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


# Rotation of ROTATION_GOAL_N clients with delivery to files on 2 hosts.
ROTATION_GOAL_N = 200
ROTATION_WALL = 20.0
ROTATION_READS_PER_CLIENT = 2
ROTATION_READS_CONSTANT = 20
ROTATION_WRITES_PER_CLIENT = 3
ROTATION_WRITES_CONSTANT = 2  # the realm's client profile and policy, written once
NOTHING_DUE_BUDGET = 5


def medians(records: list[dict], keys: tuple[str, ...]) -> list[dict]:
    """One entry per group of records with the same values of keys: the median run's record (by wall time) with
    wall_min, wall_max and runs/ok counts; a group with no successful run keeps its first failure."""
    groups: dict[tuple, list[dict]] = {}
    for record in records:
        groups.setdefault(tuple(record.get(k) for k in keys), []).append(record)
    out = []
    for group in groups.values():
        ok = sorted((r for r in group if r['ok']), key=lambda r: r['wall'])
        entry = dict(ok[(len(ok) - 1) // 2] if ok else group[0])
        entry.update(runs=len(group), runs_ok=len(ok), walls=[r['wall'] for r in ok],
                     loads=[r['load'] for r in ok if r.get('load') is not None],
                     wall=statistics.median(r['wall'] for r in ok) if ok else entry['wall'],
                     wall_min=ok[0]['wall'] if ok else None, wall_max=ok[-1]['wall'] if ok else None)
        out.append(entry)
    return out


def rotation_goals(records: list[dict]) -> list[str]:
    """The rotation goals, met or missed, on the medians of the rotate role (this checkout), as lines of the report."""
    lines = []
    for r in records:
        if not r['runs_ok'] or r['tool'] != 'rotate' or (r.get('label') or 'now') != 'now':
            continue
        n = r['n']
        if r['phase'] == 'rotate':
            checks = [
                (f'wall <= {ROTATION_WALL:g} s', r['wall'] <= ROTATION_WALL, f'{r["wall"]:.2f} s', n == ROTATION_GOAL_N),
                (f'admin reads <= {ROTATION_READS_PER_CLIENT}/client + {ROTATION_READS_CONSTANT}',
                 r['admin_reads'] <= ROTATION_READS_PER_CLIENT * n + ROTATION_READS_CONSTANT, f'{r["admin_reads"]}', True),
                (f'admin writes <= {ROTATION_WRITES_PER_CLIENT}/client + {ROTATION_WRITES_CONSTANT}',
                 r['admin_writes'] <= ROTATION_WRITES_PER_CLIENT * n + ROTATION_WRITES_CONSTANT,
                 f'{r["admin_writes"]}', True),
            ]
        else:
            total = r['admin_reads'] + r['admin_writes']
            checks = [(f'<= {NOTHING_DUE_BUDGET} admin requests, 0 writes, nothing delivered',
                       total <= NOTHING_DUE_BUDGET and r['admin_writes'] == 0 and not r.get('rewritten'),
                       f'{total} requests, {r["admin_writes"]} writes, {r.get("rewritten")} files rewritten',
                       n == ROTATION_GOAL_N)]
        for label, met, detail, goal in checks:
            scope = '' if goal else ' (informational: the goal is set at N=%d)' % ROTATION_GOAL_N
            lines.append(f'- Rotation N={n} {r["phase"]}: {label}{scope}: {"met" if met else "**MISSED**"} ({detail})')
    return lines


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
        'uptime_start': uptime(),
    }


def uptime() -> str:
    """The uptime command's line (the machine is shared: its load tells how far the times can be compared)."""
    try:
        return subprocess.run(['uptime'], capture_output=True, text=True, check=False, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ''


def write_report(out: Path, data: dict) -> None:
    summary = {tuple(json.loads(k)): v for k, v in data['summary'].items()}
    sizes, tools = data['sizes'], data['tools']
    m = data['machine']
    lines = [
        '# Provisioning benchmark', '',
        f'Generated by `bench/run` on {data["finished"]} in {data["duration_min"]:.1f} min '
        f'(up to {data["reps"]} runs per point, community.general up to {data["cg_reps"]}: see "Runs ok"; '
        'times are medians).', '',
        f'- Machine: {m["nproc"]} CPUs ({m["cpu"]}), {m["memory"]} RAM, Linux {m["kernel"]}; '
        f'load average at start {", ".join(f"{x:.2f}" for x in m["load_average_start"])}, at end '
        f'{", ".join(f"{x:.2f}" for x in m["load_average_end"])}',
        f'- `uptime` at the start: `{m.get("uptime_start", "?")}`; at the end: `{m.get("uptime_end", "?")}` (the machine is '
        'shared with other jobs: times of runs side by side compare, absolute times depend on that load)',
        f'- Keycloak {m["keycloak"]} ({m["keycloak_server"]}, Java {m["keycloak_java"]}), behind the counting proxy',
        f'- ansible-core {m["ansible_core"]}, Python {m["python"]}, python-keycloak {m["python_keycloak"]}, '
        f'community.general {m["community_general"]} (from the `ansible` {m["ansible_package"]} package)',
        '- Each client: confidential, service account on, standard flow and direct grants off, default client '
        f'scopes {" and ".join(SCOPES)}. From scratch: a fresh realm per measurement; re-run: the same task again.',
        '', '## Results', '',
        '| Tool | N | Phase | Median wall s (min-max) | x floor | x parallel floor | x faster than cg | Admin reads/client '
        '(+ per run) | Admin writes/client (+ per run) | Token requests | Peak RSS MiB | CPU s | Runs ok |',
        '| --- | ---: | --- | --- | ---: | ---: | ---: | --- | --- | ---: | ---: | ---: | ---: |',
    ]
    for phase in ('scratch', 'rerun'):
        for n in sizes:
            for tool in tools:
                e = summary.get((tool, n, phase))
                if tool == 'noop' or not e:
                    continue
                if not e.get('ok'):
                    lines.append(f'| {TOOLS[tool]} | {n} | {phase} | FAILED: {str(e["failed"][:1])[:120]} | | | | | | | | | 0/{e["runs"]} |')
                    continue
                floor, cg = summary.get(('floor', n, phase)), summary.get(('cg', n, phase))
                x_floor = e['wall'] / floor['wall'] if floor and floor.get('ok') else None
                pfloor = summary.get(('pfloor', n, phase))
                x_pfloor = e['wall'] / pfloor['wall'] if pfloor and pfloor.get('ok') else None
                x_cg = cg['wall'] / e['wall'] if cg and cg.get('ok') else None
                lines.append(
                    f'| {TOOLS[tool]} | {n} | {"from scratch" if phase == "scratch" else "re-run"} | '
                    f'{e["wall"]:.2f} ({e["wall_min"]:.2f}-{e["wall_max"]:.2f}) | {fmt(x_floor)} | {fmt(x_pfloor)} | {fmt(x_cg, ".1f")} | '
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
    if sizes:  # a run of the rotation rows alone (--sizes '') has no provisioning table
        lines += ['', f'Requests by endpoint at N={sizes[-1]} (realm and ids left out):', '',
                  '| Tool | Phase | Requests |', '| --- | --- | --- |']
        for phase in ('scratch', 'rerun'):
            for tool in tools:
                runs = [r for r in data['runs']
                        if r['tool'] == tool and r['n'] == sizes[-1] and r['phase'] == phase and r['ok']]
                if runs and tool != 'noop':
                    text = ', '.join(f'`{k}` {v}' for k, v in sorted(runs[0]['endpoints'].items(), key=lambda kv: -kv[1]))
                    lines.append(f'| {TOOLS[tool]} | {phase} | {text} |')
        lines += ['', '![Wall time against N](provision_time.png)', '']
        lines += before_and_after(out, summary, sizes[-1], tools)
    lines += scale_and_rotation(data)
    lines += ['## Targets', '']
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
    closing = out / 'closing-note.md'
    if closing.exists():
        lines += [''] + closing.read_text().rstrip('\n').splitlines()
    (out / 'results.md').write_text('\n'.join(lines) + '\n')


def before_and_after(out: Path, summary: dict, n: int, tools: list[str]) -> list[str]:
    """The largest N next to the same point of the previous results kept beside (results-<date>.json)."""
    kept = sorted(out.glob('results-*.json'))
    if not kept:
        return []
    before = summarize(json.loads(kept[-1].read_text())['runs'])
    lines = [f'## Before and after (N={n}, medians; before: `{kept[-1].name}`, same machine and Keycloak)', '',
             '| Tool | Phase | Wall s before | Wall s now | Now / before | Admin requests before | Admin requests now |',
             '| --- | --- | ---: | ---: | ---: | ---: | ---: |']
    for phase in ('scratch', 'rerun'):
        for tool in tools:
            old, new = before.get((tool, n, phase)), summary.get((tool, n, phase))
            if tool == 'noop' or not (old and old.get('ok') and new and new.get('ok')):
                continue
            lines.append(f'| {TOOLS[tool]} | {phase} | {old["wall"]:.2f} | {new["wall"]:.2f} | '
                         f'{new["wall"] / old["wall"]:.2f} | {old["admin_reads"] + old["admin_writes"]} | '
                         f'{new["admin_reads"] + new["admin_writes"]} |')
    return lines + ['']


def scale_and_rotation(data: dict) -> list[str]:
    lines = []
    noops = [r['wall'] for r in data.get('runs', []) if r['tool'] == 'noop' and r['ok']]
    if data.get('scale'):
        scale = medians([dict(r, tool=r.get('tool', 'module')) for r in data['scale']], ('tool', 'n', 'others', 'phase'))
        lines += ['## Scale: one task for many clients (medians where a point ran more than once)', '',
                  '| Tool | N | Other clients in the realm | Phase | Wall s (min-max) | Per client ms | x floor | x parallel floor '
                  '| Admin reads | Admin writes | Token requests | Peak RSS MiB | CPU s | Runs ok |',
                  '| --- | ---: | ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |']

        def point(tool, r):
            return next((p for p in scale if p['tool'] == tool and p['n'] == r['n'] and p['others'] == r['others']
                         and p['phase'] == r['phase'] and p['runs_ok']), None)
        for r in scale:
            if not r['runs_ok']:
                lines.append(f'| {TOOLS[r["tool"]]} | {r["n"]} | {r["others"]} | {r["phase"]} | FAILED: '
                             f'{str(r["error"])[:100]} | | | | | | | | | 0/{r["runs"]} |')
                continue
            floor, pfloor = point('floor', r), point('pfloor', r)
            lines.append(f'| {TOOLS[r["tool"]]} | {r["n"]} | {r["others"]} | {r["phase"]} | {r["wall"]:.2f} '
                         f'({r["wall_min"]:.2f}-{r["wall_max"]:.2f}) | {r["wall"] / r["n"] * 1000:.1f} | '
                         f'{fmt(r["wall"] / floor["wall"] if floor else None)} | '
                         f'{fmt(r["wall"] / pfloor["wall"] if pfloor else None)} | {r["admin_reads"]} | '
                         f'{r["admin_writes"]} | {r["token"]} | {r["maxrss_kb"] / 1024:.0f} | {r["cpu"]:.2f} | '
                         f'{r["runs_ok"]}/{r["runs"]} |')
        lines.append('')
        for r in scale:
            pfloor = point('pfloor', r)
            if r['tool'] in ('module', 'role') and r['phase'] == 'scratch' and r['runs_ok'] and pfloor and noops:
                allowed = PARALLEL_FLOOR_GOAL * pfloor['wall'] + statistics.median(noops)
                scope = '' if r['tool'] == 'module' else ' (informational: the goal is set for the module)'
                lines.append(f'- {TOOLS[r["tool"]]} N={r["n"]} from scratch: <= {PARALLEL_FLOOR_GOAL}x the parallel '
                             f'raw-API floor + the ping playbook{scope}: '
                             f'{"met" if r["wall"] <= allowed else "**MISSED**"} ({r["wall"]:.2f} s vs {allowed:.2f} s)')
        crossover = next((r['crossover'] for r in data['scale'] if r.get('crossover')), None)
        if crossover:
            lines += ['', f'Listing against querying, timed directly on Keycloak in the realm of {crossover["listed"]} '
                      f'clients: one exact clientId query {crossover["query_ms"]:.1f} ms, the listing (full '
                      f'representations, pages of 300, one at a time) {crossover["listing_s"]:.2f} s, so one query '
                      f'costs as much as listing {crossover["listed_per_query"]:.0f} clients; the module lists when the '
                      'realm holds fewer than 6 x the clients it looks for (`LISTED_PER_QUERY`), else it queries them, '
                      '4 at a time.']
        lines.append('')
    if data.get('rotation'):
        lines += rotation_section(medians(data['rotation'], ('tool', 'label', 'n', 'phase')))
    if data.get('authz'):
        lines += authz_section(medians(data['authz'], ('label', 'n', 'phase')))
    return lines


def rotation_section(rows: list[dict]) -> list[str]:
    lines = ['## Rotation: playbooks/rotate.yml, delivery to files on 2 hosts', '',
             'Grace period on (the previous secret stays valid 10 min), each new secret verified by a '
             'client-credentials token from the controller (one task, four requests in flight), then the previous '
             'one retired. "nothing due": the same again with a maximum age of one day, which the fresh secrets have '
             'not reached (a scheduled run with nothing to do). Each measurement in a fresh realm of N new clients, so '
             'every rotation is their first (the policy attribute is set on each). Beside it the raw-API floor of a '
             'rotation (`bench/rotation_floor.py`: one process, the listing in pages side by side, then per client the '
             'attribute, the regenerate, the file, the token and the retirement, four in flight, nothing read back).',
             '', '| Tool | Code | Clients | Run | Wall s (min-max) | x floor | Admin reads | Admin writes | Token requests '
             '| Files rewritten | Peak RSS MiB | CPU s | Load (1 min) at the end | Runs ok |',
             '| --- | --- | ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: |']
    for r in sorted(rows, key=lambda r: (r['n'], r['phase'] != 'rotate', r['tool'] != 'rotate', r.get('label') != 'now')):
        if not r['runs_ok']:
            lines.append(f'| {r["tool"]} | {r.get("label") or "now"} | {r["n"]} | {r["phase"]} | FAILED: '
                         f'{str(r["error"])[:100]} | | | | | | | | | 0/{r["runs"]} |')
            continue
        floor = next((f for f in rows if f['tool'] == 'rfloor' and f['n'] == r['n'] and f['phase'] == r['phase']
                      and f['runs_ok']), None)
        lines.append(f'| {"rotate role" if r["tool"] == "rotate" else "raw API floor"} | {r.get("label") or "now"} | '
                     f'{r["n"]} | {r["phase"]} | {r["wall"]:.2f} ({r["wall_min"]:.2f}-{r["wall_max"]:.2f}) | '
                     f'{fmt(r["wall"] / floor["wall"] if floor else None)} | {r["admin_reads"]} | {r["admin_writes"]} | '
                     f'{r["token"]} | {r.get("rewritten", r["files"])} of {r["files"]} | {r["maxrss_kb"] / 1024:.0f} | '
                     f'{r["cpu"]:.2f} | {", ".join(f"{x:.1f}" for x in r["loads"]) or "-"} | {r["runs_ok"]}/{r["runs"]} |')
    lines += [''] + rotation_goals(rows)
    for r in rows:
        if r['runs_ok'] and r['tool'] == 'rfloor' and r.get('phases'):
            lines += ['', f'The floor, "{r["phase"]}" at N={r["n"]} (median run): ' + ', '.join(
                f'{phase} {took:.1f} s' for phase, took in r['phases'].items())
                + f'; the rest ({r["wall"] - sum(r["phases"].values()):.1f} s) is the start of its Python process.']
        if not r['runs_ok'] or r['tool'] != 'rotate':
            continue
        lines += ['', f'Requests of the rotate role ({r.get("label") or "now"}), "{r["phase"]}" at N={r["n"]} (median run) '
                  'by endpoint: ' + ', '.join(f'`{k}` {v}' for k, v in sorted(r['endpoints'].items(), key=lambda kv: -kv[1]))]
        timer = r.get('timer')
        if timer:
            modules = [t for t in timer['task_detail'] if t[1] >= 1.0]
            rest = sum(t[1] for t in timer['task_detail'] if t[1] < 1.0)
            parts = [f'start-up until the play starts {timer["startup"]:.1f} s'] + [
                f'{name} {took:.1f} s' for name, took, _items in modules]
            lines.append(f'Where its {r["wall"]:.1f} s went: ' + '; '.join(parts)
                         + f'; {len(timer["task_detail"]) - len(modules)} other tasks {rest:.1f} s together.')
    return lines + ['']


def authz_section(rows: list[dict]) -> list[str]:
    lines = ['## Authorization: resource servers declared in one confidential_client task', '',
             'Each client declares two scopes, a resource, a role policy and a scope permission. "settings reads": '
             '`GET .../authz/resource-server/settings`, one per existing resource server (Keycloak\'s client listing '
             'carries no authorization settings; see the closing note).', '',
             '| Code | Resource servers | Phase | Wall s (min-max) | Admin reads | of them settings reads | Admin writes '
             '| CPU s | Runs ok |',
             '| --- | ---: | --- | --- | ---: | ---: | ---: | ---: | ---: |']
    for r in sorted(rows, key=lambda r: (r['n'], r['phase'] != 'scratch', r.get('label') != 'before')):
        if not r['runs_ok']:
            lines.append(f'| {r["label"]} | {r["n"]} | {r["phase"]} | FAILED: {str(r["error"])[:100]} | | | | | '
                         f'0/{r["runs"]} |')
            continue
        lines.append(f'| {r["label"]} | {r["n"]} | {r["phase"]} | {r["wall"]:.2f} ({r["wall_min"]:.2f}-'
                     f'{r["wall_max"]:.2f}) | {r["admin_reads"]} | {r["settings_reads"]} | {r["admin_writes"]} | '
                     f'{r["cpu"]:.2f} | {r["runs_ok"]}/{r["runs"]} |')
    return lines + ['']


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
