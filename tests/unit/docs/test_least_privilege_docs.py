"""README, docs/*.md, the doc fragment and every plugin's notes state the realm-management roles of
docs/least-privilege.yml (measured by tests/integration/test_least_privilege.py), and nothing else does.
`python -m tests.least_privilege` rewrites the tables and notes after a change of the data."""
import ast
import glob
import os
import re

import yaml

from tests.collection_path import REPO
from tests.least_privilege import TABLE_DOCS, TABLE_END, TABLE_START, note, plugin_file, plugins, rows, with_table

ROLE = re.compile(r"\b(?:(?:manage|view|query)-[a-z]+|create-client|realm-admin)\b")
MARKER = re.compile(r"least-privilege: ([\w-]+)")
FIX = "run python -m tests.least_privilege after changing docs/least-privilege.yml"


def documentation(path):
    """The parsed DOCUMENTATION of a plugin or doc fragment file."""
    for node in ast.walk(ast.parse(open(path, encoding="utf-8").read())):
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == "DOCUMENTATION":
            return yaml.safe_load(node.value.value)
    raise AssertionError("no DOCUMENTATION in %s" % path)


def flat(text):
    return " ".join(text.split())


def row(row_id):
    return next(r for r in rows() if r["id"] == row_id)


def test_tables_of_readme_and_production_are_the_data():
    for doc in TABLE_DOCS:
        text = open(os.path.join(REPO, doc), encoding="utf-8").read()
        assert text == with_table(text), "%s: the least-privilege table differs from the data; %s" % (doc, FIX)


def test_each_plugin_states_its_rows_in_its_notes_and_only_there():
    for plugin in plugins():
        notes = [flat(n) for n in documentation(plugin_file(plugin)).get("notes") or []]
        assert flat(note(plugin)) in notes, "%s: its notes must hold\n%s\n(%s)" % (plugin, note(plugin), FIX)
        stray = [n for n in notes if n != flat(note(plugin)) and ROLE.search(n) and re.search(r"\bneed", n)]
        assert not stray, "%s: other notes state needed roles: %s" % (plugin, stray)


def test_every_module_with_admin_credentials_has_a_row():
    listed = set(plugins())
    for path in sorted(glob.glob(os.path.join(REPO, "plugins", "modules", "*.py"))):
        fragments = documentation(path).get("extends_documentation_fragment") or []
        if "keycloak_ops.clients.keycloak" in fragments:
            assert os.path.basename(path)[:-3] in listed, "%s takes admin credentials: give it a row" % path


def test_the_fragment_names_the_roles_of_the_client_modules():
    path = os.path.join(REPO, "plugins", "doc_fragments", "keycloak.py")
    text = " ".join(documentation(path)["options"]["auth_client_secret"]["description"])
    assert ROLE.findall(text) == row("clients")["roles"], text


def test_docs_state_needed_roles_only_in_the_table_or_a_marked_line():
    """A marked line (`least-privilege: ROW`) names exactly the row's roles; no other line says a role is needed."""
    docs = ["README.md"] + glob.glob(os.path.join(REPO, "docs", "*.md")) + glob.glob(os.path.join(REPO, "roles", "*", "README.md"))
    for doc in docs:
        text = open(os.path.join(REPO, doc), encoding="utf-8").read()
        if TABLE_START in text:
            text = text[:text.index(TABLE_START)] + text[text.index(TABLE_END):]
        for number, line in enumerate(text.splitlines(), 1):
            marked = MARKER.search(line)
            if marked:
                assert ROLE.findall(line) == row(marked.group(1))["roles"], "%s:%d: %s" % (doc, number, line)
            elif ROLE.search(line) and re.search(r"\bneed", line):
                raise AssertionError("%s:%d states needed roles outside the least-privilege table: %s"
                                     % (doc, number, line))
