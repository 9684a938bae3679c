"""A production-shaped Keycloak on loopback: PostgreSQL, two nodes, TLS ending at a reverse proxy.

What users run, scaled down to one machine:

* PostgreSQL from Debian (``initdb``/``postgres`` of the ``postgresql`` package), a throwaway
  cluster in a temp dir, run as the ``postgres`` user when we are root, on 127.0.0.1 only
  (no Unix socket), a ``keycloak`` role owning a ``keycloak`` database, password auth.
* Two Keycloak nodes in production mode: ``kc.sh build --db=postgres ...`` once per version and
  options (the augmented ``lib/quarkus`` is cached beside the dev builds), then
  ``kc.sh start --optimized`` per node with its own HTTP, management and JGroups ports.  They form
  one Infinispan cluster through the default ``jdbc-ping`` stack (discovery through the shared
  database, so no multicast), bound to 127.0.0.1.
* HAProxy from Debian terminating TLS with the throwaway CA of ``make_certs``, balancing
  round-robin over both nodes, sending ``X-Forwarded-*`` headers (``--proxy-headers=xforwarded``,
  ``--hostname`` set to the proxy's URL), checking each node's ``/health/ready``, and logging
  every request with the node that served it, its status and the ``Location`` of a create
  (``ProductionCluster.proxy_log()``): that log is what the tests read to prove alternation,
  write-free re-runs and which creates a client was told had succeeded.

Each JVM gets a small heap (``-Xmx512m``): the suite runs on two shared cores.
"""

from __future__ import annotations

import atexit
import dataclasses
import hashlib
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from .keycloak_dist import (
    KEYCLOAK_VERSION, HarnessUnavailable, StartError, cache_dir, dist_home, find_java_home, harness_log,
)
from .keycloak_server import (
    ADMIN_USER, FEATURES, KeycloakServer, _save_build, _stop_pgroup, _tail, _urlopen, free_ports,
)
from .tls_material import make_certs

NODE_HEAP = "-Xms64m -Xmx512m"
# Build-time options of every node; the cached build is keyed on them.
BUILD_OPTIONS = ("--db=postgres", "--health-enabled=true", f"--features={FEATURES}")
# JGroups' FD_SOCK2 listens at the transport's port + 50000, so transport ports stay below 15535.
JGROUPS_PORTS = range(7800, 15000)
PROXY_LOG_FORMAT = "%s %ST %HM %HU %hs"  # node, status, method, path, {Location}
_PROXY_LINE = re.compile(r"^(node\d+|<NOSRV>) (\d+) (\S+) (\S+) \{([^}]*)\}$")


def _find_pg_bin(name: str) -> str:
    """A PostgreSQL server binary: PATH first, else Debian's /usr/lib/postgresql/<newest>/bin."""
    found = shutil.which(name)
    if found:
        return found
    versions = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), key=lambda p: int(p.parent.parent.name))
    if not versions:
        raise HarnessUnavailable(f"PostgreSQL's {name} not found: install Debian's postgresql package")
    return str(versions[-1])


def _jgroups_ports(count: int) -> list[int]:
    """Free ports for JGroups whose FD_SOCK2 companion (+50000) is free as well."""
    chosen = []
    for port in JGROUPS_PORTS:
        if all(_port_free(p) for p in (port, port + 50000)):
            chosen.append(port)
            if len(chosen) == count:
                return chosen
    raise StartError("no free JGroups port pair on 127.0.0.1")


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def _wait_port(port: int, proc: subprocess.Popen, what: str, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise StartError(f"{what} exited with code {proc.returncode}:\n{_tail(log)}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise StartError(f"{what} not listening on {port} after {timeout:.0f}s:\n{_tail(log)}")


# --------------------------------------------------------------------------
# PostgreSQL
# --------------------------------------------------------------------------

@dataclasses.dataclass(eq=False)
class Postgres:
    """A throwaway PostgreSQL cluster: ``keycloak`` role and database, on 127.0.0.1:port."""
    directory: Path
    port: int
    password: str
    proc: subprocess.Popen | None = None

    @classmethod
    def start(cls, directory: Path) -> "Postgres":
        db = cls(directory=directory, port=free_ports(1)[0], password=secrets.token_urlsafe(18))
        user = _unprivileged_user()
        directory.mkdir(mode=0o700)
        superuser_password = secrets.token_urlsafe(18)
        pwfile = directory / "pwfile"
        pwfile.write_text(superuser_password)
        if user:
            os.chown(directory, user.pw_uid, user.pw_gid)
            os.chown(pwfile, user.pw_uid, user.pw_gid)
        data = directory / "data"
        db._run([_find_pg_bin("initdb"), "-D", str(data), "-U", "postgres", f"--pwfile={pwfile}",
                 "--auth=scram-sha-256", "--encoding=UTF8", "--no-instructions"])
        pwfile.unlink()
        log = directory / "postgres.log"
        # fsync off: what the tests crash is a Keycloak node, never PostgreSQL or the machine, and flushing
        # every commit of the schema creation to disk costs tens of seconds on a shared CI disk.
        with open(log, "wb") as out:
            db.proc = subprocess.Popen(
                [_find_pg_bin("postgres"), "-D", str(data), "-c", "listen_addresses=127.0.0.1",
                 "-p", str(db.port), "-c", "unix_socket_directories=", "-c", "fsync=off", "-c", "full_page_writes=off"],
                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                **db._as_user(user))
        _wait_port(db.port, db.proc, "postgres", log)
        # The role is created by SQL on stdin, so its password is in no process list.
        sql = (f"CREATE ROLE keycloak LOGIN PASSWORD '{db.password}';\n"
               "CREATE DATABASE keycloak OWNER keycloak;\n")
        # The psql beside the server, not Debian's pg_wrapper on PATH, which wants a cluster it manages.
        psql = Path(_find_pg_bin("postgres")).resolve().with_name("psql")
        psql = str(psql) if psql.exists() else shutil.which("psql") or "psql"
        deadline = time.monotonic() + 30
        while True:
            done = subprocess.run([psql, "-h", "127.0.0.1", "-p", str(db.port), "-U", "postgres", "-d", "postgres",
                                   "-v", "ON_ERROR_STOP=1", "-q"], input=sql, capture_output=True, text=True,
                                  env=dict(os.environ, PGPASSWORD=superuser_password), check=False)
            if done.returncode == 0:
                return db
            if time.monotonic() > deadline or "starting up" not in done.stderr:
                db.stop()
                raise StartError(f"cannot create the keycloak database: {done.stderr.strip()}")
            time.sleep(0.2)

    @staticmethod
    def _as_user(user):
        return {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []} if user else {}

    def _run(self, command: list[str]) -> None:
        done = subprocess.run(command, capture_output=True, text=True, check=False,
                              **self._as_user(_unprivileged_user()))
        if done.returncode != 0:
            raise StartError(f"{Path(command[0]).name} failed: {done.stderr.strip() or done.stdout.strip()}")

    def stop(self) -> None:
        if self.proc is not None:
            _stop_pgroup(self.proc.pid, self.proc)  # SIGTERM: "smart" shutdown, the nodes are gone by now
            self.proc = None


def _unprivileged_user():
    """PostgreSQL refuses to run as root: as root, run it as the postgres user (nobody without one)."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    raise HarnessUnavailable("running as root, but there is no postgres or nobody user to run PostgreSQL as")


# --------------------------------------------------------------------------
# Keycloak nodes
# --------------------------------------------------------------------------

def _optimized_build(version: str, java_home: Path) -> tuple[Path, bool]:
    """lib/quarkus of ``kc.sh build`` with BUILD_OPTIONS, built once per version and cached (path, built now)."""
    key = hashlib.sha256("\n".join(["build", *sorted(BUILD_OPTIONS)]).encode()).hexdigest()[:16]
    cached = cache_dir() / f"keycloak-{version}-builds" / key
    if (cached / "quarkus-application.dat").exists():
        return cached, False
    harness_log(f"kc.sh build {' '.join(BUILD_OPTIONS)} (once per version)")
    scratch = Path(tempfile.mkdtemp(prefix="keycloak-ops-build-"))
    try:
        home = scratch / "dist"
        shutil.copytree(dist_home(version), home, symlinks=True)
        done = subprocess.run([str(home / "bin" / "kc.sh"), "build", *BUILD_OPTIONS], cwd=scratch,
                              env=_node_env(java_home), capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise StartError(f"kc.sh build failed:\n{done.stdout[-3000:]}{done.stderr[-3000:]}")
        _save_build(home / "lib" / "quarkus", cached)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return cached, True


def _node_env(java_home: Path, **extra) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KC_", "JAVA_OPTS"))}
    env.update(JAVA_HOME=str(java_home), JAVA_OPTS_KC_HEAP=NODE_HEAP,
               JAVA_OPTS_APPEND="-XX:TieredStopAtLevel=1", **extra)
    return env


@dataclasses.dataclass(eq=False)
class Node:
    """One Keycloak node: its own copy of the distribution, ports and log; restartable."""
    name: str
    home: Path
    args: list[str]
    env: dict[str, str]
    port: int
    management_port: int
    server: KeycloakServer | None = None
    starts: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.home.parent / f"{self.name}.log"

    def start(self, timeout: float) -> float:
        """Launch ``kc.sh start --optimized`` and wait for /health/ready; returns the seconds it took."""
        started = time.monotonic()
        self.starts += 1
        with open(self.log_path, "ab") as log:
            proc = subprocess.Popen([str(self.home / "bin" / "kc.sh"), "start", "--optimized", *self.args],
                                    cwd=self.home.parent, env=self.env, stdin=subprocess.DEVNULL,
                                    stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.server = KeycloakServer(url=self.url, admin_user=ADMIN_USER, admin_password="",
                                     management_url=f"http://127.0.0.1:{self.management_port}",
                                     log_path=str(self.log_path), started_by_us=True, pid=proc.pid, _proc=proc)
        try:
            self.server._wait_ready(started, timeout)  # pylint: disable=protected-access
        except BaseException:
            self.stop()
            raise
        return round(time.monotonic() - started, 1)

    def stop(self) -> None:
        """SIGTERM, as an orchestrator stops a node (SIGKILL after 30 s)."""
        if self.server is not None:
            self.server.stop(remove=False)
            self.server = None

    def ready_within(self, seconds: float) -> bool:
        """Whether /health/ready answers 200 within `seconds` (Keycloak's cluster check may hold it down)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                with _urlopen(f"http://127.0.0.1:{self.management_port}/health/ready", timeout=5) as resp:
                    if resp.status == 200:
                        return True
            except OSError:
                pass  # 503 (HTTPError is an OSError) or not listening
            time.sleep(0.5)
        return False

    def kill(self) -> None:
        """SIGKILL kc.sh and its JVM at once: a crash, no shutdown hook runs."""
        if self.server is not None and self.server.pid is not None:
            os.killpg(self.server.pid, signal.SIGKILL)
            self.stop()  # reaps it


# --------------------------------------------------------------------------
# The reverse proxy
# --------------------------------------------------------------------------

_HAPROXY_CFG = """\
global
    log stdout format raw local0
    maxconn 512
defaults
    mode http
    log global
    log-format "{log_format}"
    option redispatch
    retries 3
    timeout connect 2s
    timeout client 120s
    timeout server 120s
    timeout check 5s
frontend keycloak_https
    bind 127.0.0.1:{port} ssl crt {pem}
    capture response header Location len 200
    option forwardfor
    http-request set-header X-Forwarded-Proto https
    http-request set-header X-Forwarded-Host %[req.hdr(host)]
    http-request set-header X-Forwarded-Port {port}
    http-response set-header X-Keycloak-Node %s
    default_backend keycloak_nodes
backend keycloak_nodes
    balance roundrobin
    option httpchk GET /health/ready
    http-check expect status 200
    default-server inter 1s fall 2 rise 2
{servers}
"""


def _start_haproxy(directory: Path, port: int, certs: dict[str, Path], nodes: list[Node]) -> subprocess.Popen:
    haproxy = shutil.which("haproxy") or ("/usr/sbin/haproxy" if os.path.exists("/usr/sbin/haproxy") else None)
    if not haproxy:
        raise HarnessUnavailable("haproxy not found: install Debian's haproxy package")
    pem = directory / "proxy.pem"  # HAProxy wants certificate and key in one file
    fd = os.open(pem, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(certs["server.pem"].read_text() + certs["server.key"].read_text())
    servers = "\n".join(f"    server {n.name} 127.0.0.1:{n.port} check port {n.management_port}" for n in nodes)
    cfg = directory / "haproxy.cfg"
    cfg.write_text(_HAPROXY_CFG.format(port=port, pem=pem, servers=servers, log_format=PROXY_LOG_FORMAT))
    log = directory / "haproxy.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([haproxy, "-db", "-f", str(cfg)], stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    _wait_port(port, proc, "haproxy", log)
    return proc


@dataclasses.dataclass(frozen=True)
class ProxyRecord:
    node: str       # node1, node2, or <NOSRV> when no node could take it
    status: int
    method: str
    path: str
    location: str   # Location header of the answer (a create's new resource), else ""


# --------------------------------------------------------------------------
# The cluster
# --------------------------------------------------------------------------

@dataclasses.dataclass(eq=False)
class ProductionCluster(KeycloakServer):
    """The proxy's HTTPS URL is ``url``: to clients of the collection the cluster is one server."""
    nodes: list[Node] = dataclasses.field(default_factory=list)
    database: Postgres | None = None
    build_seconds: float = 0.0      # kc.sh build, 0 when the cached build was reused
    node_start_seconds: list[float] = dataclasses.field(default_factory=list)
    _haproxy: subprocess.Popen | None = dataclasses.field(default=None, repr=False)

    @classmethod
    def start(cls, node_count: int = 2, version: str = KEYCLOAK_VERSION,  # pylint: disable=arguments-differ
              timeout: float | None = None) -> "ProductionCluster":
        t0 = time.monotonic()
        timeout = timeout or float(os.environ.get("KEYCLOAK_START_TIMEOUT") or 240)
        java_home = find_java_home()
        _find_pg_bin("initdb")  # fail early and clearly when PostgreSQL is missing
        instance = Path(tempfile.mkdtemp(prefix="keycloak-ops-prod-"))
        os.chmod(instance, 0o711)  # the postgres user must reach its data directory inside
        cluster = cls(url="", admin_user=ADMIN_USER, admin_password=secrets.token_urlsafe(18), version=version,
                      started_by_us=True, instance_dir=str(instance))
        atexit.register(cluster.stop)  # stop() is idempotent: a fixture's teardown may have run it already
        try:
            build_started = time.monotonic()
            build, built_now = _optimized_build(version, java_home)
            cluster.build_seconds = round(time.monotonic() - build_started, 1) if built_now else 0.0
            cluster.database = Postgres.start(instance / "postgres")
            certs = make_certs(instance / "tls")
            proxy_port, *ports = free_ports(1 + 2 * node_count)
            cluster.url = f"https://127.0.0.1:{proxy_port}"
            cluster.ca_path = str(certs["ca.pem"])
            env = _node_env(java_home, KC_DB_PASSWORD=cluster.database.password,
                            KC_BOOTSTRAP_ADMIN_USERNAME=ADMIN_USER, KC_BOOTSTRAP_ADMIN_PASSWORD=cluster.admin_password)
            for index, jgroups_port in enumerate(_jgroups_ports(node_count)):
                port, management_port = ports[2 * index:2 * index + 2]
                name = f"node{index + 1}"
                home = instance / name / "dist"
                shutil.copytree(dist_home(version), home, symlinks=True)
                shutil.copytree(build, home / "lib" / "quarkus", dirs_exist_ok=True)
                args = [
                    f"--hostname={cluster.url}", "--proxy-headers=xforwarded", "--proxy-trusted-addresses=127.0.0.1",
                    # Longer than the proxy takes to see a stopping node as not ready (2 checks, 1 s apart).
                    "--shutdown-delay=5s", "--http-enabled=true", "--http-host=127.0.0.1", f"--http-port={port}",
                    "--http-management-host=127.0.0.1", f"--http-management-port={management_port}",
                    "--db-url-host=127.0.0.1", f"--db-url-port={cluster.database.port}",
                    "--db-url-database=keycloak", "--db-username=keycloak",
                    "--cache-embedded-network-bind-address=127.0.0.1",
                    f"--cache-embedded-network-bind-port={jgroups_port}",
                ]
                cluster.nodes.append(Node(name=name, home=home, args=args, env=env, port=port,
                                          management_port=management_port))
            # One after the other: the first creates the schema and the admin, the second joins its cluster.
            for node in cluster.nodes:
                cluster.node_start_seconds.append(node.start(timeout))
                harness_log(f"{node.name} ready in {cluster.node_start_seconds[-1]:.1f}s at {node.url}")
            cluster._haproxy = _start_haproxy(instance, proxy_port, certs, cluster.nodes)
            cluster.version = cluster._query_version()
            cluster.startup_seconds = round(time.monotonic() - t0, 1)
            harness_log(f"production cluster ready in {cluster.startup_seconds:.1f}s at {cluster.url}")
            return cluster
        except BaseException:
            cluster.stop()
            raise

    # -- what the tests look at ------------------------------------------------

    def proxy_log(self) -> list[ProxyRecord]:
        """Every request the proxy has answered so far, in order."""
        records = []
        for line in (Path(self.instance_dir) / "haproxy.log").read_text(errors="replace").splitlines():
            match = _PROXY_LINE.match(line.strip())
            if match:
                node, status, method, path, location = match.groups()
                records.append(ProxyRecord(node, int(status), method, path, location))
        return records

    def node(self, name: str) -> Node:
        return next(n for n in self.nodes if n.name == name)

    def wait_in_rotation(self, node: Node, timeout: float = 30) -> None:
        """Until the proxy sends requests to node again (its health check has to see it ready twice)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            served = set()
            for _request in range(4):
                with self._open("/realms/master") as resp:
                    served.add(resp.headers.get("X-Keycloak-Node"))
            if node.name in served:
                return
            time.sleep(0.5)
        raise StartError(f"the proxy did not take {node.name} back within {timeout:.0f}s")

    def _open(self, path: str):
        return _urlopen(self.url + path, timeout=10, context=self._ssl_context())

    # -- lifecycle --------------------------------------------------------------

    def stop(self, remove: bool = True) -> None:
        if self._haproxy is not None:
            _stop_pgroup(self._haproxy.pid, self._haproxy, timeout=5)
            self._haproxy = None
        for node in self.nodes:
            node.stop()
        if self.database is not None:
            self.database.stop()
            self.database = None
        if remove and self.instance_dir and not os.environ.get("KEYCLOAK_KEEP_INSTANCE"):
            shutil.rmtree(self.instance_dir, ignore_errors=True)
