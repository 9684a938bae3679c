"""tests/unit mirrors the repository: the tests of plugins/<dir>/<name>.py are tests/unit/plugins/<dir>/test_<name>.py
(a leading '_' dropped), and every utility with logic of its own (a function or a method) has them.

Modules are their documentation, their options and a call into their run (module_utils), so the tests of a run
cover them; tests/unit/plugins/modules holds the module runs that need no server. Tests of roles are under
tests/unit/roles, of scripts/ under tests/unit/scripts, of tests/harness under tests/unit/harness, and those of files
at the repository's root (README.md, galaxy.yml and the changelog) at the top of tests/unit.
"""
import ast
import glob
import os

import pytest

from tests.collection_path import REPO

# The plugin directories whose files with logic must each have a test file of their own.
TESTED_DIRECTORIES = ("plugins/module_utils", "plugins/plugin_utils", "plugins/filter", "plugins/lookup")
# Tests about several files of plugins/ at once.
ACROSS_PLUGINS = ("tests/unit/plugins/test_imports.py",)
PACKAGE = "ansible_collections.keycloak_ops.clients."


def relative(path):
    return os.path.relpath(path, REPO)


def plugin_files():
    for directory in TESTED_DIRECTORIES:
        for path in sorted(glob.glob(os.path.join(REPO, directory, "**", "*.py"), recursive=True)):
            if os.path.basename(path) != "__init__.py":
                yield relative(path)


def has_logic(path):
    with open(os.path.join(REPO, path), encoding="utf-8") as handle:
        tree = ast.parse(handle.read())
    return any(isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) for node in ast.walk(tree))


def unit_tests_of(path):
    directory, name = os.path.split(path)
    return os.path.join("tests", "unit", directory, "test_%s" % name.lstrip("_"))


def imported_modules(path):
    """The plugins modules a file imports: the modules named in its imports, and the modules imported as names."""
    with open(os.path.join(REPO, path), encoding="utf-8") as handle:
        tree = ast.parse(handle.read())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(PACKAGE):
            found.add(node.module)
            found.update("%s.%s" % (node.module, alias.name) for alias in node.names)
    return found


def imports(test_path, plugin_path):
    """Whether the test file imports the plugin file, itself or through the module whose run it is (the tests that
    run a module by its main() with its own argument spec)."""
    module = PACKAGE + plugin_path[:-len(".py")].replace("/", ".")
    imported = imported_modules(test_path)
    for name in list(imported):
        if name.startswith(PACKAGE + "plugins.modules.") and name.count(".") == 5:
            imported |= imported_modules(name[len(PACKAGE):].replace(".", "/") + ".py")
    return module in imported


@pytest.mark.parametrize("path", [path for path in plugin_files() if has_logic(path)])
def test_every_utility_with_logic_has_unit_tests_that_import_it(path):
    tests = unit_tests_of(path)
    assert os.path.exists(os.path.join(REPO, tests)), "%s has logic of its own: its unit tests go to %s" % (path, tests)
    assert imports(tests, path), "%s does not import %s" % (tests, path)


def test_every_test_file_of_plugins_is_named_after_a_file_of_plugins():
    """test_<name>.py, or test_<name>_<aspect>.py for an aspect of plugins/<dir>/<name>.py tested apart."""
    stray = []
    for path in sorted(glob.glob(os.path.join(REPO, "tests", "unit", "plugins", "**", "test_*.py"), recursive=True)):
        path = relative(path)
        if path in ACROSS_PLUGINS:
            continue
        directory = os.path.dirname(path)[len("tests/unit/"):]
        stem = os.path.basename(path)[len("test_"):-len(".py")]
        candidates = [name[:-len(".py")].lstrip("_") for name in os.listdir(os.path.join(REPO, directory))
                      if name.endswith(".py")] if os.path.isdir(os.path.join(REPO, directory)) else []
        if not any(stem == name or stem.startswith(name + "_") for name in candidates):
            stray.append(path)
    assert stray == [], "test files that name no file of plugins/ (a file moved or renamed?)"
