"""A Kubernetes API server (kube-apiserver + etcd) on loopback, for the deliver role's Kubernetes destination.

Secrets need no nodes, no scheduler and no controller manager: an API server in front of an etcd answers
every request the deliver role sends. etcd is Debian's ``etcd-server``; kube-apiserver is built once per
machine from the ``k8s.io/kubernetes`` source on the Go module proxy and cached in ``$KEYCLOAK_OPS_CACHE``,
keyed by version (``python -m tests.harness.kube_server build``; about 6 minutes on 2 cores).

The module zip leaves out ``staging/``, where the repository keeps its own ``k8s.io/*`` libraries, so the
build points each ``./staging/src/k8s.io/X`` replacement at the published ``k8s.io/X v0.<minor>.<patch>``.

Authentication is a static token file (an admin in ``system:masters``) plus service-account tokens signed by
a throwaway key, authorization is RBAC: a test can make a service account that may touch Secrets in one
namespace only, as a Job in the cluster would run.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import re
import secrets
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from .tls_material import make_certs  # the throwaway CA of the TLS Keycloak

KUBERNETES_VERSION = "v1.37.2"
ETCD_BIN = "/usr/bin/etcd"
READY_TIMEOUT_S = 90
BUILD_TIMEOUT_S = 80 * 60  # 6 minutes on 2 idle cores, far more on a busy machine


class KubeUnavailable(Exception):
    """No Kubernetes API server can be had here: the reason, one line."""


def _log(msg: str) -> None:
    print(f"[kube-harness] {msg}", file=sys.stderr, flush=True)


def cache_dir() -> Path:
    return Path(os.environ.get("KEYCLOAK_OPS_CACHE") or "~/.cache/keycloak_ops").expanduser() / "kubernetes"


def binary_path(version: str = KUBERNETES_VERSION) -> Path:
    return cache_dir() / f"kube-apiserver-{version}"


# --------------------------------------------------------------------------
# kube-apiserver: built once per machine and version, under a lock so that a build started in the
# background by scripts/test and a fixture asking for the binary never build it twice
# --------------------------------------------------------------------------

def _go_env() -> dict:
    # Both Go caches live in ours: a build that was cut short resumes where it stopped.
    go = cache_dir() / "go"
    env = dict(os.environ, GOMODCACHE=str(go / "mod"), GOCACHE=str(go / "build"), GOWORK="off",
               CGO_ENABLED="0", GOFLAGS="-mod=mod -buildvcs=false", GOTOOLCHAIN="local")
    if "/usr/local/go/bin" not in env.get("PATH", "").split(os.pathsep) and Path("/usr/local/go/bin/go").exists():
        env["PATH"] = "/usr/local/go/bin" + os.pathsep + env.get("PATH", "")
    return env


def _published_staging(go_mod: str, version: str) -> str:
    """go.mod with every ./staging/src/k8s.io/X replacement pointed at the published k8s.io/X v0.<minor>.<patch>."""
    library_version = "v0." + version.lstrip("v").split(".", 1)[1]
    return re.sub(r"(k8s\.io/[\w.-]+(?:/[\w.-]+)*) => \./staging/src/k8s\.io/[\w./-]+",
                  lambda m: f"{m.group(1)} => {m.group(1)} {library_version}", go_mod)


def _run(command: list[str], cwd: Path | None, env: dict, what: str) -> str:
    completed = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=BUILD_TIMEOUT_S,
                               check=False)
    if completed.returncode != 0:
        tail = " | ".join((completed.stderr or completed.stdout).strip().splitlines()[-8:])
        raise KubeUnavailable(f"{what} failed ({completed.returncode}): {tail}")
    return completed.stdout


def build(version: str = KUBERNETES_VERSION) -> Path:
    """Return the cached kube-apiserver of this version, building it first if needed (waits for a build
    another process has under way)."""
    target = binary_path(version)
    cache_dir().mkdir(parents=True, exist_ok=True)
    with open(cache_dir() / f".build-{version}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if target.exists():
            return target
        if shutil.which("go", path=_go_env().get("PATH")) is None:
            raise KubeUnavailable("no Go toolchain on PATH to build kube-apiserver")
        started = time.monotonic()
        # A fixed place, kept when the build fails or is cut short: with the Go build cache, a rerun resumes.
        work = cache_dir() / f".build-{version}"
        work.mkdir(exist_ok=True)
        env = _go_env()
        _log(f"building kube-apiserver {version} from k8s.io/kubernetes on the Go module proxy")
        source = work / "kubernetes"
        if not source.exists():
            module = json.loads(_run(["go", "mod", "download", "-json", f"k8s.io/kubernetes@{version}"], work, env,
                                     f"go mod download k8s.io/kubernetes@{version}"))
            copy = work / ".copy"
            shutil.rmtree(copy, ignore_errors=True)
            shutil.copytree(module["Dir"], copy)
            subprocess.run(["chmod", "-R", "u+w", str(copy)], check=True)  # the module cache is read-only
            go_mod = copy / "go.mod"
            go_mod.write_text(_published_staging(go_mod.read_text(), version))
            (copy / "go.work").unlink(missing_ok=True)
            copy.rename(source)
        built = work / "kube-apiserver"
        _run(["go", "build", "-trimpath", "-ldflags=-s -w", "-o", str(built), "./cmd/kube-apiserver"], source,
             env, "go build ./cmd/kube-apiserver")
        os.replace(built, target)  # a half-written binary is never visible under the real name
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(cache_dir() / "go" / "build", ignore_errors=True)  # 2 GB no longer needed
        _log(f"built {target} in {time.monotonic() - started:.0f}s")
        return target


# --------------------------------------------------------------------------
# etcd + kube-apiserver on loopback
# --------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _openssl(*args: str) -> None:
    completed = subprocess.run(["openssl", *args], capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        raise KubeUnavailable(f"openssl {args[0]} failed: {completed.stderr.strip()}")


def kubeconfig_text(server: str, ca_path: str, token: str, namespace: str = "default") -> str:
    """A kubeconfig for one bearer token (JSON is YAML)."""
    return json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": "test",
        "clusters": [{"name": "test", "cluster": {"server": server, "certificate-authority": ca_path}}],
        "users": [{"name": "test", "user": {"token": token}}],
        "contexts": [{"name": "test", "context": {"cluster": "test", "user": "test", "namespace": namespace}}],
    }, indent=2)


@dataclass
class KubeServer:
    """A Kubernetes API server: ``url``, ``kubeconfig`` (cluster admin), ``version``; ``write_kubeconfig``
    makes one for another token (a service account's, say)."""
    url: str
    kubeconfig: str
    ca_path: str | None = None
    version: str = "unknown"
    started_by_us: bool = False
    _processes: list = field(default_factory=list, repr=False)
    _workdir: str | None = field(default=None, repr=False)

    @classmethod
    def external_from_env(cls) -> KubeServer | None:
        path = os.environ.get("KUBECONFIG")
        return cls(url="(KUBECONFIG)", kubeconfig=path) if path else None

    @classmethod
    def start(cls, binary: Path | None = None) -> KubeServer:
        if not os.access(ETCD_BIN, os.X_OK):
            raise KubeUnavailable(f"no {ETCD_BIN} (apt-get install etcd-server)")
        binary = binary or build()
        work = Path(tempfile.mkdtemp(prefix="keycloak_ops-kube-"))
        server = cls(url="", kubeconfig=str(work / "admin.kubeconfig"), ca_path=str(work / "ca.pem"),
                     version=KUBERNETES_VERSION, started_by_us=True, _workdir=str(work))
        try:
            server._launch(binary, work)
        except BaseException:
            server.stop()
            raise
        return server

    def _launch(self, binary: Path, work: Path) -> None:
        certs = make_certs(work / "tls")
        shutil.copy(certs["ca.pem"], self.ca_path)
        _openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", str(work / "sa.key"))
        _openssl("pkey", "-in", str(work / "sa.key"), "-pubout", "-out", str(work / "sa.pub"))
        admin_token = secrets.token_hex(16)
        tokens = work / "tokens.csv"
        tokens.write_text(f'{admin_token},keycloak-ops-admin,keycloak-ops-admin,"system:masters"\n')
        os.chmod(tokens, 0o600)

        etcd_client, etcd_peer, api_port = _free_port(), _free_port(), _free_port()
        etcd_url = f"http://127.0.0.1:{etcd_client}"
        self._spawn(work, "etcd", [
            ETCD_BIN, "--data-dir", str(work / "etcd"), "--name", "keycloak-ops-test",
            "--listen-client-urls", etcd_url, "--advertise-client-urls", etcd_url,
            "--listen-peer-urls", f"http://127.0.0.1:{etcd_peer}",
            "--initial-advertise-peer-urls", f"http://127.0.0.1:{etcd_peer}",
            "--initial-cluster", f"keycloak-ops-test=http://127.0.0.1:{etcd_peer}",
            "--unsafe-no-fsync", "--quota-backend-bytes", str(256 << 20)])
        self._spawn(work, "kube-apiserver", [
            str(binary), "--etcd-servers", etcd_url,
            "--bind-address", "127.0.0.1", "--advertise-address", "127.0.0.1", "--secure-port", str(api_port),
            "--tls-cert-file", str(certs["server.pem"]), "--tls-private-key-file", str(certs["server.key"]),
            "--token-auth-file", str(tokens), "--authorization-mode", "RBAC",
            "--service-account-key-file", str(work / "sa.pub"),
            "--service-account-signing-key-file", str(work / "sa.key"),
            "--service-account-issuer", "https://kubernetes.default.svc",
            "--service-cluster-ip-range", "10.0.0.0/24", "--endpoint-reconciler-type", "none",
            "--enable-priority-and-fairness=false", "--profiling=false", "--cert-dir", str(work / "certs")])
        self.url = f"https://127.0.0.1:{api_port}"
        Path(self.kubeconfig).write_text(kubeconfig_text(self.url, self.ca_path, admin_token))
        os.chmod(self.kubeconfig, 0o600)
        self._wait_ready(admin_token)

    def _spawn(self, work: Path, name: str, command: list[str]) -> None:
        with open(work / f"{name}.log", "wb") as log:
            self._processes.append((name, subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                                                           stdin=subprocess.DEVNULL, start_new_session=True)))

    def _wait_ready(self, admin_token: str) -> None:
        context = ssl.create_default_context(cafile=self.ca_path)
        request = urllib.request.Request(self.url + "/readyz", headers={"Authorization": "Bearer " + admin_token})
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            for name, process in self._processes:
                if process.poll() is not None:
                    raise KubeUnavailable(f"{name} exited with {process.returncode}: {self.log_tail(name)}")
            try:
                with urllib.request.urlopen(request, timeout=5, context=context) as response:
                    if response.status == 200:
                        return
            except (OSError, urllib.error.URLError):
                pass
            time.sleep(0.5)
        raise KubeUnavailable(f"kube-apiserver not ready in {READY_TIMEOUT_S}s: {self.log_tail('kube-apiserver')}")

    def write_kubeconfig(self, path: str | os.PathLike, token: str, namespace: str = "default") -> str:
        """A kubeconfig (mode 0600) for this server and another bearer token."""
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(kubeconfig_text(self.url, self.ca_path, token, namespace))
        return str(path)

    def log_tail(self, name: str, lines: int = 15) -> str:
        path = Path(self._workdir or "/nonexistent") / f"{name}.log"
        if not path.exists():
            return ""
        return " | ".join(path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        for _name, process in reversed(self._processes):  # the API server first, then its etcd
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        self._processes.clear()
        if self._workdir:
            shutil.rmtree(self._workdir, ignore_errors=True)

    def __enter__(self) -> KubeServer:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("build", help="build (or find in the cache) kube-apiserver %s" % KUBERNETES_VERSION)
    args = parser.parse_args(argv)
    try:
        if args.cmd == "build":
            print(build())
        return 0
    except KubeUnavailable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 3


if __name__ == "__main__":
    sys.exit(main())
