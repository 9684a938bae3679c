"""A counting HTTP/1.1 reverse proxy, to assert how many requests a client made.

Put it between the code under test and Keycloak, then check e.g. that a second
(idempotent) run issued no writes, or that many clients cost one token request::

    with CountingProxy(server.url) as proxy:
        run_module(url=proxy.url)
        assert proxy.writes("admin") == 0
        assert proxy.counts("token") == {"POST": 1}

Standard library only.  Each client connection gets its own keep-alive
connection upstream, so a client with a connection pool is relayed 1:1.

Faults, for tests of what a client does when a write goes wrong (``fail_write``):
the k-th write to the admin API from now is refused without reaching Keycloak
(``refuse``), or reaches Keycloak and its answer is lost: the connection closes
(``drop``), or, when the proxy serves TLS (``tls=``), the TLS stream breaks while
the answer is read (``tls-status``: inside the status line, ``tls-body``: inside
the body), by a forged TLS record the client cannot decrypt.  Every write is
logged with a digest of its body (``repeated_writes``), so a test can tell one
request sent twice from two requests that merely share a path.

Script use: ``python tests/harness/counting_proxy.py UPSTREAM_URL [--port N]``
prints the proxy URL and, on Ctrl-C, the counts.
"""

from __future__ import annotations

import argparse
import collections
import hashlib
import http.client
import http.server
import json
import os
import signal
import socket
import ssl
import threading
import urllib.parse

READ_METHODS = frozenset({"GET", "HEAD"})
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Hop-by-hop headers (RFC 9110 7.6.1) belong to one connection and are not relayed.
HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-connection", "proxy-authenticate",
                        "proxy-authorization", "te", "trailer", "transfer-encoding", "upgrade", "expect"})
# What fail_write can do to a write; the tls-* faults need a proxy serving TLS.
FAULTS = ("refuse", "drop", "tls-status", "tls-body")
# A TLS 1.2/1.3 application-data record header (type 23, version 3.3) announcing 19 bytes: followed by random bytes it
# is a record the client cannot decrypt (bad record MAC), as a middlebox corrupting the stream would produce.
_FORGED_RECORD_HEADER = b"\x17\x03\x03\x00\x13"


def classify(path: str) -> str:
    """'token' for the OIDC token endpoint, 'admin' for the admin REST API, else 'other'."""
    path = path.split("?", 1)[0]
    if path.endswith("/protocol/openid-connect/token"):
        return "token"
    if "/admin/realms" in path or path.endswith("/admin/serverinfo"):
        return "admin"
    return "other"


class CountingProxy:
    """tls: (certificate, key) PEM paths to serve https to clients (the client then trusts their CA)."""

    def __init__(self, upstream: str, ca_path: str | None = None, port: int = 0,
                 tls: tuple[str, str] | None = None):
        parsed = urllib.parse.urlsplit(upstream.rstrip("/"))
        if parsed.scheme not in ("http", "https"):
            raise ValueError(f"upstream must be an http(s) URL, got {upstream!r}")
        self.upstream = upstream.rstrip("/")
        self._scheme, self._netloc, self._base_path = parsed.scheme, parsed.netloc, parsed.path
        self._ssl = ssl.create_default_context(cafile=ca_path) if parsed.scheme == "https" else None
        self._lock = threading.Lock()
        self.calls: list[tuple[str, str]] = []  # (method, path) in arrival order, for debugging
        # (method, path part): the next matching request is forwarded, then its answer dropped (see drop_response).
        self._drops: list[tuple[str, str]] = []
        # Armed faults: [k, fault, status], k counting down over admin writes as they arrive (see fail_write).
        self._faults: list[list] = []
        self.injected: list[tuple[str, str, str]] = []  # (fault, method, path) of each fault that fired
        self.write_log: list[tuple[str, str, str]] = []  # (method, path, body digest) of every write received
        self._server = _Server(("127.0.0.1", port), _Handler)
        self._server.proxy = self
        self._server.tls = None
        if tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
            self._server.tls = context
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """Base URL for clients: the proxy's address plus the upstream's path (e.g. /auth)."""
        scheme = "https" if self._server.tls is not None else "http"
        return f"{scheme}://127.0.0.1:{self._server.server_address[1]}{self._base_path}"

    # -- counting ----------------------------------------------------------

    def _record(self, method: str, path: str, body: bytes | None) -> tuple[str, int] | None:
        """Count the request; return the fault (name, status) it meets, if an armed one is due."""
        with self._lock:
            self.calls.append((method, path))
            if method not in WRITE_METHODS or classify(path) != "admin":
                return None
            self.write_log.append((method, path, hashlib.sha256(body or b"").hexdigest()[:16]))
            for armed in self._faults:
                if armed[3] in path and armed[4] in (None, method):
                    armed[0] -= 1
            due = [armed for armed in self._faults if armed[0] == 0]
            self._faults = [armed for armed in self._faults if armed[0] > 0]
            if not due:
                return None
            self.injected.append((due[0][1], method, path))
            return due[0][1], due[0][2]

    def counts(self, kind: str | None = None) -> dict[str, int]:
        """Requests per method, e.g. {"GET": 3, "POST": 1}; kind: None, 'admin', 'token' or 'other'."""
        with self._lock:
            calls = list(self.calls)
        return dict(collections.Counter(m for m, p in calls if kind is None or classify(p) == kind))

    def reads(self, kind: str | None = None) -> int:
        return sum(n for m, n in self.counts(kind).items() if m in READ_METHODS)

    def writes(self, kind: str | None = None) -> int:
        return sum(n for m, n in self.counts(kind).items() if m in WRITE_METHODS)

    def total(self, kind: str | None = None) -> int:
        return sum(self.counts(kind).values())

    def drop_response(self, method: str, path_part: str) -> None:
        """Forward the next `method` request whose path contains `path_part` to the upstream, then close the
        client's connection instead of relaying the answer: the server acted, the client never hears of it."""
        with self._lock:
            self._drops.append((method, path_part))

    def _take_drop(self, method: str, path: str) -> bool:
        with self._lock:
            for index, (wanted, part) in enumerate(self._drops):
                if wanted == method and part in path:
                    del self._drops[index]
                    return True
        return False

    def fail_write(self, k: int, fault: str, status: int = 409, path_part: str = "", method: str | None = None) -> None:
        """The k-th write (POST/PUT/PATCH/DELETE) to the admin API from now (k=1: the next) meets `fault`; with
        path_part (method), only writes whose path contains it (of that method) are counted:

        refuse      answered `status` with a Keycloak-like error body; Keycloak never sees it
        drop        forwarded to Keycloak, then the client's connection is closed instead of answering
        tls-status  forwarded, then a few bytes of the status line and a forged TLS record, then closed
        tls-body    forwarded, then the status line, headers and half the body, a forged TLS record, closed
        """
        if fault not in FAULTS:
            raise ValueError(f"fault must be one of {FAULTS}, got {fault!r}")
        if fault.startswith("tls") and self._server.tls is None:
            raise ValueError(f"fault {fault!r} needs a proxy serving TLS (tls=)")
        with self._lock:
            self._faults.append([k, fault, status, path_part, method])

    def disarm(self) -> None:
        """Forget faults that have not fired."""
        with self._lock:
            self._faults.clear()

    def repeated_writes(self, methods=("POST",)) -> list[tuple[str, str, int]]:
        """Writes received more than once with the same method, path and body: (method, path, times)."""
        with self._lock:
            log = [entry for entry in self.write_log if entry[0] in methods]
        return [(m, p, n) for (m, p, _digest), n in collections.Counter(log).items() if n > 1]

    def refuse(self, method: str, path_part: str, status: int = 400) -> None:
        """Answer the next `method` write whose path contains `path_part` with `status` and Keycloak's error body,
        without forwarding it: a refusal of a write that passed every check, which Keycloak cannot be made to give
        on purpose (it accepts every client-scope write a valid plan sends)."""
        self.fail_write(1, "refuse", status, path_part=path_part, method=method)

    def reset(self) -> None:
        with self._lock:
            self.calls.clear()
            self.write_log.clear()
            self.injected.clear()
            self._faults.clear()

    # -- lifecycle ---------------------------------------------------------

    def start(self) -> "CountingProxy":
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1},
                                        name="counting-proxy", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> "CountingProxy":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def _connect(self) -> http.client.HTTPConnection:
        if self._ssl is not None:
            return http.client.HTTPSConnection(self._netloc, timeout=120, context=self._ssl)
        return http.client.HTTPConnection(self._netloc, timeout=120)


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # benchmarks open many connections at once
    proxy: CountingProxy
    tls: ssl.SSLContext | None

    def get_request(self):
        sock, address = super().get_request()
        if self.tls is not None:
            # The handshake happens on the handler's first read, in its own thread, not in the accepting one.
            sock = self.tls.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, address

    def handle_error(self, request, client_address):
        pass  # a client giving up on a broken connection (the faults provoke that) is not the proxy's error


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive towards the client
    # Headers and body go out in separate writes; without NODELAY, Nagle plus
    # delayed ACK would add ~40 ms to every response.
    disable_nagle_algorithm = True
    server: _Server
    _upstream: http.client.HTTPConnection | None = None

    def log_message(self, format, *args):  # noqa: A002 - signature from BaseHTTPRequestHandler
        pass  # quiet: tests print counts when they need them

    def _read_body(self) -> bytes | None:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";", 1)[0], 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # skip trailers
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else None

    def _forward(self, body: bytes | None) -> http.client.HTTPResponse:
        proxy = self.server.proxy
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP and k.lower() != "host"}
        headers["Host"] = proxy._netloc
        if body is not None:
            headers["Content-Length"] = str(len(body))
        reused = self._upstream is not None
        for attempt in (1, 2):
            if self._upstream is None:
                self._upstream = proxy._connect()
            try:
                self._upstream.request(self.command, self.path, body=body, headers=headers)
                return self._upstream.getresponse()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self._upstream.close()
                self._upstream = None
                # A kept-alive connection the server closed while idle: it saw nothing, retry once.
                if not reused or attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _refuse(self, status: int) -> None:
        body = json.dumps({"errorMessage": f"refused by the test proxy (HTTP {status})"}).encode()
        self.send_response_only(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _break_tls(self, fault: str, resp: http.client.HTTPResponse, data: bytes) -> None:
        if fault == "tls-status":
            head = f"HTTP/1.1 {resp.status}".encode()[:11]
        else:
            head = f"HTTP/1.1 {resp.status} {resp.reason}\r\nContent-Type: application/json\r\n" \
                   f"Content-Length: {max(len(data), 2)}\r\n\r\n".encode() + data[:len(data) // 2]
        self.wfile.write(head)
        self.wfile.flush()
        # Bytes written past the TLS layer, straight on the socket: the client's next record fails to decrypt.
        socket.socket.send(self.connection, _FORGED_RECORD_HEADER + os.urandom(19))
        self.close_connection = True

    def _handle(self) -> None:
        proxy = self.server.proxy
        body = self._read_body()
        fault = proxy._record(self.command, self.path, body)
        if fault is not None and fault[0] == "refuse":
            self._refuse(fault[1])
            return
        try:
            resp = self._forward(body)
            data = resp.read()
        except (OSError, http.client.HTTPException) as exc:
            if self._upstream is not None:
                self._upstream.close()
                self._upstream = None
            self.send_error(502, f"upstream error: {exc}")
            return
        if proxy._take_drop(self.command, self.path) or (fault is not None and fault[0] == "drop"):
            self.close_connection = True  # the answer is lost on the way back
            return
        if fault is not None:
            self._break_tls(fault[0], resp, data)
            return
        self.send_response_only(resp.status, resp.reason)
        for key, value in resp.getheaders():
            lk = key.lower()
            if lk in HOP_BY_HOP or (lk == "content-length" and self.command != "HEAD"):
                continue
            if lk == "location" and value.startswith(proxy.upstream):
                # Keep clients that follow Location (201 Created) going through us.
                value = proxy.url + value[len(proxy.upstream):]
            self.send_header(key, value)
        if self.command != "HEAD" and resp.status not in (204, 304) and resp.status >= 200:
            self.send_header("Content-Length", str(len(data)))
        if resp.will_close:
            self.close_connection = True
            self._upstream.close()
            self._upstream = None
        self.end_headers()
        if data and self.command != "HEAD":
            self.wfile.write(data)

    def finish(self):
        super().finish()
        if self._upstream is not None:
            self._upstream.close()

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = _handle


def main() -> None:
    parser = argparse.ArgumentParser(description="Counting reverse proxy for Keycloak tests")
    parser.add_argument("upstream", help="e.g. http://127.0.0.1:8080 or http://127.0.0.1:8080/auth")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--ca", help="CA bundle for an https upstream")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # Ctrl-C or kill: print counts, exit
    with CountingProxy(args.upstream, ca_path=args.ca, port=args.port) as proxy:
        print(proxy.url, flush=True)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass
        print(proxy.counts(), flush=True)


if __name__ == "__main__":
    main()
