"""A counting HTTP/1.1 reverse proxy, to assert how many requests a client made.

Put it between the code under test and Keycloak, then check e.g. that a second
(idempotent) run issued no writes, or that many clients cost one token request::

    with CountingProxy(server.url) as proxy:
        run_module(url=proxy.url)
        assert proxy.writes("admin") == 0
        assert proxy.counts("token") == {"POST": 1}

Standard library only.  Each client connection gets its own keep-alive
connection upstream, so a client with a connection pool is relayed 1:1.

Script use: ``python tests/harness/counting_proxy.py UPSTREAM_URL [--port N]``
prints the proxy URL and, on Ctrl-C, the counts.
"""

from __future__ import annotations

import argparse
import collections
import http.client
import http.server
import signal
import ssl
import threading
import urllib.parse

READ_METHODS = frozenset({"GET", "HEAD"})
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Hop-by-hop headers (RFC 9110 7.6.1) belong to one connection and are not relayed.
HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-connection", "proxy-authenticate",
                        "proxy-authorization", "te", "trailer", "transfer-encoding", "upgrade", "expect"})


def classify(path: str) -> str:
    """'token' for the OIDC token endpoint, 'admin' for the admin REST API, else 'other'."""
    path = path.split("?", 1)[0]
    if path.endswith("/protocol/openid-connect/token"):
        return "token"
    if "/admin/realms" in path or path.endswith("/admin/serverinfo"):
        return "admin"
    return "other"


class CountingProxy:
    def __init__(self, upstream: str, ca_path: str | None = None, port: int = 0):
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
        # (method, path part, status, body): the next matching request is answered here, never forwarded (see refuse).
        self._refusals: list[tuple[str, str, int, bytes]] = []
        self._server = _Server(("127.0.0.1", port), _Handler)
        self._server.proxy = self
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """Base URL for clients: the proxy's address plus the upstream's path (e.g. /auth)."""
        return f"http://127.0.0.1:{self._server.server_address[1]}{self._base_path}"

    # -- counting ----------------------------------------------------------

    def _record(self, method: str, path: str) -> None:
        with self._lock:
            self.calls.append((method, path))

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

    def refuse(self, method: str, path_part: str, status: int = 400,
               message: str = "refused by the test proxy") -> None:
        """Answer the next `method` request whose path contains `path_part` with `status` and Keycloak's error body,
        without forwarding it: a refusal of a write that passed every check, which Keycloak cannot be made to give
        on purpose (it accepts every client-scope write a valid plan sends)."""
        body = ('{"errorMessage": "%s"}' % message).encode()
        with self._lock:
            self._refusals.append((method, path_part, status, body))

    def _take_refusal(self, method: str, path: str) -> tuple[int, bytes] | None:
        with self._lock:
            for index, (wanted, part, status, body) in enumerate(self._refusals):
                if wanted == method and part in path:
                    del self._refusals[index]
                    return status, body
        return None

    def reset(self) -> None:
        with self._lock:
            self.calls.clear()

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

    def _handle(self) -> None:
        proxy = self.server.proxy
        proxy._record(self.command, self.path)
        refusal = proxy._take_refusal(self.command, self.path)
        if refusal is not None:
            self._read_body()
            self.send_response(refusal[0])
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(refusal[1])))
            self.end_headers()
            self.wfile.write(refusal[1])
            return
        try:
            resp = self._forward(self._read_body())
            data = resp.read()
        except (OSError, http.client.HTTPException) as exc:
            if self._upstream is not None:
                self._upstream.close()
                self._upstream = None
            self.send_error(502, f"upstream error: {exc}")
            return
        if proxy._take_drop(self.command, self.path):
            self.close_connection = True  # the answer is lost on the way back
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
