"""Start and stop real Keycloak servers for tests (no Docker needed).

A server is the official distribution zip from Maven Central run with
``kc.sh start-dev`` (TLS variant: ``kc.sh start``, because start-dev cannot turn
plain HTTP off), bound to 127.0.0.1 on free ports, with a random admin password.
Each instance runs from its own copy of the distribution (~0.3 s): kc.sh writes
its build output into ``lib/quarkus`` and the H2 database into ``data/``, so
concurrent instances cannot share one directory.

Speed (2 CPUs): a cold start is ~30 s, a warm one ~7 s, thanks to two caches
per variant (set of build-time options), both kept beside the zip:

* ``lib/quarkus``: kc.sh "re-augments" (~20 s, then a JVM relaunch) whenever
  the build-time options differ from the last build; we keep the result.
* the H2 database of a fresh install: creating schema, master realm and admin
  takes ~6 s; we copy it in and then set a new random admin password.

Distributions and the JDK come from keycloak_dist.py, the TLS variant's certificates from tls_material.py.
Standard library only (Python >= 3.11), so CI can run ``fetch``/``run`` before
any dependency is installed. The keycloak_dev role has a launcher of its own for users.

CLI (from the repository root)::

    python -m tests.harness.keycloak_server fetch [--warm]
    python -m tests.harness.keycloak_server run [--tls] [--relative-path /auth] -- CMD ARGS...
    python -m tests.harness.keycloak_server start --state-file PATH [--tls] [--relative-path /auth]
    python -m tests.harness.keycloak_server stop --state-file PATH
    python -m tests.harness.keycloak_server lines     # newer patches of KEYCLOAK_LINES on Maven Central; exit 0
"""

from __future__ import annotations

import argparse
import atexit
import dataclasses
import hashlib
import json
import os
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from .keycloak_dist import (
    KEYCLOAK_VERSION, HarnessUnavailable, StartError, cache_dir, dist_home, find_java_home, harness_log,
    java_options_of_line, lines_report,
)
from .tls_material import make_certs

FEATURES = "client-secret-rotation"
ADMIN_USER = "admin"
LOG_TAIL_LINES = 80


# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------

def free_ports(count: int) -> list[int]:
    """Pick free ports on 127.0.0.1 (all held open together so they differ)."""
    socks = []
    try:
        for _port in range(count):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def _pgroup_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def _stop_pgroup(pgid: int, proc: subprocess.Popen | None = None, timeout: float = 30) -> None:
    """SIGTERM the whole group (kc.sh and its java child), then SIGKILL after timeout."""
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 10)):
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if proc is not None:
                proc.poll()  # reap kc.sh so it does not linger as a zombie group member
            if not _pgroup_alive(pgid):
                return
            time.sleep(0.1)


def _urlopen(req, data: bytes | None = None, timeout: float = 30, context: ssl.SSLContext | None = None):
    """urlopen that never sends loopback requests through an $http_proxy (CI runners often set one)."""
    url = req.full_url if isinstance(req, urllib.request.Request) else req
    handlers = [urllib.request.HTTPSHandler(context=context)] if context else []
    if urllib.parse.urlsplit(url).hostname in ("127.0.0.1", "localhost", "::1"):
        handlers.append(urllib.request.ProxyHandler({}))
    return urllib.request.build_opener(*handlers).open(req, data, timeout)


def _tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


# --------------------------------------------------------------------------
# The server object
# --------------------------------------------------------------------------

_LIVE: set = set()  # servers to stop at interpreter exit


@atexit.register
def _stop_all() -> None:
    for server in list(_LIVE):
        server.stop()


@dataclasses.dataclass(eq=False)  # identity semantics: servers live in a set
class KeycloakServer:
    url: str                      # base URL incl. relative path, no trailing slash
    admin_user: str
    admin_password: str
    admin_realm: str = "master"
    management_url: str | None = None  # management base incl. relative path; health at /health/ready
    ca_path: str | None = None         # CA bundle to verify `url` (None: plain http / system CAs)
    client_cert: str | None = None     # client cert/key signed by ca_path (TLS instances only)
    client_key: str | None = None
    client_auth: str = "none"          # "required": every connection must present client_cert/client_key
    log_path: str | None = None
    version: str | None = None
    started_by_us: bool = False
    startup_seconds: float = 0.0
    pid: int | None = None             # process group id of kc.sh + java
    instance_dir: str | None = None
    _proc: subprocess.Popen | None = dataclasses.field(default=None, repr=False, compare=False)

    # -- constructors ------------------------------------------------------

    @staticmethod
    def external_named() -> bool:
        """Whether KEYCLOAK_URL/USER/PASSWORD name an external server (all set)."""
        return all(os.environ.get(k) for k in ("KEYCLOAK_URL", "KEYCLOAK_USER", "KEYCLOAK_PASSWORD"))

    @classmethod
    def external_from_env(cls) -> "KeycloakServer | None":
        """The server described by KEYCLOAK_URL/USER/PASSWORD[/REALM], if all are set."""
        env = os.environ
        if not cls.external_named():
            return None
        server = cls(
            url=env["KEYCLOAK_URL"].rstrip("/"),
            admin_user=env["KEYCLOAK_USER"],
            admin_password=env["KEYCLOAK_PASSWORD"],
            admin_realm=env.get("KEYCLOAK_REALM") or "master",
            ca_path=env.get("KEYCLOAK_CA_PATH") or None,
        )
        server.version = server._query_version()
        return server

    @classmethod
    def start(cls, tls: bool = False, relative_path: str = "", client_auth: str = "none",
              timeout: float | None = None, detach: bool = False, _seed: bool = True,
              version: str = KEYCLOAK_VERSION) -> "KeycloakServer":
        """Start a local Keycloak and wait until /health/ready answers 200.

        client_auth="request" (TLS only) makes Keycloak ask for a client certificate and
        trust the throwaway CA for it, for mTLS tests; "required" refuses every connection
        without one (the management port too: the harness's own requests present it).  detach=True leaves the server
        running when this interpreter exits (stop it with stop_detached()).  version is
        one of DIST_SHA512's (the pinned KEYCLOAK_VERSION unless a test asks for another).
        """
        if client_auth != "none" and not tls:
            raise ValueError("client_auth needs tls=True")
        t0 = time.monotonic()  # startup_seconds: everything the caller waits for
        relative_path = "/" + relative_path.strip("/") if relative_path.strip("/") else ""
        if timeout is None:
            timeout = float(os.environ.get("KEYCLOAK_START_TIMEOUT") or 240)
        java_home = find_java_home()
        dist = dist_home(version)

        # start-dev forces plain HTTP on (its profile pins http-enabled=true), so a
        # TLS-only server has to run in production mode; dev-file DB + local cache
        # keep it a self-contained single node like start-dev.
        command = "start" if tls else "start-dev"
        # Build-time options decide whether kc.sh must re-augment; we key the
        # cached lib/quarkus on exactly these (and the command's profile).
        build_opts = ["--health-enabled=true", f"--features={FEATURES}"]
        if tls:
            build_opts += ["--db=dev-file", "--cache=local"]
        if relative_path:
            build_opts.append(f"--http-relative-path={relative_path}")
        if client_auth != "none":
            build_opts.append(f"--https-client-auth={client_auth}")
        build_key = hashlib.sha256("\n".join([command, *sorted(build_opts)]).encode()).hexdigest()[:16]
        build_cache = cache_dir() / f"keycloak-{version}-builds" / build_key
        # A fresh install spends ~6 s creating the DB schema, master realm and admin.
        # We do that once per variant and start later instances from a copy of that
        # database, giving the admin a new random password right after start (the
        # bootstrap env vars only act on an empty database).
        db_template = build_cache.with_name(build_key + "-db")
        use_template = _seed and not os.environ.get("KEYCLOAK_NO_DB_TEMPLATE")
        if use_template and not (db_template / "admin.json").exists():
            _make_db_template(db_template, tls=tls, relative_path=relative_path,
                              client_auth=client_auth, timeout=timeout, version=version)
        seeded = use_template and (db_template / "admin.json").exists()

        instance = Path(tempfile.mkdtemp(prefix="keycloak-ops-"))
        server = None
        try:
            home = instance / "dist"
            shutil.copytree(dist, home, symlinks=True)  # ~0.3 s for 190 MB
            prebuilt = (build_cache / "quarkus-application.dat").exists()
            if prebuilt:
                shutil.copytree(build_cache, home / "lib" / "quarkus", dirs_exist_ok=True)
            if seeded:
                shutil.copytree(db_template, home / "data" / "h2", ignore=shutil.ignore_patterns("admin.json"))
                template_password = json.loads((db_template / "admin.json").read_text())["password"]

            port, mgmt_port = free_ports(2)
            args = ["--http-host=127.0.0.1", "--http-management-host=127.0.0.1",
                    f"--http-management-port={mgmt_port}", *build_opts]
            certs = {}
            if tls:
                certs = make_certs(instance / "tls")
                args += ["--http-enabled=false", "--hostname-strict=false", f"--https-port={port}",
                         f"--https-certificate-file={certs['server.pem']}",
                         f"--https-certificate-key-file={certs['server.key']}"]
                if client_auth != "none":
                    args.append(f"--truststore-paths={certs['ca.pem']}")
                scheme, host = "https", "localhost"  # exercises the DNS SAN
            else:
                args.append(f"--http-port={port}")
                scheme, host = "http", "127.0.0.1"

            password = secrets.token_urlsafe(18)
            # Keycloak must not pick up the caller's own KC_* settings.
            env = {k: v for k, v in os.environ.items() if not k.startswith("KC_")}
            env.update(JAVA_HOME=str(java_home),  # kc.sh runs $JAVA_HOME/bin/java
                       KC_BOOTSTRAP_ADMIN_USERNAME=ADMIN_USER, KC_BOOTSTRAP_ADMIN_PASSWORD=password)
            # C1-only JIT: ~2 s (15%) faster start on small CI machines; plenty fast for tests.
            env.setdefault("JAVA_OPTS_APPEND", "-XX:TieredStopAtLevel=1")
            env["JAVA_OPTS_APPEND"] += java_options_of_line(version, java_home)

            log_path = instance / "keycloak.log"
            started = time.monotonic()
            with open(log_path, "wb") as log:
                proc = subprocess.Popen(
                    [str(home / "bin" / "kc.sh"), command, *args],
                    cwd=instance, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                    start_new_session=True,  # own process group: one killpg stops kc.sh and java
                )
            server = cls(
                url=f"{scheme}://{host}:{port}{relative_path}",
                admin_user=ADMIN_USER, admin_password=password,
                # The management interface inherits http-relative-path and the TLS setup.
                management_url=f"{scheme}://{host}:{mgmt_port}{relative_path}",
                ca_path=str(certs["ca.pem"]) if tls else None,
                client_cert=str(certs["client.pem"]) if tls else None,
                client_key=str(certs["client.key"]) if tls else None,
                client_auth=client_auth,
                log_path=str(log_path), version=version, started_by_us=True,
                pid=proc.pid, instance_dir=str(instance), _proc=proc,
            )
            if not detach:
                _LIVE.add(server)
            server._wait_ready(started, timeout)
            if seeded:
                server._set_admin_password(template_password, password)
            server.startup_seconds = round(time.monotonic() - t0, 1)
            harness_log(f"keycloak ready in {server.startup_seconds:.1f}s at {server.url}")
            if not prebuilt:
                _save_build(home / "lib" / "quarkus", build_cache)
            return server
        except BaseException:
            if server is not None:
                server.stop()
            else:
                shutil.rmtree(instance, ignore_errors=True)
            raise

    # -- lifecycle ---------------------------------------------------------

    def _ssl_context(self) -> ssl.SSLContext | None:
        if not self.url.startswith("https:"):
            return None
        context = ssl.create_default_context(cafile=self.ca_path) if self.ca_path else ssl.create_default_context()
        if self.client_auth == "required":
            context.load_cert_chain(self.client_cert, self.client_key)
        return context

    @property
    def requests_cert(self) -> tuple[str, str] | None:
        """The client certificate a client must present (requests' ``cert``), None when none is required."""
        return (self.client_cert, self.client_key) if self.client_auth == "required" else None

    def _wait_ready(self, started: float, timeout: float) -> None:
        health = f"{self.management_url}/health/ready"
        ctx = self._ssl_context()
        while True:
            if self._proc.poll() is not None:
                self._fail(f"Keycloak exited early with code {self._proc.returncode}")
            try:
                with _urlopen(health, timeout=5, context=ctx) as resp:
                    if resp.status == 200:
                        return
            except (OSError, urllib.error.URLError):
                pass  # not listening yet, or 503 while starting
            if time.monotonic() - started > timeout:
                self._fail(f"Keycloak not ready after {timeout:.0f}s ({health})")
            time.sleep(0.25)

    def _fail(self, message: str):
        print(f"{message}; last {LOG_TAIL_LINES} lines of {self.log_path}:\n{_tail(Path(self.log_path))}",
              file=sys.stderr, flush=True)
        raise StartError(f"{message} (log tail printed to stderr)")

    def stop(self, remove: bool = True) -> None:
        """Stop the server (if we started it) and delete its instance dir. Idempotent."""
        _LIVE.discard(self)
        if not self.started_by_us:
            return
        if self.pid is not None:
            _stop_pgroup(self.pid, self._proc)
            self.pid = None
        if remove and self.instance_dir and not os.environ.get("KEYCLOAK_KEEP_INSTANCE"):
            shutil.rmtree(self.instance_dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    # -- misc --------------------------------------------------------------

    def env(self) -> dict[str, str]:
        """Environment variables describing this server to clients (modules, CLI)."""
        env = {"KEYCLOAK_URL": self.url, "KEYCLOAK_USER": self.admin_user,
               "KEYCLOAK_PASSWORD": self.admin_password, "KEYCLOAK_REALM": self.admin_realm}
        if self.ca_path:
            env["KEYCLOAK_CA_PATH"] = self.ca_path
        return env

    def state(self) -> dict:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if not f.name.startswith("_")}

    def _admin_api(self, method: str, path: str, body=None, password: str | None = None):
        """Minimal admin REST call (stdlib only); returns parsed JSON or None."""
        ctx = self._ssl_context()
        form = urllib.parse.urlencode({"grant_type": "password", "client_id": "admin-cli", "username":
                                       self.admin_user, "password": password or self.admin_password})
        token_url = f"{self.url}/realms/{self.admin_realm}/protocol/openid-connect/token"
        with _urlopen(token_url, form.encode(), context=ctx) as resp:
            token = json.load(resp)["access_token"]
        req = urllib.request.Request(
            f"{self.url}/admin{path}", method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
        with _urlopen(req, context=ctx) as resp:
            raw = resp.read()
        return json.loads(raw) if raw else None

    def _set_admin_password(self, old: str, new: str) -> None:
        users = self._admin_api("GET", f"/realms/master/users?exact=true&username={self.admin_user}", password=old)
        self._admin_api("PUT", f"/realms/master/users/{users[0]['id']}/reset-password",
                        {"type": "password", "value": new, "temporary": False}, password=old)

    def _query_version(self) -> str | None:
        """Best effort: ask serverinfo (needs admin rights); None if that fails."""
        try:
            return self._admin_api("GET", "/serverinfo")["systemInfo"]["version"]
        except Exception:  # noqa: BLE001 - version is informative only
            return None


def _save_build(quarkus_dir: Path, build_cache: Path) -> None:
    """Keep a freshly augmented lib/quarkus for later instances (atomic, race-safe)."""
    try:
        build_cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=build_cache.parent, prefix=".tmp-"))
        shutil.copytree(quarkus_dir, tmp, dirs_exist_ok=True)
        try:
            os.rename(tmp, build_cache)
        except OSError:
            shutil.rmtree(tmp, ignore_errors=True)  # another instance saved it first
    except OSError as exc:
        harness_log(f"could not cache the build ({exc}); next start will re-augment")


def _make_db_template(target: Path, **variant) -> None:
    """Run one fresh instance, stop it cleanly and keep its H2 database + admin password."""
    harness_log("creating this variant's database template (once per cache)")
    seed = KeycloakServer.start(_seed=False, **variant)
    seed.stop(remove=False)  # a clean shutdown leaves a consistent H2 file
    tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=".tmp-"))
    try:
        shutil.copy2(Path(seed.instance_dir) / "dist" / "data" / "h2" / "keycloakdb.mv.db", tmp)
        fd = os.open(tmp / "admin.json", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump({"user": seed.admin_user, "password": seed.admin_password}, f)
        os.rename(tmp, target)
    except OSError as exc:
        if not (target / "admin.json").exists():
            harness_log(f"could not save the database template ({exc}); starting from scratch")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(seed.instance_dir, ignore_errors=True)


def stop_detached(state: dict) -> None:
    """Stop a server recorded by `start --state-file`, checking the pid is still ours."""
    pid, instance = state.get("pid"), state.get("instance_dir")
    if pid and instance:
        try:
            ours = instance in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
        except OSError:
            # Leader gone (or no /proc): nobody else can own a group with this id,
            # so signalling it reaches only our leftover java, if any.
            ours = True
        if ours:
            _stop_pgroup(pid)
        else:
            harness_log(f"pid {pid} is no longer our Keycloak; not signalling it")
    if instance and Path(instance).name.startswith("keycloak-ops-"):
        shutil.rmtree(instance, ignore_errors=True)


# --------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------

def _raise_on_signal(signum, _frame):
    raise SystemExit(128 + signum)  # unwinds through finally/context managers


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="cmd", required=True)
    p_fetch = sub.add_parser("fetch", help="download, verify and unpack the distribution")
    p_fetch.add_argument("--warm", action="store_true",
                         help="also start+stop each variant once to cache its build (~30 s each)")
    for name in ("run", "start"):
        p = sub.add_parser(name)
        p.add_argument("--tls", action="store_true")
        p.add_argument("--relative-path", default="")
        p.add_argument("--client-auth", default="none", choices=["none", "request", "required"])
        if name == "start":
            p.add_argument("--state-file", required=True)
        else:
            p.add_argument("command", nargs=argparse.REMAINDER)
    p_stop = sub.add_parser("stop")
    p_stop.add_argument("--state-file", required=True)
    sub.add_parser("lines", help="list newer patches of the pinned Keycloak lines that Maven Central lists "
                                 "(information: exits 0 even when it cannot ask)")
    args = parser.parse_args(argv)
    if args.cmd == "lines":
        print("\n".join(lines_report()))
        return 0

    signal.signal(signal.SIGTERM, _raise_on_signal)
    signal.signal(signal.SIGINT, _raise_on_signal)
    try:
        if args.cmd == "fetch":
            print(dist_home())
            if args.warm:
                find_java_home()
                for kwargs in ({}, {"relative_path": "/auth"}, {"tls": True, "client_auth": "request"}):
                    KeycloakServer.start(**kwargs).stop()
            return 0
        if args.cmd == "stop":
            path = Path(args.state_file)
            stop_detached(json.loads(path.read_text()))
            path.unlink()
            return 0
        opts = {"tls": args.tls, "relative_path": args.relative_path, "client_auth": args.client_auth}
        if args.cmd == "start":
            server = KeycloakServer.start(detach=True, **opts)
            fd = os.open(args.state_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            os.fchmod(fd, 0o600)  # the file holds the admin password
            with os.fdopen(fd, "w") as f:
                json.dump(server.state(), f, indent=2)
            return 0

        # run
        command = args.command[1:] if args.command[:1] == ["--"] else args.command
        if not command:
            parser.error("run needs a command after --")
        server = KeycloakServer.external_from_env()  # an external server wins: start nothing
        if server is None:
            server = KeycloakServer.start(**opts)
        with server:
            env = dict(os.environ, **server.env())
            if not server.ca_path:
                env.pop("KEYCLOAK_CA_PATH", None)
            child = subprocess.Popen(command, env=env)
            try:
                return child.wait()
            finally:
                if child.poll() is None:
                    child.terminate()
                    child.wait()
    except (HarnessUnavailable, StartError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 3


if __name__ == "__main__":
    sys.exit(main())
