"""Keycloak servers started in the background before the tests that need them ask for them.

A test session needs several servers besides the shared one (TLS, mTLS, /auth, one per Keycloak line), each
asked for by its fixture when the first test using it runs, and each start takes a while (the JVM, then Keycloak's
boot), mostly on CPU. The tests in between mostly run one ansible process at a time, which leaves the second core
idle: a server started on it beforehand is ready, or nearly, when its fixture asks. ``Prefetch`` does that:

* ``plan(servers)`` (at collection) lists the servers the selected tests will ask for, in the order of first use;
* ``begin()`` (once the shared server is up) starts them one after another in one background thread, never more than
  ``AHEAD`` started and not yet taken, so that the machine is not flooded;
* ``take(key)`` hands a fixture its server: the one started beforehand (waiting for its start to end), or None
  when none was started for it, and the fixture starts it itself as before. A failed start is raised here, where
  the fixture turns it into a skip or a failure as it would its own;
* ``stop()`` (session end) stops the servers started and never taken.

A server belongs to whoever takes it: the fixture stops it as it would one it started.
"""

from __future__ import annotations

import threading
from typing import Any, Callable

AHEAD = 2  # servers started in the background and not yet taken, at most


class Prefetch:
    def __init__(self) -> None:
        self._planned: list[tuple[Any, Callable[[], Any]]] = []  # (key, start), in the order of first use
        self._started: dict[Any, dict] = {}  # key -> {"done": Event, "server": ..., "error": ...}
        self._lock = threading.Condition()
        self._thread: threading.Thread | None = None
        self._stopping = False

    def plan(self, servers: list[tuple[Any, Callable[[], Any]]]) -> None:
        """(key, start) of each server the session will ask for, first used first; start() returns the server."""
        self._planned = []
        for key, start in servers:
            if key not in (planned for planned, _start in self._planned):
                self._planned.append((key, start))

    def begin(self) -> None:
        with self._lock:
            if self._thread is None and self._planned:
                self._thread = threading.Thread(target=self._run, name="keycloak prefetch", daemon=True)
                self._thread.start()

    def take(self, key: Any):
        """The server started in the background for key (its start error raised), or None."""
        with self._lock:
            self._planned = [(k, start) for k, start in self._planned if k != key]  # not started later
            entry = self._started.get(key)
        if entry is None:
            return None
        entry["done"].wait()
        with self._lock:
            del self._started[key]
            self._lock.notify_all()
        if "error" in entry:
            raise entry["error"]
        return entry["server"]

    def stop(self) -> None:
        with self._lock:
            self._stopping = True
            self._planned = []
            self._lock.notify_all()
        if self._thread is not None:
            self._thread.join()
        for entry in self._started.values():
            if entry.get("server") is not None:
                entry["server"].stop()
        self._started.clear()

    def _run(self) -> None:
        while True:
            with self._lock:
                while not self._stopping and self._planned and len(self._started) >= AHEAD:
                    self._lock.wait()
                if self._stopping or not self._planned:
                    return
                key, start = self._planned.pop(0)
                entry = self._started[key] = {"done": threading.Event()}
            try:
                entry["server"] = start()
            except BaseException as exc:  # noqa: BLE001 - handed to the fixture that takes it
                entry["error"] = exc
            entry["done"].set()
