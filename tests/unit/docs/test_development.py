"""docs/development.md's map of plugins/ names every file of plugins/ with its concern and nothing that is gone, and
its table of where to start names files that exist."""
import os
import re

import pytest

from tests.collection_path import REPO

DOC = os.path.join(REPO, "docs", "development.md")
# An entry of the map: a name at its depth (two spaces a level), then its concern after two spaces or more;
# lines indented further continue the concern above.
ENTRY = re.compile(r"^(?P<indent> {0,10})(?P<name>[A-Za-z0-9_.]+/?)(?: {2,}(?P<concern>\S.*))?$")
START_TOPICS = ("the connection", "the reconcile", "the masking", "the rollback", "the parallel writes")


def section(title):
    with open(DOC, encoding="utf-8") as handle:
        text = handle.read()
    start = text.index("\n### %s\n" % title)
    return text[start:text.index("\n##", start + 1)]


def plugins_map():
    """{path: concern} of the map's block, directories ending with '/'."""
    block = section("The map of plugins/").split("```")[1]
    entries, parents, last = {}, [], None
    for line in block.strip("\n").splitlines():
        match = ENTRY.match(line)
        if not match:
            assert last and line.startswith(" " * 12), "neither an entry nor a continuation: %r" % line
            entries[last] += " " + line.strip()
            continue
        depth = len(match.group("indent")) // 2
        assert len(match.group("indent")) % 2 == 0 and depth <= len(parents), "bad indentation: %r" % line
        parents[depth:] = [match.group("name")]
        last = "".join(parents)
        entries[last] = match.group("concern") or ""
    return entries


def plugin_files():
    found = set()
    for directory, _dirs, files in os.walk(os.path.join(REPO, "plugins")):
        for name in files:
            path = os.path.join(directory, name)
            if name.endswith((".pyc", ".pyo")) or (name == "__init__.py" and not os.path.getsize(path)):
                continue
            found.add(os.path.relpath(path, REPO))
    return found


def test_every_file_of_plugins_is_in_the_map_and_the_map_names_only_files_that_exist():
    named = {path for path in plugins_map() if not path.endswith("/")}
    assert sorted(plugin_files() - named) == [], "files of plugins/ missing from docs/development.md's map"
    assert sorted(named - plugin_files()) == [], "names in docs/development.md's map that are no file of plugins/"


def test_every_file_of_the_map_says_what_it_holds():
    assert [path for path, concern in plugins_map().items() if not path.endswith("/") and not concern] == []


@pytest.mark.parametrize("topic", START_TOPICS)
def test_where_to_start_names_an_existing_file_for_each_topic(topic):
    rows = {cells[0]: cells[1] for cells in (
        [cell.strip() for cell in line.strip("|").split("|")] for line in section("Where to start").splitlines()
        if line.startswith("|"))}
    files = re.findall(r"`(plugins/[^`]+\.py)`", rows.get(topic, ""))
    assert files, "docs/development.md names no file to open for %s" % topic
    assert all(os.path.exists(os.path.join(REPO, path)) for path in files), files
