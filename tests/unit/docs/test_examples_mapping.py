"""What tests/integration/test_examples.py runs, checked without a server: every example of the documentation either
runs (the mapping gives what a block of variables needs, and the playbook made of them all passes ansible-playbook's
syntax check, so a misspelt module or role is caught here) or says why not, and the mapping names only examples
that exist."""
import os
import re
import subprocess
import sys

import yaml

from tests.collection_path import REPO, collections_root
from tests.integration import examples as docs_examples


def placeholders(source):
    return {"realm": "apps", "dir": "/nonexistent/" + source, "url": "https://sso.example.com", "user": "root"}


def test_the_mapping_names_only_examples_that_exist():
    mapping = docs_examples.load_mapping()
    assert not docs_examples.stale_entries(mapping, docs_examples.collect(mapping))


def test_a_reason_that_names_a_test_names_one_that_exists():
    for example in docs_examples.collect():
        for path in re.findall(r"tests/\S+\.py", example.not_run or ""):
            assert os.path.isfile(os.path.join(REPO, path)), "%s: %s does not exist" % (example.name, path)


def test_every_example_runs_or_says_why_not_and_the_plays_pass_the_syntax_check(tmp_path):
    mapping = docs_examples.load_mapping()
    examples = docs_examples.collect(mapping)
    plan = docs_examples.build_plan(mapping, examples, placeholders)
    handled = set(plan.run) | set(plan.used_as_inventory) | {e.name for e in examples if e.not_run}
    assert {e.name for e in examples} <= handled
    runs = [("main", mapping["inventory"], plan.main)] + plan.own_inventory
    for index, (label, inventory, plays) in enumerate(runs):
        (tmp_path / ("inventory-%d.yml" % index)).write_text(yaml.safe_dump(inventory))
        (tmp_path / ("playbook-%d.yml" % index)).write_text(yaml.safe_dump(plays, sort_keys=False))
        completed = subprocess.run(
            [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "--syntax-check",
             "-i", str(tmp_path / ("inventory-%d.yml" % index)), str(tmp_path / ("playbook-%d.yml" % index))],
            capture_output=True, text=True, timeout=300, check=False,
            env=dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections_root(), ANSIBLE_NOCOLOR="1"))
        assert completed.returncode == 0, "%s: %s" % (label, completed.stdout + completed.stderr)
