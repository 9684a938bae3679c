"""The test command (scripts/test) and its bootstrap (scripts/bootstrap.sh): stages, host changes, interpreters."""
import configparser
import os
import re
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
TEST = os.path.join(REPO, "scripts", "test")
BOOTSTRAP = os.path.join(REPO, "scripts", "bootstrap.sh")


def read(*path):
    with open(os.path.join(REPO, *path)) as handle:
        return handle.read()


def stages():
    return re.search(r"^STAGES=\(([^)]*)\)$", read("scripts", "test"), re.M).group(1).split()


def run_test_command(*args):
    # No stage starts: an unknown or misused stage is refused before anything is bootstrapped.
    return subprocess.run([TEST, *args], capture_output=True, text=True, timeout=60, check=False)


def test_the_stages_are_the_documented_ones():
    assert stages() == ["unit", "lint", "sanity", "ee", "integration", "molecule"]
    synopsis = "./scripts/test [%s|all]" % "|".join(stages())
    assert synopsis in read("README.md")
    assert "`%s`" % synopsis in read("docs", "development.md")


def test_ci_runs_the_default_stage_all():
    assert read(".ci", "run").rstrip().splitlines()[-1] == "exec ./scripts/test"
    assert re.search(r'^stage="\$\{1:-all\}"$', read("scripts", "test"), re.M)


def test_an_unknown_stage_is_refused_with_the_usage():
    run = run_test_command("everything")
    assert run.returncode == 2
    assert "unknown stage: everything" in run.stderr
    for stage in stages():
        assert re.search(r"^  %s " % stage, run.stderr, re.M), run.stderr
    assert "host:" not in run.stderr


@pytest.mark.parametrize("args, plan", [
    ((), "stage: all; pytest arguments: "),
    (("-k", "tls"), "stage: all; pytest arguments: -k tls"),
    (("unit", "-k", "masking"), "stage: unit; pytest arguments: -k masking"),
    (("integration",), "stage: integration; pytest arguments: "),
])
def test_the_stage_and_the_pytest_arguments(args, plan, monkeypatch):
    monkeypatch.setenv("KEYCLOAK_OPS_TEST_PLAN", "1")
    run = run_test_command(*args)
    assert run.returncode == 0 and run.stdout == plan + "\n", run.stderr


def test_help_exits_zero():
    assert run_test_command("help").returncode == 0


def test_pytest_arguments_only_where_pytest_runs():
    run = run_test_command("lint", "-k", "tls")
    assert run.returncode == 2 and "takes no pytest arguments" in run.stderr


def test_all_runs_every_test_directory_once():
    """The unit stage runs tests/unit (on both ansible-cores), the integration stage the rest of testpaths."""
    ini = configparser.ConfigParser()
    ini.read(os.path.join(REPO, "pytest.ini"))
    testpaths = ini["pytest"]["testpaths"].split()
    script = read("scripts", "test")
    unit = re.search(r"stage_unit\(\) \{.*?pytest_paths ([^-]+) --", script, re.S).group(1).split()
    integration = re.search(r"stage_integration\(\) \{.*?pytest_paths ([^-]+) --", script, re.S).group(1).split()
    assert unit == ["tests/unit"]
    assert sorted(unit + integration) == sorted(testpaths)


HOST_CHANGE = re.compile(r"""\bapt-get\s+(-\S+\s+)*(install|update)\b"""  # packages
                         r"""|>\s*"?/(etc/|dev/(?!null))|\bmkdir\b[^#\n]*\s"?/(etc|dev)/""")  # files of the host


def shell_scripts():
    for name in sorted(os.listdir(os.path.join(REPO, "scripts"))):
        yield os.path.join("scripts", name)
    yield os.path.join(".ci", "run")
    yield os.path.join("bench", "run")


@pytest.mark.parametrize("path", [p for p in shell_scripts() if not p.endswith("bootstrap.sh")])
def test_host_changes_only_in_the_bootstrap(path):
    for number, line in enumerate(read(path).splitlines(), 1):
        if line.lstrip().startswith("#") or "RUN apt-get" in line:  # a Containerfile's step runs in the image
            continue
        assert not HOST_CHANGE.search(line), "%s:%d changes the host outside scripts/bootstrap.sh: %s" % (
            path, number, line.strip())


def bash(script, env=None, path_prefix=None):
    environ = dict(os.environ, **(env or {}))
    if path_prefix:
        environ["PATH"] = path_prefix + os.pathsep + environ["PATH"]
    return subprocess.run(["bash", "-c", 'source "$0"; ' + script, BOOTSTRAP], capture_output=True, text=True,
                          env=environ, timeout=60, check=False)


def stub(directory, name, body):
    path = directory / name
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(0o755)


def test_apt_installs_are_announced_first(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    stub(bin_dir, "dpkg-query", "exit 1")  # nothing is installed
    stub(bin_dir, "apt-get", 'echo "apt-get ran: $*" >&2')
    stub(bin_dir, "sudo", 'exec "$@"')
    run = bash("ensure_apt_packages keycloak-ops-fake", path_prefix=str(bin_dir))
    assert run.returncode == 0, run.stderr
    lines = run.stderr.splitlines()
    assert "host: apt-get install keycloak-ops-fake" in lines[0]
    assert any("apt-get ran:" in line and "install" in line for line in lines[1:])


def test_host_files_are_announced_first_and_written_once(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    stub(bin_dir, "dpkg-query", "echo 'install ok installed'")
    env = {"HOST_ROOT": str(tmp_path / "root")}
    first = bash("host_postgresql_no_main_cluster; ensure_container_engine", env, str(bin_dir))
    assert first.returncode == 0, first.stderr
    announced = [line.split("host: ", 1)[1] for line in first.stderr.splitlines() if "host: " in line]
    assert [a.split()[0] for a in announced] == [
        str(tmp_path / "root/etc/postgresql-common/createcluster.d/keycloak-ops.conf"),
        str(tmp_path / "root/etc/containers/containers.conf"),
        "mkdir",
    ]
    assert (tmp_path / "root/etc/postgresql-common/createcluster.d/keycloak-ops.conf").read_text() == \
        "create_main_cluster = false\n"
    assert 'runtime = "runc"' in (tmp_path / "root/etc/containers/containers.conf").read_text()
    again = bash("host_postgresql_no_main_cluster; ensure_container_engine", env, str(bin_dir))
    assert again.returncode == 0 and again.stderr == ""


def test_find_python_asks_pyenv_where_it_lives(tmp_path):
    version_dir = tmp_path / "pyenv" / "versions" / "3.99.1" / "bin"
    version_dir.mkdir(parents=True)
    (version_dir / "python3.99").symlink_to(sys.executable)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    stub(bin_dir, "pyenv", '[ "$1" = root ] && echo "%s"' % (tmp_path / "pyenv"))
    run = bash("find_python 3.99", path_prefix=str(bin_dir))
    assert run.returncode == 0 and run.stdout.strip() == str(version_dir / "python3.99")
    assert bash("find_python 3.98", path_prefix=str(bin_dir)).returncode == 1


@pytest.mark.parametrize("path", list(shell_scripts()))
def test_no_interpreter_path_is_hard_coded(path):
    assert not re.search(r"/root/|\.pyenv/versions|/usr/bin/python", read(path).replace("/usr/bin/python3\"}", "")), path
