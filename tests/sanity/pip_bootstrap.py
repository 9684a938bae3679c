"""Seed ansible-test's pip bootstrap cache with get_pip_offline.py: the one place that reads ansible-test's insides.

Why there is no public way: ansible-test puts pip into each sanity test's virtual environment by running a
get-pip.py that it downloads from a host outside the reachable package registries, and it has no option to
change that address (ansible/ansible#77304, open). The workaround its maintainers give there is to save the
script into ansible-test's cache first. The cache file is named after the pip version ansible-test pins, which
only its private module ``ansible_test._internal.python_requirements`` tells, and the name's pattern is in its
private ``_util/target/setup/requirements.py``. Both are read here, in ``bootstrap_cache_file``, and nowhere else;
tests/unit/scripts/test_pip_bootstrap.py fails, naming what moved, when an ansible-test release changes either.

Run it with the interpreter whose ansible-test runs the sanity tests (scripts/sanity.sh does):

    python tests/sanity/pip_bootstrap.py PYTHON_VERSION

It prints the cache file, written (from get_pip_offline.py) only when absent.
"""
import os
import shutil
import sys
from types import SimpleNamespace

STAND_IN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "get_pip_offline.py")
# How ansible-test names the cached script (_util/target/setup/requirements.py, bootstrap()).
CACHE_PATTERN = "~/.ansible/test/cache/get_pip_%s.py"


class AnsibleTestChanged(RuntimeError):
    """ansible-test no longer pins or caches its pip bootstrap script the way this module knows."""


def bootstrap_cache_file(python_version):
    """The file ansible-test reads its pip bootstrap script from, for sanity environments of python_version."""
    # pylint: disable=import-outside-toplevel  # private on purpose, and only here
    import ansible_test
    from ansible_test._internal import python_requirements

    setup = os.path.join(os.path.dirname(ansible_test.__file__), "_util", "target", "setup", "requirements.py")
    with open(setup) as handle:
        if "'%s'" % CACHE_PATTERN not in handle.read():
            raise AnsibleTestChanged("%s no longer caches get-pip as %s" % (setup, CACHE_PATTERN))
    try:
        pip_version = python_requirements.get_venv_packages(SimpleNamespace(version=python_version))["pip"]
    except (AttributeError, KeyError, TypeError) as exc:
        raise AnsibleTestChanged("ansible_test._internal.python_requirements.get_venv_packages no longer "
                                 "gives the pinned pip version: %r" % exc) from exc
    return os.path.expanduser(CACHE_PATTERN % pip_version.replace(".", "_"))


def seed(python_version):
    path = bootstrap_cache_file(python_version)
    if not os.path.exists(path):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        shutil.copyfile(STAND_IN, path + ".partial")
        os.replace(path + ".partial", path)
    return path


if __name__ == "__main__":
    print(seed(sys.argv[1]))
