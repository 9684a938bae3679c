"""The pinned Keycloak lines (tests/harness/keycloak_dist.py) and the check that lists newer patches of them."""
import urllib.error

import pytest

from tests.harness import keycloak_dist, keycloak_server
from tests.harness.keycloak_dist import (DIST_SHA512, KEYCLOAK_LINES, KEYCLOAK_VERSION, newer_than_pinned,
                                         served_versions)

METADATA = b"""<?xml version="1.0" encoding="UTF-8"?>
<metadata><groupId>org.keycloak</groupId><artifactId>keycloak-quarkus-dist</artifactId>
  <versioning><latest>27.0.0</latest><release>27.0.0</release><versions>
    <version>26.6.4</version><version>26.6.5</version><version>26.7.5</version><version>26.8.0-rc1</version>
    <version>26.8.0</version><version>26.8.1</version><version>27.0.0</version><version>nightly</version>
  </versions></versioning></metadata>"""


def key(version):
    return tuple(int(part) for part in version.split("."))


def test_one_pinned_patch_per_line_oldest_first_the_newest_last():
    lines = [key(v)[:2] for v in KEYCLOAK_LINES]
    assert lines == sorted(set(lines))
    assert KEYCLOAK_LINES[-1] == KEYCLOAK_VERSION
    assert all(v in DIST_SHA512 and len(DIST_SHA512[v]) == 128 for v in KEYCLOAK_LINES)


def test_releases_only():
    assert served_versions(METADATA) == ["26.6.4", "26.6.5", "26.7.5", "26.8.0", "26.8.1", "27.0.0"]


def test_newer_patches_and_newer_lines_are_listed():
    found = newer_than_pinned(("26.6.4", "26.7.5"), served_versions(METADATA))
    assert found == [
        "26.6.4: newer patch served: 26.6.5",
        "26.8: a line newer than every pinned one, newest patch 26.8.1",
        "27.0: a line newer than every pinned one, newest patch 27.0.0",
    ]
    assert newer_than_pinned(("26.6.5", "27.0.0"), served_versions(METADATA)) == []


class Answer:
    def __init__(self, body):
        self.body = body

    def read(self):
        return self.body

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


@pytest.mark.parametrize("answer", [urllib.error.URLError("Name or service not known"),
                                    urllib.error.HTTPError("u", 403, "Forbidden", {}, None),
                                    TimeoutError("timed out"), b"<html>proxy says no", b"{}"])
def test_offline_or_refused_is_one_line_and_exit_0(monkeypatch, capsys, answer):
    def urlopen(url, timeout):
        assert url.endswith("/keycloak-quarkus-dist/maven-metadata.xml") and timeout
        if isinstance(answer, Exception):
            raise answer
        return Answer(answer)

    monkeypatch.setattr(keycloak_dist.urllib.request, "urlopen", urlopen)
    assert keycloak_server.main(["lines"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 1 and out[0].startswith("keycloak lines: cannot ask "), out


def test_findings_name_the_file_to_pin_them_in(monkeypatch):
    monkeypatch.setattr(keycloak_dist.urllib.request, "urlopen", lambda url, timeout: Answer(METADATA))
    report = keycloak_dist.lines_report(("26.6.4", "26.7.5"))
    assert report[0] == ("keycloak lines: 26.6.4: newer patch served: 26.6.5 "
                         "(pin it in tests/harness/keycloak_dist.py)")
    assert len(report) == 3
