"""tests/sanity/pip_bootstrap.py reads ansible-test's insides on purpose (no public way): these tests fail, naming
what moved, when an ansible-test release changes how it pins, caches or runs its pip bootstrap script.

They run on both ansible-cores of the unit stage, so both ansible-tests that scripts/sanity.sh uses are checked.
"""
import os
import re

import ansible_test
import pytest

from tests.sanity import pip_bootstrap

SETUP = os.path.join(os.path.dirname(ansible_test.__file__), "_util", "target", "setup")


@pytest.mark.parametrize("python_version", ["3.8", "3.11", "3.13"])
def test_the_cache_file_is_named_after_the_pip_version_ansible_test_pins(python_version):
    path = pip_bootstrap.bootstrap_cache_file(python_version)
    assert re.fullmatch(re.escape(os.path.expanduser("~/.ansible/test/cache/get_pip_")) + r"\d+(_\d+)+\.py", path), path


def test_ansible_test_reads_that_cache_file_before_downloading():
    with open(os.path.join(SETUP, "requirements.py")) as handle:
        source = handle.read()
    bootstrap = source[source.index("def bootstrap("):]
    bootstrap = bootstrap[:bootstrap.index("\ndef ", 1)]
    assert "'%s' %% pip_version.replace(\".\", \"_\")" % pip_bootstrap.CACHE_PATTERN in bootstrap, (
        "ansible-test no longer caches its get-pip as %s: see tests/sanity/pip_bootstrap.py" % pip_bootstrap.CACHE_PATTERN)
    assert bootstrap.index("os.path.exists(cache_path)") < bootstrap.index("download_file("), (
        "ansible-test no longer uses a cached get-pip before downloading one")
    # The stand-in is run as get-pip.py is: as __main__ with pip's options in sys.argv (quiet_pip.py, GET_PIP).
    assert "env.update(GET_PIP=cache_path)" in bootstrap
    with open(os.path.join(SETUP, "quiet_pip.py")) as handle:
        assert "runpy.run_module(module, run_name='__main__', alter_sys=True)" in handle.read()


def test_seed_plants_the_stand_in_once(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    path = pip_bootstrap.seed("3.13")
    assert path.startswith(str(tmp_path)) and os.path.isfile(path)
    with open(path) as planted, open(pip_bootstrap.STAND_IN) as stand_in:
        assert planted.read() == stand_in.read()
    with open(path, "w") as handle:  # a real get-pip.py saved there by hand stays
        handle.write("# real\n")
    assert pip_bootstrap.seed("3.13") == path
    with open(path) as handle:
        assert handle.read() == "# real\n"
