"""Paths, the tools measured and the workload shared by every part of the benchmark."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BENCH = REPO / 'bench'
BIN = Path(sys.executable).parent
ANSIBLE_RELEASE = '14.5.0'  # ships community.general 13.x and requires ansible-core ~=2.21.5, as our venv has
SCOPES = ['profile', 'email']
CLIENT_PREFIX = 'bench-client-'
RUN_TIMEOUT = 1800
PARALLEL_FLOOR_WORKERS = 4
TOOLS = {
    'cg': 'community.general keycloak_client (loop)',
    'module': 'keycloak_ops confidential_client (clients list)',
    'role': 'keycloak_ops provision role',
    'floor': 'raw API floor',
    'pfloor': 'raw API floor, parallel (4 in flight)',
    'noop': 'ansible-playbook, one ping task',
}


def cache_dir() -> Path:
    """The project's download and venv cache (as the harness and scripts/bootstrap.sh use it)."""
    return Path(os.environ.get('KEYCLOAK_OPS_CACHE') or '~/.cache/keycloak_ops').expanduser()


def log(msg: str) -> None:
    print(f'[bench {time.strftime("%H:%M:%S")}] {msg}', file=sys.stderr, flush=True)
