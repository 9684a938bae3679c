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

Standard library only (Python >= 3.11), so CI can run ``fetch``/``run`` before
any dependency is installed.

CLI::

    python roles/keycloak_dev/files/keycloak_server.py fetch [--warm]
    python roles/keycloak_dev/files/keycloak_server.py run [--tls] [--relative-path /auth] -- CMD ARGS...
    python roles/keycloak_dev/files/keycloak_server.py start --state-file PATH [--tls] [--relative-path /auth]
    python roles/keycloak_dev/files/keycloak_server.py stop --state-file PATH
"""

from __future__ import annotations

import argparse
import atexit
import dataclasses
import hashlib
import json
import os
import re
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
import zipfile
from pathlib import Path

KEYCLOAK_VERSION = "26.7.3"
# The previous minor line, for the compatibility tests (its initial-access-token create answers 200, not 201).
KEYCLOAK_PREVIOUS_VERSION = "26.5.6"
# SHA-512 of each distribution zip we run, pinned here (Maven Central publishes the same in a .sha512 file).
DIST_SHA512 = {
    "26.7.3": "15c764765576eef267cf15cc5225a5826b5394a25a83d9bfa5b8544e4bbba690"
              "cb743c9d384200b93bb71ee4c4a328e1dd8c0a00f822fd3e6e154f14b1e47216",
    "26.5.6": "c99ce49dc0a8072dae359471bf510fe8594b906297ffd3a9cfdd70226af32155"
              "7269b7794f1a913495715db63c4fe29004c551e69952beefa7d8f9b2de0e86c5",
    # The other 26.x lines (KEYCLOAK_LINES). Maven Central has no .sha512 beside the 26.0-26.2 zips: those
    # three were computed from downloads whose published .sha1 matched.
    "26.4.7": "f9d4e0ced49976932e173abc8d2f6ff4169c125fe3b14e69ebaa0ccc4dea822e"
              "879f7ec7353d28fa40c13de0113059c6888833725378ecef4d27587e0c87a6a2",
    "26.3.5": "a9d13dcde8cd9ffcf604ace4a5f6add1c6f63479a153bb76261e8284278960d9"
              "2739dcc442bd14165504ca5477f427bb6c16184e607431b414361e32fb940077",
    "26.2.5": "f75a4dd2be5da54e3a3d93bd7128e2127bc4d02df64518dcd650694e7e790d7c"
              "6d9659e3fe5d9d0921fe9c5059d436c7ab805b7c00e1c720ff33fe65dfdb54a5",
    "26.1.4": "9b57343e4a71a968928e459c5693c9f3b4184efed14f08c9b6044cd8fefcd7b1"
              "addcfe234e6d1c269a241b7153536e1951e9fcb9f59d1e6bf44353c5c103cbac",
    "26.0.8": "4ac3af3ba4d96e65cafbe18730915c75cb142ab36e3c5d9ba6cacf63a978974f"
              "0e51af7f8b9e011f7cd2e58ed10c8050294977600d2826e3c0bedde78e134cc3",
}
# The newest patch of every 26.x minor line on Maven Central (there is no 26.6), oldest first: the
# compatibility tests run the main paths on each of them.
KEYCLOAK_LINES = ("26.0.8", "26.1.4", "26.2.5", "26.3.5", "26.4.7", KEYCLOAK_PREVIOUS_VERSION, KEYCLOAK_VERSION)
MIN_JAVA = 21
FEATURES = "client-secret-rotation"
ADMIN_USER = "admin"
LOG_TAIL_LINES = 80


class HarnessUnavailable(RuntimeError):
    """Keycloak cannot be started here at all (no JDK, no distribution)."""


class StartError(RuntimeError):
    """Keycloak was launched but did not become ready."""


def cache_dir() -> Path:
    return Path(os.environ.get("KEYCLOAK_OPS_CACHE") or "~/.cache/keycloak_ops").expanduser()


def _log(msg: str) -> None:
    print(f"[keycloak-harness] {msg}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------
# Distribution: download, verify, unpack (all idempotent and race-safe)
# --------------------------------------------------------------------------

def _sha512(path: Path) -> str:
    h = hashlib.sha512()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def dist_url(version: str) -> str:
    return ("https://repo.maven.apache.org/maven2/org/keycloak/keycloak-quarkus-dist/"
            f"{version}/keycloak-quarkus-dist-{version}.zip")


def fetch_zip(version: str = KEYCLOAK_VERSION) -> Path:
    """Return the verified distribution zip, downloading it if needed."""
    if version not in DIST_SHA512:
        raise HarnessUnavailable(f"no pinned SHA-512 for Keycloak {version} (known: {', '.join(DIST_SHA512)})")
    cache = cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    zip_path = cache / f"keycloak-quarkus-dist-{version}.zip"
    url = dist_url(version)
    if not zip_path.exists():
        _log(f"downloading {url}")
        fd, tmp = tempfile.mkstemp(dir=cache, prefix=".download-")
        try:
            with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=60) as resp:
                shutil.copyfileobj(resp, out, 1 << 20)
            os.replace(tmp, zip_path)  # a half-written zip is never visible under the real name
        except OSError as exc:
            raise HarnessUnavailable(f"cannot download {url}: {exc}") from exc
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    # Verify every time: the cache is writable by anything running as this user.
    actual = _sha512(zip_path)
    if actual != DIST_SHA512[version]:
        zip_path.unlink()
        raise HarnessUnavailable(
            f"SHA-512 mismatch for {zip_path} (got {actual[:16]}..., want {DIST_SHA512[version][:16]}...); "
            "the file was deleted, run again to re-download"
        )
    return zip_path


def dist_home(version: str = KEYCLOAK_VERSION) -> Path:
    """Return the unpacked, pristine distribution (unpacked once into the cache)."""
    home = cache_dir() / f"keycloak-{version}"
    if (home / "bin" / "kc.sh").exists():
        return home
    zip_path = fetch_zip(version)
    tmp = Path(tempfile.mkdtemp(dir=cache_dir(), prefix=".unpack-"))
    try:
        with zipfile.ZipFile(zip_path) as zf:
            for info in zf.infolist():
                target = zf.extract(info, tmp)
                mode = (info.external_attr >> 16) & 0o777
                if mode:  # zipfile drops permissions; kc.sh must stay executable
                    os.chmod(target, mode)
        try:
            os.rename(tmp / f"keycloak-{version}", home)
        except OSError:
            if not (home / "bin" / "kc.sh").exists():  # lost a race only if the winner is complete
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return home


# --------------------------------------------------------------------------
# JDK discovery
# --------------------------------------------------------------------------

def _java_major(java_home: Path) -> int:
    java = java_home / "bin" / "java"
    if not os.access(java, os.X_OK):
        return 0
    text = ""
    release = java_home / "release"
    if release.exists():  # cheaper than launching a JVM
        m = re.search(r'^JAVA_VERSION="([^"]+)"', release.read_text(errors="replace"), re.M)
        text = m.group(1) if m else ""
    if not text:
        try:
            out = subprocess.run([str(java), "-version"], capture_output=True, text=True, timeout=30, check=False).stderr
        except (OSError, subprocess.SubprocessError):
            return 0
        m = re.search(r'version "([^"]+)"', out)
        text = m.group(1) if m else ""
    parts = re.findall(r"\d+", text)
    if not parts:
        return 0
    major = int(parts[0])
    return int(parts[1]) if major == 1 and len(parts) > 1 else major  # "1.8.0" style


def find_java_home() -> Path:
    explicit = os.environ.get("KEYCLOAK_JAVA_HOME")
    if explicit:
        if _java_major(Path(explicit)) < MIN_JAVA:
            raise HarnessUnavailable(f"KEYCLOAK_JAVA_HOME={explicit} is not a Java {MIN_JAVA}+ JDK")
        return Path(explicit)
    candidates = [Path(os.environ["JAVA_HOME"])] if os.environ.get("JAVA_HOME") else []
    for home in candidates:
        if _java_major(home) >= MIN_JAVA:
            return home
    found = [(_java_major(p.parent.parent), p.parent.parent) for p in Path("/usr/lib/jvm").glob("*/bin/java")]
    found = [f for f in found if f[0] >= MIN_JAVA]
    if not found:
        raise HarnessUnavailable(
            f"Keycloak 26 needs Java {MIN_JAVA}+; none found in $KEYCLOAK_JAVA_HOME, "
            "$JAVA_HOME or /usr/lib/jvm/*. Install one (e.g. Temurin 21) and set KEYCLOAK_JAVA_HOME."
        )
    return max(found)[1]


def java_options_of_line(version: str, java_home: Path) -> str:
    """Extra JVM options an older Keycloak line needs on the JDK found here ("" if none).

    Keycloak up to 26.3 ships a Byte Buddy that refuses to build on Java 25 ("officially supports
    Java 23/24 ... set net.bytebuddy.experimental"); with that property it builds and runs.
    """
    line = tuple(int(part) for part in version.split(".")[:2])
    if line <= (26, 3) and _java_major(java_home) >= 25:
        return " -Dnet.bytebuddy.experimental=true"
    return ""


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


_OPENSSL_CNF = """\
[req]
distinguished_name = dn
prompt = no
[dn]
CN = placeholder
[ca_ext]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[server_ext]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost,IP:127.0.0.1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid,issuer
[client_ext]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid,issuer
"""


def make_certs(directory: Path) -> dict[str, Path]:
    """Throwaway CA + server cert (localhost, 127.0.0.1) + client cert, as PEM files.

    The extensions satisfy Python 3.13's VERIFY_X509_STRICT default, so
    ssl.create_default_context(cafile=ca.pem) accepts the server.
    """
    directory.mkdir(parents=True, exist_ok=True)
    cnf = directory / "openssl.cnf"
    cnf.write_text(_OPENSSL_CNF)
    p = {n: directory / n for n in ("ca.pem", "ca.key", "server.pem", "server.key", "client.pem", "client.key")}
    newkey = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]

    def openssl(*args):
        try:
            subprocess.run(["openssl", *map(str, args)], check=True, capture_output=True, text=True)
        except FileNotFoundError as exc:
            raise HarnessUnavailable("openssl is needed to generate test certificates") from exc
        except subprocess.CalledProcessError as exc:
            raise StartError(f"openssl {args[0]} failed: {exc.stderr.strip()}") from exc

    openssl("req", "-x509", "-config", cnf, "-extensions", "ca_ext", *newkey, "-days", "7",
            "-subj", "/CN=keycloak_ops test CA", "-keyout", p["ca.key"], "-out", p["ca.pem"])
    for name, cn in (("server", "localhost"), ("client", "keycloak_ops test client")):
        csr = directory / f"{name}.csr"
        openssl("req", "-new", "-config", cnf, *newkey, "-subj", f"/CN={cn}",
                "-keyout", p[f"{name}.key"], "-out", csr)
        openssl("x509", "-req", "-in", csr, "-CA", p["ca.pem"], "-CAkey", p["ca.key"],
                "-set_serial", str(secrets.randbits(63)), "-days", "7",
                "-extfile", cnf, "-extensions", f"{name}_ext", "-out", p[f"{name}.pem"])
    return p


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
    log_path: str | None = None
    version: str | None = None
    started_by_us: bool = False
    startup_seconds: float = 0.0
    pid: int | None = None             # process group id of kc.sh + java
    instance_dir: str | None = None
    _proc: subprocess.Popen | None = dataclasses.field(default=None, repr=False, compare=False)

    # -- constructors ------------------------------------------------------

    @classmethod
    def external_from_env(cls) -> "KeycloakServer | None":
        """The server described by KEYCLOAK_URL/USER/PASSWORD[/REALM], if all are set."""
        env = os.environ
        if not all(env.get(k) for k in ("KEYCLOAK_URL", "KEYCLOAK_USER", "KEYCLOAK_PASSWORD")):
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
        trust the throwaway CA for it, for mTLS tests.  detach=True leaves the server
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
                log_path=str(log_path), version=version, started_by_us=True,
                pid=proc.pid, instance_dir=str(instance), _proc=proc,
            )
            if not detach:
                _LIVE.add(server)
            server._wait_ready(started, timeout)
            if seeded:
                server._set_admin_password(template_password, password)
            server.startup_seconds = round(time.monotonic() - t0, 1)
            _log(f"keycloak ready in {server.startup_seconds:.1f}s at {server.url}")
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
        return ssl.create_default_context(cafile=self.ca_path) if self.ca_path else ssl.create_default_context()

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
        _log(f"could not cache the build ({exc}); next start will re-augment")


def _make_db_template(target: Path, **variant) -> None:
    """Run one fresh instance, stop it cleanly and keep its H2 database + admin password."""
    _log("creating this variant's database template (once per cache)")
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
            _log(f"could not save the database template ({exc}); starting from scratch")
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
            _log(f"pid {pid} is no longer our Keycloak; not signalling it")
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
    args = parser.parse_args(argv)

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
