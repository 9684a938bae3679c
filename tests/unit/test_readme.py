"""README says what the collection holds and which ansible-core it runs on; these tests hold it to plugins/,
roles/ and meta/runtime.yml."""
import os
import re

import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
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
