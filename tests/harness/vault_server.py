"""A HashiCorp Vault dev server on loopback, for the deliver role's KV v2 destination.

``vault server -dev`` keeps everything in memory, mounts KV v2 at ``secret/`` and prints nothing we need:
the root token is chosen here. The binary is the one named by ``VAULT_BIN``, else ``vault`` (or OpenBao's
``bao``) on PATH. An existing server is used instead when ``VAULT_ADDR`` and ``VAULT_TOKEN`` are set.

No binary can be had on the CI machine: Vault's release downloads are out of reach, and its source on the Go
module proxy does not build alone (the release's own api/ and sdk/ modules are left out of the module zip, and
no published sdk version matches the release branch).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field

READY_TIMEOUT_S = 60


class VaultUnavailable(Exception):
    """No Vault server can be had here: the reason, one line."""


@dataclass
class VaultServer:
    addr: str
    token: str
    process: subprocess.Popen | None = None
    log_path: str | None = None
    _workdir: str | None = field(default=None, repr=False)

    @classmethod
    def external_from_env(cls) -> VaultServer | None:
        addr, token = os.environ.get("VAULT_ADDR"), os.environ.get("VAULT_TOKEN")
        return cls(addr=addr.rstrip("/"), token=token) if addr and token else None

    @staticmethod
    def binary() -> str:
        for candidate in (os.environ.get("VAULT_BIN"), shutil.which("vault"), shutil.which("bao")):
            if candidate and os.access(candidate, os.X_OK):
                return candidate
        raise VaultUnavailable("no vault binary (set VAULT_BIN or put vault or bao on PATH) "
                               "and VAULT_ADDR/VAULT_TOKEN not set")

    @classmethod
    def start(cls) -> VaultServer:
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
        with open(log_path, "wb") as log:
            process = subprocess.Popen(
                [binary, "server", "-dev", "-dev-listen-address=127.0.0.1:%d" % port,
                 "-dev-root-token-id=" + token, "-dev-no-store-token"],
                stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        server = cls(addr="http://127.0.0.1:%d" % port, token=token, process=process, log_path=log_path,
                     _workdir=workdir)
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
        with urllib.request.urlopen(request, timeout=10) as response:
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
