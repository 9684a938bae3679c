"""The README's Install and "A first playbook" sections followed literally on this machine: their shell blocks run
as written, in a home of their own (a new virtual environment, the collection built to a tarball and installed from
it into ~/.ansible/collections), and the first playbook runs against the test Keycloak, twice."""
import os
import re
import subprocess

from tests.collection_path import REPO
from tests.integration.conftest import admin_client

FIRST_CLIENT = "my-first-service"


def section_blocks(heading):
    """(language, text) of each fenced block of README's section `## heading`."""
    with open(os.path.join(REPO, "README.md")) as handle:
        text = handle.read()
    section = text.split("\n## %s\n" % heading, 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```(\w+)\n(.*?)```", section, re.S)


def clean_env(home, keycloak):
    """A user's shell: nothing of the test run's ansible, virtual environment or collections."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("ANSIBLE_", "KEYCLOAK_")) and k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    env["PATH"] = os.pathsep.join(p for p in env["PATH"].split(os.pathsep)
                                  if not os.path.isfile(os.path.join(os.path.dirname(p.rstrip("/")), "pyvenv.cfg")))
    env.update(HOME=str(home), PIP_CACHE_DIR=os.path.expanduser("~/.cache/pip"), ANSIBLE_NOCOLOR="1",
               KEYCLOAK_URL=keycloak.url, KEYCLOAK_USER=keycloak.admin_user, KEYCLOAK_PASSWORD=keycloak.admin_password)
    return env


def test_readme_install_path(keycloak, tmp_path):
    install, first = section_blocks("Install"), section_blocks("A first playbook")
    assert [block[0] for block in install] == ["sh"], install
    assert [block[0] for block in first] == ["yaml", "sh"], first
    (tmp_path / "first-playbook.yml").write_text(first[0][1])
    master = admin_client(keycloak)
    existing = master.get_client_id(FIRST_CLIENT)
    if existing:
        master.delete_client(existing)
    script = "set -euo pipefail\n" + install[0][1] + first[1][1]
    try:
        run = subprocess.run(["bash", "-c", script], cwd=REPO, env=clean_env(tmp_path, keycloak),
                             capture_output=True, text=True, timeout=900, check=False)
        output = run.stdout + run.stderr
        assert run.returncode == 0, output[-4000:]
        installed = tmp_path / ".ansible" / "collections" / "ansible_collections" / "keycloak_ops" / "clients"
        assert (installed / "MANIFEST.json").is_file(), "installed from the tarball into ~/.ansible/collections"
        assert re.findall(r"changed=(\d+)", output) == ["1", "0"], output[-3000:]
        assert "my-first-service can use client_credentials" in output
    finally:
        created = master.get_client_id(FIRST_CLIENT)
        if created:
            master.delete_client(created)
