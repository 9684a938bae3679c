"""The examples of the documentation as a user copies them, and the one playbook that runs them all.

Examples are the EXAMPLES of every module, lookup and filter, and the YAML blocks of README.md, docs/*.md and
roles/*/README.md. tests/integration/examples_mapping.yml says how each runs against the test Keycloak (a realm per
source file, URLs, paths, owners, the setup an example needs); docs/development.md explains it. An example that
cannot run there says why: in Markdown an HTML comment right before its block, `<!-- example not run: REASON -->`,
and for a plugin an entry `not_run: REASON` in the mapping.

build_plan() turns them into plays: every example's tasks in a block whose rescue prints
`EXAMPLE-FAILED|<example>|<task>|<message>`, and whose last task prints `EXAMPLE-DONE|<example>`, so that one failing
example is named and the others still run (a host that fails a play leaves the rest of the playbook).
"""
import ast
import copy
import glob
import os
import re
from dataclasses import dataclass, field
from typing import Any, Optional

import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MAPPING = os.path.join(REPO, "tests", "integration", "examples_mapping.yml")
PLUGIN_DIRECTORIES = ("plugins/modules", "plugins/lookup", "plugins/filter")
MARKDOWN = ("README.md", "docs/*.md", "roles/*/README.md")
NOT_RUN = re.compile(r"^<!-- example not run: (.+?) -->$")
FENCE = re.compile(r"^( *)```ya?ml\n(.*?)^\1```$", re.S | re.M)   # also a block indented under a list item
PLACEHOLDER = re.compile(r"\$\{(realm|dir|url|user)\}")
# The keywords of a play whose task lists are folded into the example's block, in the order a play runs them.
TASK_SECTIONS = ("pre_tasks", "roles", "tasks", "post_tasks")
FAILED, DONE = "EXAMPLE-FAILED", "EXAMPLE-DONE"


@dataclass
class Example:
    source: str            # path relative to the repository
    line: int              # first line of the YAML (1-based) in the source file
    text: str
    not_run: Optional[str] = None
    data: Any = field(default=None, repr=False)

    @property
    def name(self):
        return "%s:%d" % (self.source, self.line)

    @property
    def kind(self):
        """playbook (plays), tasks, or vars (a dict: group or host variables, an inventory, a file of another tool)."""
        if isinstance(self.data, dict):
            return "vars"
        if isinstance(self.data, list) and all(isinstance(i, dict) for i in self.data):
            if all("hosts" in i or "import_playbook" in i or "ansible.builtin.import_playbook" in i for i in self.data):
                return "playbook"
            return "tasks"
        return "other"


def plugin_examples(path):
    """The EXAMPLES string of a plugin file, with the line it starts on."""
    with open(path, encoding="utf-8") as handle:
        tree = ast.parse(handle.read())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "EXAMPLES" for t in node.targets):
            text = node.value.value
            return text, node.lineno + 1 + len(text) - len(text.lstrip("\n"))
    return None, None


def markdown_examples(path):
    """(line, text, not-run reason) of each YAML block of a Markdown file; the reason is an HTML comment among the
    comments right before the block."""
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    lines = text.splitlines()
    found = []
    for match in FENCE.finditer(text):
        fence_line = text.count("\n", 0, match.start())          # 0-based line of the opening fence
        reason = None
        above = fence_line - 1
        while above >= 0 and lines[above].lstrip().startswith("<!--"):
            marked = NOT_RUN.match(lines[above].strip())
            if marked:
                reason = marked.group(1)
            above -= 1
        indent = len(match.group(1))
        found.append((fence_line + 2, "".join(line[indent:] for line in match.group(2).splitlines(True)), reason))
    return found


def collect(mapping=None):
    """Every example, in the order they run: README, docs, role READMEs, then modules, lookups and filters."""
    mapping = load_mapping() if mapping is None else mapping
    examples = []
    for pattern in MARKDOWN:
        for path in sorted(glob.glob(os.path.join(REPO, pattern))):
            source = os.path.relpath(path, REPO)
            for line, text, reason in markdown_examples(path):
                examples.append(Example(source, line, text, reason, yaml.safe_load(text)))
    for directory in PLUGIN_DIRECTORIES:
        for path in sorted(glob.glob(os.path.join(REPO, directory, "*.py"))):
            text, line = plugin_examples(path)
            if text is None:
                continue
            source = os.path.relpath(path, REPO)
            reason = (mapping["sources"].get(source) or {}).get("not_run")
            examples.append(Example(source, line, text, reason, yaml.safe_load(text)))
    return examples


def load_mapping():
    with open(MAPPING, encoding="utf-8") as handle:
        mapping = yaml.safe_load(handle)
    mapping.setdefault("sources", {})
    return mapping


def snippet_settings(mapping, example):
    """The mapping's settings of an example: its source's (but the source's `setup`, which runs once before all its
    examples), updated with those of the `snippets` entry whose `contains` it holds (Markdown blocks)."""
    source = mapping["sources"].get(example.source) or {}
    settings = {k: v for k, v in source.items() if k not in ("snippets", "setup", "not_run")}
    for entry in source.get("snippets") or []:
        if entry["contains"] in example.text:
            settings.update({k: v for k, v in entry.items() if k != "contains"})
    return settings


def stale_entries(mapping, examples):
    """Mapping entries that name no example, or a `contains` that more than one block of its source holds."""
    problems = []
    by_source: dict = {}
    for example in examples:
        by_source.setdefault(example.source, []).append(example)
    for source, settings in mapping["sources"].items():
        if source not in by_source:
            problems.append("%s: no example in that file" % source)
            continue
        for entry in (settings or {}).get("snippets") or []:
            matches = [e.name for e in by_source[source] if entry["contains"] in e.text]
            if len(matches) != 1:
                problems.append("%s: `contains: %s` matches %d blocks %s"
                                % (source, entry["contains"], len(matches), matches))
    return problems


class Substitution(object):
    """The mapping's changes of an example: whole values of some keys (`values`, the mapping's and its source's),
    strings inside any value (`strings`), task keywords dropped (`drop_keys`), then the placeholders ${realm},
    ${dir}, ${url}, ${user}."""

    def __init__(self, mapping, placeholders, source=None):
        self.values = {key: dict(values) for key, values in (mapping.get("values") or {}).items()}
        for key, values in ((source or {}).get("values") or {}).items():
            self.values.setdefault(key, {}).update(values)
        self.strings = mapping.get("strings") or {}
        self.drop = set(mapping.get("drop_keys") or {})
        self.placeholders = placeholders

    def __call__(self, data, key=None):
        if isinstance(data, dict):
            return {k: self(v, k) for k, v in data.items() if k not in self.drop}
        if isinstance(data, list):
            return [self(item, key) for item in data]
        if isinstance(data, str):
            if data in (self.values.get(key) or {}):
                data = self.values[key][data]
            for old, new in self.strings.items():
                data = data.replace(old, new)
            return self.fill(data)
        return data

    def fill(self, data):
        """Only the placeholders: what the mapping itself writes (setups, variables, tasks inserted before)."""
        if isinstance(data, dict):
            return {k: self.fill(v) for k, v in data.items()}
        if isinstance(data, list):
            return [self.fill(item) for item in data]
        if isinstance(data, str):
            return PLACEHOLDER.sub(lambda m: self.placeholders[m.group(1)], data)
        return data


def guarded(label, tasks, rescue_label=None):
    """The tasks in a block whose rescue names the example and the task that failed, ending with the done line."""
    message = ("{{ '%s|%s|' ~ ansible_failed_task.name | default('?') ~ '|' ~ "
               "(ansible_failed_result.msg | default(ansible_failed_result.censored | default('')) | string) }}"
               % (FAILED, rescue_label or label))
    return {
        "name": label,
        "block": list(tasks) + [{"name": "Done", "ansible.builtin.debug": {"msg": "%s|%s" % (DONE, label)}}],
        "rescue": [{"name": "Failed", "ansible.builtin.debug": {"msg": message}}],
    }


def role_task(entry):
    """A play's `roles:` entry as an import_role task (static, as the play would load it)."""
    if isinstance(entry, str):
        return {"ansible.builtin.import_role": {"name": entry}}
    entry = dict(entry)
    name = entry.pop("role", None) or entry.pop("name")
    task = {"ansible.builtin.import_role": {"name": name}}
    for keyword in ("vars", "when", "tags", "become", "become_user", "environment"):
        if keyword in entry:
            task[keyword] = entry.pop(keyword)
    if entry:   # role parameters written beside `role:`
        task.setdefault("vars", {}).update(entry)
    return task


def imported_plays(play):
    """The plays of an `import_playbook` of this collection (keycloak_ops.clients.NAME: playbooks/NAME.yml)."""
    target = play.get("import_playbook") or play.get("ansible.builtin.import_playbook")
    prefix = "keycloak_ops.clients."
    assert target.startswith(prefix), "import_playbook %s: only this collection's playbooks are resolved" % target
    with open(os.path.join(REPO, "playbooks", target[len(prefix):] + ".yml"), encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def guarded_play(play, label, extra_vars=None, setup=None):
    """A play of an example with its task sections folded into one guarded block (handlers stay the play's)."""
    play = dict(play)
    tasks = list(setup or [])
    for section in TASK_SECTIONS:
        items = play.pop(section, None) or []
        tasks += [role_task(i) for i in items] if section == "roles" else items
    play["name"] = label if play.get("name", label) == label else "%s: %s" % (label, play["name"])
    play.setdefault("gather_facts", False)   # facts cost a second a play, and no example reads them
    if extra_vars:
        play["vars"] = dict(extra_vars, **(play.get("vars") or {}))
    play["tasks"] = [guarded(label, tasks)]
    return play


class Plan(object):
    """The plays the examples become: those of the main run, and runs with an inventory of their own."""

    def __init__(self, mapping, examples, placeholders_of):
        self.mapping = mapping
        self.examples = examples
        self.placeholders_of = placeholders_of     # source -> {realm, dir, url, user}
        self.main: list = []                        # plays of the main run
        self.own_inventory: list = []               # [(example name, inventory, plays)]
        self.run: list = []                         # what must print DONE: setups and examples
        self.used_as_inventory: list = []           # inventory blocks, run as the inventory of another example

    def build(self):
        by_source: dict = {}
        for example in self.examples:
            by_source.setdefault(example.source, []).append(example)
        for source, examples in by_source.items():
            self.add_source(source, examples)
        return self

    def add_source(self, source, examples):
        source_settings = self.mapping["sources"].get(source) or {}
        inventories = [e for e in examples for entry in source_settings.get("snippets") or []
                       if entry.get("inventory") and entry["inventory"] in e.text]
        self.used_as_inventory += [e.name for e in inventories]
        runnable = [e for e in examples if not e.not_run and e not in inventories]
        if not runnable:
            return
        substitute = Substitution(self.mapping, self.placeholders_of(source), source_settings)
        if source_settings.get("setup"):
            label = "setup of %s" % source
            setup = substitute.fill(self.named_setups(source_settings["setup"]))
            play = self.task_play(label, source_settings, substitute, setup)
            self.main.append(play)
            self.run.append(label)
        for example in runnable:
            settings = snippet_settings(self.mapping, example)
            plays = self.example_plays(example, settings, substitute)
            if settings.get("inventory"):
                inventory = self.inventory_of(inventories, settings["inventory"], substitute)
                self.own_inventory.append((example.name, inventory, plays))
            else:
                self.main.extend(plays)
            self.run.append(example.name)

    def named_setups(self, setup):
        """A setup's tasks, where a name stands for the tasks of that entry of the mapping's `setups`."""
        tasks = []
        for item in setup:
            tasks += copy.deepcopy(self.mapping["setups"][item]) if isinstance(item, str) else [item]
        return tasks

    @staticmethod
    def task_play(label, settings, substitute, tasks, setup=None):
        """A play of the mapping's tasks (a setup) or of an example's (already substituted)."""
        play = {"name": label, "hosts": settings.get("hosts", "localhost"), "tasks": tasks}
        return guarded_play(play, label, substitute.fill(settings.get("vars")), substitute.fill(setup))

    def example_plays(self, example, settings, substitute):
        setup = self.named_setups(settings.get("setup") or [])
        extra_vars = substitute.fill(settings.get("vars"))
        kind = example.kind
        if kind == "tasks":
            tasks = self.with_hooks(substitute(example.data), substitute.fill(settings.get("before") or {}))
            return [self.task_play(example.name, settings, substitute, tasks, setup)]
        if kind == "playbook":
            plays = []
            for play in substitute(example.data):
                imported = "import_playbook" in play or "ansible.builtin.import_playbook" in play
                for inner in imported_plays(play) if imported else [play]:
                    plays.append(guarded_play(inner, example.name, extra_vars, None if plays else substitute.fill(setup)))
            return plays
        role = settings.get("role")
        assert kind == "vars" and role, (
            "%s: a block that is neither a playbook nor tasks runs as the variables of a role: give its `role` in %s, "
            "or mark it not run" % (example.name, os.path.relpath(MAPPING, REPO)))
        play = {"name": "variables for %s" % role, "hosts": settings.get("hosts", "localhost"),
                "vars": substitute(example.data), "roles": [role]}
        return [guarded_play(play, example.name, extra_vars, substitute.fill(setup))]

    @staticmethod
    def with_hooks(tasks, hooks):
        """The example's tasks with the mapping's `before` tasks inserted ahead of the task they name."""
        missing = sorted(set(hooks) - {t.get("name") for t in tasks})
        assert not missing, "`before` names tasks the example does not have: %s" % missing
        result = []
        for task in tasks:
            result += copy.deepcopy(hooks.get(task.get("name")) or [])
            result.append(task)
        return result

    def inventory_of(self, inventories, contains, substitute):
        """The inventory block holding `contains`, with the mapping's `inventory_hosts` variables added."""
        inventory = substitute(next(e.data for e in inventories if contains in e.text))
        for group in inventory.values():
            self._add_host_vars(group)
        return inventory

    def _add_host_vars(self, group):
        if not isinstance(group, dict):
            return
        hosts = group.get("hosts") or {}
        for host, variables in (self.mapping.get("inventory_hosts") or {}).items():
            if host in hosts:
                hosts[host] = dict(variables, **(hosts[host] or {}))
        for child in (group.get("children") or {}).values():
            self._add_host_vars(child)


def build_plan(mapping, examples, placeholders_of):
    return Plan(mapping, examples, placeholders_of).build()


def results(output):
    """{example: [failure lines]} and the set of examples that printed DONE, from a run's output."""
    failures: dict = {}
    for label, task, message in re.findall(r'"msg": "%s\|([^|"]*)\|([^|"]*)\|((?:[^"\\]|\\.)*)"' % FAILED, output):
        failures.setdefault(label, []).append("%s: %s" % (task, message))
    done = set(re.findall(r'"msg": "%s\|([^"]*)"' % DONE, output))
    return failures, done
