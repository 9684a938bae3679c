"""pytest fixtures for real Keycloak servers.

Register from tests/conftest.py with ``pytest_plugins = ["tests.harness.pytest_plugin"]``.

Session fixtures (each started on first use, shared, stopped at session end):

* ``keycloak``          plain http start-dev server, or the external server named by
                        KEYCLOAK_URL / KEYCLOAK_USER / KEYCLOAK_PASSWORD [/ KEYCLOAK_REALM]
* ``keycloak_tls``      https only (throwaway CA in ``ca_path``; asks for, and trusts,
                        client certificates signed by that CA: ``client_cert``/``client_key``)
* ``keycloak_mtls``     https only like ``keycloak_tls``, but it refuses every connection without a client
                        certificate of its CA (``client_auth="required"``; ``requests_cert`` for requests)
* ``keycloak_prefixed`` served under ``/auth`` (``url`` ends with ``/auth``)
* ``keycloak_line``     module scope, parametrized indirectly with a version of KEYCLOAK_LINES: that line's
                        server, started once per test module and line (the previous one is stopped when its
                        tests are done; the next one may already be starting in the background);
                        for KEYCLOAK_VERSION the ``keycloak`` fixture's server. Other lines are skipped when
                        KEYCLOAK_URL names an external server
* ``keycloak_production`` (module scope) two production-mode nodes on PostgreSQL behind an HAProxy
                        that ends TLS (``production_cluster.py``); skipped when KEYCLOAK_URL names
                        an external server
* ``hashi_vault``       a Vault dev server serving https with a CA of its own (``ca_path``; ``vault_server.py``:
                        OpenBao's ``bao`` from its PyPI wheel),
                        or the one named by VAULT_ADDR / VAULT_TOKEN; skips with the reason when neither
                        can be had, unless VAULT_REQUIRED=1 is set, where it fails
* ``kube_apiserver``    a Kubernetes API server (``kube_server.py``: etcd + kube-apiserver, RBAC), or the
                        cluster of KUBECONFIG; skips likewise unless KUBERNETES_REQUIRED=1 is set

Function fixtures:

* ``counting_proxy``       a fresh CountingProxy in front of ``keycloak``
* ``make_counting_proxy``  ``make_counting_proxy(server)`` for one in front of another server

The servers of ``keycloak_tls``, ``keycloak_mtls``, ``keycloak_prefixed`` and ``keycloak_line`` that the selected
tests use are started in the background once ``keycloak`` is up, in the order the tests will ask for them, at most
two ahead (``prefetch.py``): their starts overlap the tests before them.

Fixtures never create realms; tests do.  If a local server cannot be had at all
(no Java 21+, distribution not downloadable) the fixtures skip, unless
KEYCLOAK_REQUIRED=1 is set (CI), where they fail.
"""

from __future__ import annotations

import functools
import os
import signal
import threading

import pytest

from .counting_proxy import CountingProxy
from .keycloak_server import KEYCLOAK_VERSION, HarnessUnavailable, KeycloakServer
from .kube_server import KubeServer, KubeUnavailable
from .prefetch import Prefetch
from .vault_server import VaultServer, VaultUnavailable

_servers: list[tuple[str, KeycloakServer]] = []  # (label, server) for the terminal summary
_prefetch = Prefetch()
# The session fixtures' own servers: fixture -> (label, arguments of KeycloakServer.start).
SESSION_SERVERS = {
    "keycloak_tls": ("tls", dict(tls=True, client_auth="request")),
    "keycloak_mtls": ("mtls", dict(tls=True, client_auth="required")),
    "keycloak_prefixed": ("prefixed", dict(relative_path="/auth")),
}


def _sigterm_as_interrupt(signum, frame):
    # pytest tears fixtures down on KeyboardInterrupt, but dies silently on a
    # bare SIGTERM (CI cancellation), which would leak the java processes.
    raise KeyboardInterrupt(f"signal {signum}")


def _server_key(kwargs: dict) -> tuple:
    return tuple(sorted(kwargs.items()))


def _start(label: str, server_class: type = KeycloakServer, **kwargs) -> KeycloakServer:
    if threading.current_thread() is threading.main_thread() and signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _sigterm_as_interrupt)
    try:
        server = _prefetch.take(_server_key(kwargs)) if server_class is KeycloakServer else None
        if server is None:
            server = server_class.start(**kwargs)
    except HarnessUnavailable as exc:
        if os.environ.get("KEYCLOAK_REQUIRED", "") not in ("", "0"):
            pytest.fail(f"keycloak {label}: {exc}", pytrace=False)
        pytest.skip(f"keycloak {label} unavailable: {exc}")
    _servers.append((label, server))
    _prefetch.begin()  # the first server is up: the others start beside the tests
    return server


@pytest.hookimpl(trylast=True)  # after pytest has put the tests in their order
def pytest_collection_modifyitems(items):
    """The servers the selected tests will ask for, first used first, for the background starts."""
    planned = []
    lines_started_here = not KeycloakServer.external_named()
    for item in items:
        for name in item.fixturenames:
            if name in SESSION_SERVERS:
                planned.append(SESSION_SERVERS[name][1])
        version = getattr(item, "callspec", None) and item.callspec.params.get("keycloak_line")
        if version and version != KEYCLOAK_VERSION and lines_started_here:  # else skipped (keycloak_line)
            planned.append(dict(version=version))
    _prefetch.plan([(_server_key(kwargs), functools.partial(KeycloakServer.start, **kwargs)) for kwargs in planned])


def pytest_sessionfinish():
    _prefetch.stop()


@pytest.fixture(scope="session")
def keycloak():
    external = KeycloakServer.external_from_env()
    if external is not None:
        _servers.append(("plain", external))
        _prefetch.begin()
        yield external
        return
    with _start("plain") as server:
        yield server


def _session_server(fixture: str):
    label, kwargs = SESSION_SERVERS[fixture]
    with _start(label, **kwargs) as server:
        yield server


@pytest.fixture(scope="session")
def keycloak_tls():
    yield from _session_server("keycloak_tls")


@pytest.fixture(scope="session")
def keycloak_mtls():
    yield from _session_server("keycloak_mtls")


@pytest.fixture(scope="session")
def keycloak_prefixed():
    yield from _session_server("keycloak_prefixed")


@pytest.fixture(scope="module")
def keycloak_line(request):
    version = request.param
    if version == KEYCLOAK_VERSION:
        yield request.getfixturevalue("keycloak")
        return
    if KeycloakServer.external_from_env() is not None:
        pytest.skip(f"Keycloak {version}: KEYCLOAK_URL names an external server, so the suite starts no Keycloak of its own")
    with _start(f"line {version}", version=version) as server:
        yield server


# -- production-shaped cluster: PostgreSQL, two nodes, TLS at HAProxy --------------------------------

@pytest.fixture(scope="module")
def keycloak_production():
    """Module scope: its two JVMs and PostgreSQL are stopped as soon as the module using them is done."""
    from .production_cluster import ProductionCluster  # pylint: disable=import-outside-toplevel
    if KeycloakServer.external_from_env() is not None:
        pytest.skip("production cluster: KEYCLOAK_URL names an external server, so the suite starts no Keycloak")
    with _start("production (2 nodes on PostgreSQL behind HAProxy)", ProductionCluster) as cluster:
        yield cluster


# --- Delivery destinations: a Vault and a Kubernetes API server --------------------------------------------

def _destination(server_class, unavailable, required_variable, label):
    """The external server the environment names, else one started here (stopped at session end); when
    none can be had, a skip with the reason, or a failure when ``required_variable`` is set (CI)."""
    external = server_class.external_from_env()
    if external is not None:
        yield external
        return
    try:
        server = server_class.start()
    except unavailable as exc:
        if os.environ.get(required_variable, "") not in ("", "0"):
            pytest.fail(f"{label}: {exc}", pytrace=False)
        pytest.skip(f"{label} unavailable: {exc}")
    with server:
        yield server


@pytest.fixture(scope="session")
def hashi_vault():
    yield from _destination(VaultServer, VaultUnavailable, "VAULT_REQUIRED", "HashiCorp Vault")


@pytest.fixture(scope="session")
def kube_apiserver():
    # Waits for a kube-apiserver build that scripts/test started in the background.
    yield from _destination(KubeServer, KubeUnavailable, "KUBERNETES_REQUIRED", "Kubernetes API server")


@pytest.fixture
def make_counting_proxy():
    proxies = []

    def make(server: KeycloakServer) -> CountingProxy:
        proxy = CountingProxy(server.url, ca_path=server.ca_path).start()
        proxies.append(proxy)
        return proxy

    yield make
    for proxy in proxies:
        proxy.stop()


@pytest.fixture
def counting_proxy(keycloak, make_counting_proxy):
    return make_counting_proxy(keycloak)


def pytest_terminal_summary(terminalreporter):
    if not _servers:
        return
    terminalreporter.section("keycloak")
    for label, s in _servers:
        if s.started_by_us:
            terminalreporter.write_line(f"keycloak {label}: ready in {s.startup_seconds:.1f}s "
                                        f"(Keycloak {s.version} at {s.url})")
        else:
            terminalreporter.write_line(f"keycloak {label}: external server {s.url} "
                                        f"(Keycloak {s.version or 'version unknown'})")
