"""Start or stop the local development Keycloak of the keycloak_dev role.

    keycloak_dev.py start --zip DIST.zip --state-file STATE.json
    keycloak_dev.py stop --state-file STATE.json

start: unpack the distribution zip (already downloaded and checksum-verified by the role) beside itself once,
copy it into an instance directory of its own, run ``kc.sh start-dev`` on free ports of 127.0.0.1 with a random
admin password, wait until ``/health/ready`` answers, and record the server in the state file (mode 0600).
stop: stop the recorded server (only if its process is still ours) and delete its instance directory.

Standard library only (Python 3.11+); needs a Java 21+ JDK (KEYCLOAK_JAVA_HOME, JAVA_HOME or /usr/lib/jvm/*).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import zipfile
from pathlib import Path

READY_TIMEOUT = 240
INSTANCE_PREFIX = "keycloak-ops-dev-"  # stop deletes only directories named keycloak-ops-*


def java_home() -> Path:
    """The newest JDK of at least Java 21: Keycloak 26 runs on nothing older."""
    def major(home: Path) -> int:
        release = home / "release"
        if not (release.exists() and os.access(home / "bin" / "java", os.X_OK)):
            return 0
        found = re.search(r'^JAVA_VERSION="(\d+)', release.read_text(errors="replace"), re.M)
        return int(found.group(1)) if found else 0

    named = [Path(os.environ[name]) for name in ("KEYCLOAK_JAVA_HOME", "JAVA_HOME") if os.environ.get(name)]
    for home in named + sorted(Path("/usr/lib/jvm").glob("*/"), key=major, reverse=True):
        if major(home) >= 21:
            return home
    sys.exit("no Java 21+ JDK: install one (e.g. Temurin 21) under /usr/lib/jvm or set KEYCLOAK_JAVA_HOME")


def unpacked(zip_path: Path) -> Path:
    """The distribution unpacked beside its zip (once; kc.sh and the other scripts keep their modes)."""
    with zipfile.ZipFile(zip_path) as archive:
        top = archive.namelist()[0].split("/")[0]
        home = zip_path.parent / top
        if (home / "bin" / "kc.sh").exists():
            return home
        staging = Path(tempfile.mkdtemp(dir=zip_path.parent, prefix=".unpack-"))
        try:
            for member in archive.infolist():
                target = archive.extract(member, staging)
                if member.external_attr >> 16 & 0o777:  # zipfile drops modes; kc.sh must stay executable
                    os.chmod(target, member.external_attr >> 16 & 0o777)
            os.rename(staging / top, home)  # complete or absent: a half-unpacked tree never has the real name
        except OSError:
            if not (home / "bin" / "kc.sh").exists():  # lost a race to another start only if the winner finished
                raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return home


def free_port_pair() -> tuple[int, int]:
    with socket.socket() as first, socket.socket() as second:
        first.bind(("127.0.0.1", 0))
        second.bind(("127.0.0.1", 0))
        return first.getsockname()[1], second.getsockname()[1]


def start(zip_path: Path, state_file: Path) -> None:
    dist = unpacked(zip_path)
    instance = Path(tempfile.mkdtemp(prefix=INSTANCE_PREFIX))
    shutil.copytree(dist, instance / "dist", symlinks=True)
    # kc.sh builds (~20 s) when lib/quarkus lacks a build for these options: keep the first one for later starts.
    build = dist.with_name(dist.name + "-dev-build")
    if build.is_dir():
        shutil.copytree(build, instance / "dist" / "lib" / "quarkus", dirs_exist_ok=True)
    port, management_port = free_port_pair()
    password = secrets.token_urlsafe(18)
    env = {name: value for name, value in os.environ.items() if not name.startswith("KC_")}
    env.update(JAVA_HOME=str(java_home()), KC_BOOTSTRAP_ADMIN_USERNAME="admin", KC_BOOTSTRAP_ADMIN_PASSWORD=password)
    env.setdefault("JAVA_OPTS_APPEND", "-XX:TieredStopAtLevel=1")  # quick JIT only: a faster start on small machines
    with open(instance / "keycloak.log", "wb") as log:
        process = subprocess.Popen(
            [str(instance / "dist" / "bin" / "kc.sh"), "start-dev", "--http-host=127.0.0.1", f"--http-port={port}",
             "--http-management-host=127.0.0.1", f"--http-management-port={management_port}",
             "--health-enabled=true", "--features=client-secret-rotation"],
            cwd=instance, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True)  # a process group of its own: stop signals kc.sh and its JVM together
    state = {"url": f"http://127.0.0.1:{port}", "admin_user": "admin", "admin_password": password,
             "admin_realm": "master", "management_url": f"http://127.0.0.1:{management_port}",
             "pid": process.pid, "instance_dir": str(instance)}
    if not ready(state["management_url"] + "/health/ready", process):
        tail = (instance / "keycloak.log").read_text(errors="replace").splitlines()[-40:]
        signal_group(process.pid, signal.SIGKILL, 0)
        process.wait()
        shutil.rmtree(instance, ignore_errors=True)
        sys.exit("Keycloak did not become ready on 127.0.0.1:%d; the end of its log:\n%s" % (port, "\n".join(tail)))
    if not build.exists():
        keep_build(instance / "dist" / "lib" / "quarkus", build)
    fd = os.open(state_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # it holds the admin password
    with os.fdopen(fd, "w") as handle:
        json.dump(state, handle, indent=2)


def keep_build(quarkus: Path, build: Path) -> None:
    """Keep the build for later starts; a copy appears complete under its name or not at all."""
    staging = Path(tempfile.mkdtemp(dir=build.parent, prefix=".build-"))
    try:
        shutil.copytree(quarkus, staging, dirs_exist_ok=True)
        os.rename(staging, build)
    except OSError:
        pass  # another start kept its build first, or the cache is read-only: the next start builds again
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def ready(health_url: str, process: subprocess.Popen) -> bool:
    no_proxy = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback never goes through a proxy
    deadline = time.monotonic() + float(os.environ.get("KEYCLOAK_START_TIMEOUT") or READY_TIMEOUT)
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with no_proxy.open(health_url, timeout=5) as answer:
                if answer.status == 200:
                    return True
        except OSError:
            pass  # not listening yet, or 503 while starting
        time.sleep(0.5)
    return False


def stop(state: dict) -> None:
    """Stop a recorded server, signalling its process group only while the group is still that server's."""
    pid, instance = state.get("pid"), state.get("instance_dir") or ""
    if isinstance(pid, int) and instance:
        try:
            ours = instance in Path(f"/proc/{pid}/cmdline").read_text(errors="replace")
        except OSError:
            ours = True  # the leader is gone: only a leftover JVM of ours can still be in its group
        for sig, seconds in ((signal.SIGTERM, 30), (signal.SIGKILL, 10)) if ours else ():
            if not signal_group(pid, sig, seconds):
                break
    if Path(instance).name.startswith("keycloak-ops-"):
        shutil.rmtree(instance, ignore_errors=True)


def signal_group(pgid: int, sig: int, seconds: float) -> bool:
    """Send sig to the group; True if some member is still alive after waiting seconds."""
    deadline = time.monotonic() + seconds
    try:
        os.killpg(pgid, sig)
        while time.monotonic() < deadline:
            time.sleep(0.1)
            os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=["start", "stop"])
    parser.add_argument("--state-file", type=Path, required=True)
    parser.add_argument("--zip", type=Path, help="the verified distribution zip (start)")
    args = parser.parse_args()
    if args.action == "start":
        if not args.zip:
            parser.error("start needs --zip")
        start(args.zip, args.state_file)
    elif args.state_file.exists():
        stop(json.loads(args.state_file.read_text()))
        args.state_file.unlink()


if __name__ == "__main__":
    main()
