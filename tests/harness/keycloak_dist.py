"""The Keycloak server distributions of the tests: pinned versions, download and checksum, JDK.

Each version is the official zip of Maven Central (``org.keycloak:keycloak-quarkus-dist``), SHA-512 checked
every time it is used, unpacked once into the cache (``KEYCLOAK_OPS_CACHE``, default ``~/.cache/keycloak_ops``).
Standard library only.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import urllib.request
import zipfile
from pathlib import Path
from xml.etree import ElementTree

KEYCLOAK_VERSION = "26.7.5"
# SHA-512 of each distribution zip we run, pinned here (Maven Central publishes the same in a .sha512 file).
DIST_SHA512 = {
    # Maven Central has no .sha512 beside the 26.7.5 zip: computed from a download whose published .sha1 matched.
    "26.7.5": "5d6d79d3a62d566ad5b8eaa9dfa86e7377b4562e8823cfa456e76d7bb86c17f4"
              "38b4529eaa3358e6df4a2f4f8fdc190b0149597db172dcdfed3a39820eb6feb3",
    "26.6.4": "3e317375ba33c11966d4c23cc5bbad0054ad3c51480437f00c726590b8b2ad00"
              "c455db47a5b95510efa396fc16f93ba08185e611fe5ed60e09e8bc05b23186b5",
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
# The newest patch of every 26.x minor line served by Maven Central, oldest first: the compatibility tests run
# the main paths on each of them. `python -m tests.harness.keycloak_server lines` lists newer patches.
KEYCLOAK_LINES = ("26.0.8", "26.1.4", "26.2.5", "26.3.5", "26.4.7", "26.5.6", "26.6.4", KEYCLOAK_VERSION)
MIN_JAVA = 21


class HarnessUnavailable(RuntimeError):
    """Keycloak cannot be started here at all (no JDK, no distribution)."""


class StartError(RuntimeError):
    """Keycloak was launched but did not become ready."""


def cache_dir() -> Path:
    return Path(os.environ.get("KEYCLOAK_OPS_CACHE") or "~/.cache/keycloak_ops").expanduser()


def harness_log(msg: str) -> None:
    print(f"[keycloak-harness] {msg}", file=sys.stderr, flush=True)


# Download, verify, unpack: all idempotent and race-safe.

def _sha512(path: Path) -> str:
    h = hashlib.sha512()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


DIST_BASE_URL = "https://repo.maven.apache.org/maven2/org/keycloak/keycloak-quarkus-dist/"


def dist_url(version: str) -> str:
    return f"{DIST_BASE_URL}{version}/keycloak-quarkus-dist-{version}.zip"


def fetch_zip(version: str = KEYCLOAK_VERSION) -> Path:
    """Return the verified distribution zip, downloading it if needed."""
    if version not in DIST_SHA512:
        raise HarnessUnavailable(f"no pinned SHA-512 for Keycloak {version} (known: {', '.join(DIST_SHA512)})")
    cache = cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    zip_path = cache / f"keycloak-quarkus-dist-{version}.zip"
    url = dist_url(version)
    if not zip_path.exists():
        harness_log(f"downloading {url}")
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
            out = subprocess.run([str(java), "-version"], capture_output=True, text=True, timeout=30,
                                 check=False).stderr
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
# Newer patches of the pinned lines (information: the next pin to take)
# --------------------------------------------------------------------------

def _version_key(version: str) -> tuple[int, ...] | None:
    """(26, 7, 5) for "26.7.5"; None for what is not a release (26.0.0-rc1, nightly)."""
    parts = version.split(".")
    return tuple(int(part) for part in parts) if all(part.isdigit() for part in parts) else None


def served_versions(metadata_xml: bytes | str) -> list[str]:
    """The release versions a maven-metadata.xml lists (pre-releases left out)."""
    root = ElementTree.fromstring(metadata_xml)
    return [v.text.strip() for v in root.iter("version") if v.text and _version_key(v.text.strip())]


def newer_than_pinned(pinned: tuple[str, ...], served: list[str]) -> list[str]:
    """One line per finding: a newer patch of a pinned minor line, or a minor line newer than every pinned one."""
    pinned_keys = [_version_key(v) for v in pinned]
    newest_line = max(key[:2] for key in pinned_keys if key)
    found = []
    for version in pinned:
        key = _version_key(version)
        newer = sorted((v for v in served if _version_key(v)[:2] == key[:2] and _version_key(v) > key),
                       key=_version_key)
        if newer:
            found.append(f"{version}: newer patch served: {', '.join(newer)}")
    lines: dict[tuple[int, ...], list[str]] = {}
    for v in served:
        key = _version_key(v)
        if key[:2] > newest_line:
            lines.setdefault(key[:2], []).append(v)
    for line, versions in sorted(lines.items()):
        newest = max(versions, key=_version_key)
        found.append(f"{'.'.join(map(str, line))}: a line newer than every pinned one, newest patch {newest}")
    return found


def lines_report(pinned: tuple[str, ...] = KEYCLOAK_LINES, timeout: float = 20) -> list[str]:
    """What Maven Central serves beyond KEYCLOAK_LINES, as lines to print; never raises for the network.

    Its maven-metadata.xml can lag behind the versions it serves (seen: 26.6.4 and 26.7.5 served, not listed),
    so "nothing newer" means nothing newer listed.
    """
    url = DIST_BASE_URL + "maven-metadata.xml"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            served = served_versions(resp.read())
    except (OSError, ValueError, ElementTree.ParseError) as exc:  # offline, refused, not XML: information only
        return [f"keycloak lines: cannot ask {url}: {exc}"]
    found = newer_than_pinned(pinned, served)
    if not found:
        return [f"keycloak lines: the pinned lines ({', '.join(pinned)}) are the newest listed in {url}"]
    return [f"keycloak lines: {item} (pin it in tests/harness/keycloak_dist.py)" for item in found]
