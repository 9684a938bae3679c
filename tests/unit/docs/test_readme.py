"""README says what the collection holds and which ansible-core it runs on; these tests hold it to plugins/,
roles/ and meta/runtime.yml."""
import json
import os
import re
import subprocess
import sys

import yaml

from tests.collection_path import collections_root

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
# README's word for a kind of content -> where that content lives.
KINDS = {"module": "plugins/modules", "lookup": "plugins/lookup", "filter": "plugins/filter", "role": "roles"}


def readme():
    with open(os.path.join(REPO, "README.md"), encoding="utf-8") as handle:
        return handle.read()


def contents_table():
    """{(kind, name)} of the first column of README's "What is in it" table (a cell may name several)."""
    section = readme().split("## What is in it", 1)[1].split("\n## ", 1)[0]
    named = set()
    for line in section.splitlines():
        if not line.startswith("| ") or line.startswith("| ---") or line.startswith("| Content"):
            continue
        cell = line.split("|")[1]
        for kind, names in re.findall(r"(module|lookup|filter|role)s? ((?:`\w+`(?:, )?)+)", cell):
            named.update((kind, name) for name in re.findall(r"`(\w+)`", names))
    return named


def shipped():
    found = set()
    for kind, directory in KINDS.items():
        for entry in os.listdir(os.path.join(REPO, directory)):
            if kind == "role":
                found.add((kind, entry))
            elif entry.endswith(".py") and not entry.startswith("_"):
                found.add((kind, entry[:-3]))
    return found


def test_readme_lists_every_module_lookup_filter_and_role_and_nothing_else():
    listed, present = contents_table(), shipped()
    assert not present - listed, "missing from README's 'What is in it': %s" % sorted(present - listed)
    assert not listed - present, "README lists what the collection does not have: %s" % sorted(listed - present)


def test_readme_names_the_ansible_core_range_of_meta_runtime():
    with open(os.path.join(REPO, "meta", "runtime.yml"), encoding="utf-8") as handle:
        requires = yaml.safe_load(handle)["requires_ansible"]
    oldest = re.fullmatch(r">=(\d+)\.(\d+)(?:\.0)?,<(\d+)\.(\d+)", requires.replace(" ", ""))
    assert oldest, "requires_ansible %r: give a lower and an upper bound, such as '>=2.18.0,<2.22'" % requires
    low = "%s.%s" % oldest.group(1, 2)
    high = "%s.%d" % (oldest.group(3), int(oldest.group(4)) - 1)
    text = readme()
    assert "ansible-core %s to %s" % (low, high) in text, "README's Requirements must say ansible-core %s to %s" % (
        low, high)
    assert "'ansible-core>=%s,<%s.%s'" % (low, oldest.group(3), oldest.group(4)) in text, (
        "README's install line must pin ansible-core to requires_ansible")


# The options that say what a task addresses: a list of items, and the option of one item beside it.
MANY_AND_ONE = {"clients": "client_id", "scopes": "name", "files": "path"}
ITEM_OPTIONS = set(MANY_AND_ONE) | set(MANY_AND_ONE.values())
SUPPORT = {"yes": "full", "no": "none", "partly": "partial"}


def glance_table():
    """{module: (item options named, check mode, diff mode, action group)} of README's "Modules at a glance"."""
    section = readme().split("### Modules at a glance", 1)[1].split("\n#", 1)[0]
    rows = {}
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) != 5 or not cells[0].startswith("`"):
            continue
        first_word = [cell.split(":")[0].split(" ")[0] for cell in cells[2:]]
        rows[cells[0].strip("`")] = (set(re.findall(r"`(\w+)`", cells[1])) & ITEM_OPTIONS,) + tuple(first_word)
    return rows


def addressed(options):
    """The item options of a module: each list option with its one-item option, else client_id alone."""
    found = set()
    for many, one in MANY_AND_ONE.items():
        if many in options:
            found |= {many, one}
    return found or set(options) & {"client_id"}


def module_docs():
    """ansible-doc's view of every module (doc fragments included), as a user reads it."""
    names = sorted(entry[:-3] for entry in os.listdir(os.path.join(REPO, "plugins", "modules"))
                   if entry.endswith(".py") and not entry.startswith("_"))
    ansible_doc = os.path.join(os.path.dirname(sys.executable), "ansible-doc")
    completed = subprocess.run([ansible_doc, "-t", "module", "--json"] + ["keycloak_ops.clients." + n for n in names],
                               capture_output=True, text=True, check=True, timeout=300,
                               env=dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections_root()))
    return {fqcn.rsplit(".", 1)[1]: entry["doc"] for fqcn, entry in json.loads(completed.stdout).items()}


def test_readme_says_per_module_what_a_task_addresses_and_which_modes_and_group_it_has():
    table, docs = glance_table(), module_docs()
    assert set(table) == set(docs), "README's 'Modules at a glance' lists %s, plugins/modules has %s" % (
        sorted(table), sorted(docs))
    with open(os.path.join(REPO, "meta", "runtime.yml"), encoding="utf-8") as handle:
        group = set(yaml.safe_load(handle)["action_groups"]["keycloak"])
    for module, (items, check_mode, diff_mode, in_group) in table.items():
        doc = docs[module]
        assert items == addressed(doc["options"]), "%s: README names %s, its options are %s" % (
            module, sorted(items), sorted(addressed(doc["options"])))
        for attribute, said in (("check_mode", check_mode), ("diff_mode", diff_mode)):
            assert SUPPORT.get(said) == doc["attributes"][attribute]["support"], "%s: README says %s %s, its %s is %s" % (
                module, attribute, said, attribute, doc["attributes"][attribute]["support"])
        member = "action_group" in doc["attributes"]
        assert (in_group == "yes") == member == (module in group), (
            "%s: README says action group %s; its docs %s it, meta/runtime.yml %s it" % (
                module, in_group, "give" if member else "do not give", "lists" if module in group else "does not list"))
