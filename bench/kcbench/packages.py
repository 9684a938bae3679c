"""Packages the benchmark needs beyond the test venv, installed with pip --target into the cache."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from .common import BENCH, cache_dir, log


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
