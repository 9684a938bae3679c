"""docs/least-privilege.yml, the one source of the realm-management roles each feature needs, and the texts made
from it: the table of README.md and docs/production.md and the sentence of each plugin's notes.

`python -m tests.least_privilege` writes them all; tests/unit/docs/test_least_privilege_docs.py fails while any differs,
and tests/integration/test_least_privilege.py measures the rows on Keycloak.
"""
import os
import re
import textwrap

import yaml

from tests.collection_path import REPO

DATA = os.path.join(REPO, "docs", "least-privilege.yml")
TABLE_DOCS = ("README.md", os.path.join("docs", "production.md"))
TABLE_START = "<!-- least-privilege table: generated from docs/least-privilege.yml by python -m tests.least_privilege -->"
TABLE_END = "<!-- end of least-privilege table -->"
NOTE_START = "Roles of realm-management it needs in the realm"
GRANTED = "each realm-management role it grants (or realm-admin, which holds them all)"


def rows():
    with open(DATA, encoding="utf-8") as handle:
        return yaml.safe_load(handle)["rows"]


def plugin_file(plugin):
    """The file of a plugin named as in the data ("confidential_client", "lookup client_secret"); None for a role."""
    kind, _space, name = plugin.rpartition(" ")
    if kind == "role":
        return None
    return os.path.join(REPO, "plugins", {"": "modules", "lookup": "lookup"}[kind], name + ".py")


def listed(names, mark):
    marked = [mark % name for name in names]
    return " and ".join([", ".join(marked[:-1]), marked[-1]] if len(marked) > 1 else marked) or "none"


def roles_text(row, mark):
    """The roles of a row in prose: `mark` is '`%s`' for Markdown, 'C(%s)' for Ansible's documentation markup."""
    text = listed(row["roles"], mark)
    if row.get("granted"):
        text += ", and " + GRANTED.replace("realm-admin", mark % "realm-admin")
    for alternative in row.get("alternatives") or []:
        text += " (or %s)" % listed(alternative, mark)
    return text


def table():
    lines = ["| What | Where | Roles of realm-management |", "| --- | --- | --- |"]
    for row in rows():
        where = ", ".join(re.sub(r"(\S+)$", r"`\1`", plugin) for plugin in row["plugins"])
        lines.append("| %s | %s | %s |" % (row["what"], where, roles_text(row, "`%s`")))
    return "\n".join(lines)


def note(plugin):
    """The sentence of a plugin's notes: every row that names it."""
    parts = ["for %s, %s" % (re.sub(r"`([^`]+)`", r"C(\1)", row["what"]), roles_text(row, "C(%s)"))
             for row in rows() if plugin in row["plugins"]]
    # No ": " in it: the notes are plain YAML scalars.
    return "%s (measured on Keycloak; docs/least-privilege.yml in the collection) are, %s." % (NOTE_START, "; ".join(parts))


def plugins():
    return sorted({plugin for row in rows() for plugin in row["plugins"] if plugin_file(plugin)})


def with_table(text):
    start, end = text.index(TABLE_START) + len(TABLE_START), text.index(TABLE_END)
    return text[:start] + "\n" + table() + "\n" + text[end:]


def with_note(source, plugin):
    """The plugin's source with the notes item that starts with NOTE_START replaced (a YAML list item of DOCUMENTATION)."""
    found = re.search(r"^(  - )%s.*\n(?:    \S.*\n)*" % re.escape(NOTE_START), source, re.M)
    wrapped = textwrap.fill(note(plugin), width=118, initial_indent="  - ", subsequent_indent="    ",
                            break_on_hyphens=False, break_long_words=False)
    return source[:found.start()] + wrapped + "\n" + source[found.end():]


def rewrite(path, change):
    with open(path, encoding="utf-8") as handle:
        text = change(handle.read())
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)


def write():
    for doc in TABLE_DOCS:
        rewrite(os.path.join(REPO, doc), with_table)
    for plugin in plugins():
        rewrite(plugin_file(plugin), lambda source, name=plugin: with_note(source, name))


if __name__ == "__main__":
    write()
