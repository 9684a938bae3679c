"""How the plugins import each other: each name from the module that defines it, each domain of module_utils only
from the domains below it, and the modules that run on managed hosts carrying nothing of the admin API's clients."""
import ast
import functools
import os
import re
import subprocess

import pytest

from tests.collection_path import REPO

PACKAGE = "ansible_collections.keycloak_ops.clients."
MODULE_UTILS = PACKAGE + "plugins.module_utils."

# The domains of plugins/module_utils and the domains each may import (itself always).
DOMAIN_IMPORTS = {
    "_core": set(),
    "_files": {"_core"},
    "_initial_access": {"_core"},
    "_clients": {"_core"},
    "_secrets": {"_core", "_clients"},
    "_registration": {"_core", "_files"},
}


def python_files():
    listed = subprocess.run(["git", "ls-files", "*.py"], cwd=REPO, capture_output=True, text=True, check=True)
    return [path for path in listed.stdout.split() if os.path.exists(os.path.join(REPO, path))]


def module_name(path):
    return PACKAGE + path[:-len(".py")].replace("/", ".")


@functools.lru_cache(maxsize=None)
def parse(path):
    with open(os.path.join(REPO, path), encoding="utf-8") as handle:
        return ast.parse(handle.read(), path)


def top_level_names(body):
    """Names a module defines at its top level, including inside try/except and if blocks."""
    for node in body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            yield node.name
        elif isinstance(node, ast.Assign):
            yield from (target.id for target in node.targets if isinstance(target, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            yield node.target.id
        elif isinstance(node, ast.Try):
            for block in [node.body, node.orelse, node.finalbody] + [handler.body for handler in node.handlers]:
                yield from top_level_names(block)
        elif isinstance(node, ast.If):
            yield from top_level_names(node.body)
            yield from top_level_names(node.orelse)


def plugin_imports(tree):
    """(line, module, name) of every import of a plugins module, at any depth."""
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(PACKAGE + "plugins."):
            for alias in node.names:
                yield node.lineno, node.module, alias.name


PLUGINS = {module_name(path): path for path in python_files() if path.startswith("plugins/")}
DEFINED = {module: set(top_level_names(parse(path).body)) for module, path in PLUGINS.items()}


def domain_of(module):
    return module[len(MODULE_UTILS):].split(".")[0] if module.startswith(MODULE_UTILS) else None


def test_every_name_comes_from_the_module_that_defines_it():
    """One import path per name (errors above all): no name is imported from a module that only imports it."""
    found = []
    for path in python_files():
        for line, module, name in plugin_imports(parse(path)):
            if module in DEFINED and name not in DEFINED[module]:
                homes = [m[len(PACKAGE):] for m, names in DEFINED.items() if name in names]
                found.append("%s:%d imports %s from %s; it is defined in %s" % (path, line, name, module, homes))
    assert found == []


def test_each_domain_of_module_utils_imports_only_the_domains_below_it():
    assert {domain_of(m) for m in PLUGINS if domain_of(m) and domain_of(m).startswith("_")} == set(DOMAIN_IMPORTS)
    found = []
    for module, path in PLUGINS.items():
        domain = domain_of(module)
        if domain is None:
            continue
        for line, imported, _name in plugin_imports(parse(path)):
            other = domain_of(imported)
            if other != domain and other not in DOMAIN_IMPORTS[domain]:
                found.append("%s:%d (%s) imports %s" % (path, line, domain, imported))
    assert found == []


def host_side_modules():
    """HOST_SIDE_MODULES of scripts/sanity.sh: the modules that run on the managed hosts, on their Python."""
    with open(os.path.join(REPO, "scripts", "sanity.sh"), encoding="utf-8") as handle:
        listed = re.search(r"^HOST_SIDE_MODULES=\(([^)]*)\)", handle.read(), re.MULTILINE).group(1).split()
    return [module_name(path) for path in listed]


def imported_closure(module):
    """Every plugins module that module imports, directly or through another."""
    seen, todo = set(), [module]
    while todo:
        current = todo.pop()
        for _line, imported, _name in plugin_imports(parse(PLUGINS[current])):
            if imported not in seen:
                seen.add(imported)
                todo.append(imported)
    return seen


@pytest.mark.parametrize("module", host_side_modules())
def test_a_module_that_runs_on_managed_hosts_carries_only_the_core_files_and_registration(module):
    """Ansible ships what a module imports to the host: no client specs, no python-keycloak session code beyond
    the core (whose python-keycloak import is optional)."""
    domains = {domain_of(m) for m in imported_closure(module)}
    assert domains <= {"_core", "_files", "_registration"}, sorted(d for d in domains if d)


def test_the_module_base_depends_on_the_core_only():
    assert {domain_of(m) for m in imported_closure(MODULE_UTILS + "_core.module")} == {"_core"}
