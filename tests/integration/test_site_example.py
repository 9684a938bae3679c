"""docs/examples/site.yml with docs/examples/site-inventory.yml, as docs/provision-deliver-rotate.md shows them:
provision on the controller, deliver to two consumer hosts (local connection) without a hostvars hand-off, rotate
what is due. Run against the real Keycloak with the realm and the directory of the files as extra variables."""
import json
import os
import re

from tests.integration import oidc
from tests.integration.conftest import admin_client
from tests.integration.runner import ansible_env, run_playbook
from tests.integration.test_migration_example import fenced_block_after

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
GUIDE = os.path.join(REPO, "docs", "provision-deliver-rotate.md")
PLAYBOOK = os.path.join(REPO, "docs", "examples", "site.yml")
INVENTORY = os.path.join(REPO, "docs", "examples", "site-inventory.yml")
CLIENTS = ("reports-worker", "billing-api")


def changed(run):
    """host -> changed count of the play recap."""
    return {host: int(count) for host, count in re.findall(r"^(\S+)\s+: ok=\d+\s+changed=(\d+)", run.output, re.M)}


def secrets(server, realm):
    oracle = admin_client(server, realm)
    return {c: oracle.get_client_secrets(oracle.get_client_id(c))["value"] for c in CLIENTS}


def delivered(site_dir):
    """client id -> the secrets the consumers' files hold."""
    found = {}
    for path in ("app1/reports-worker.env", "app2/reports-worker.env"):
        text = (site_dir / path).read_text()
        found.setdefault("reports-worker", set()).add(re.search(r"^OIDC_CLIENT_SECRET=(.*)$", text, re.M).group(1))
    billing = json.loads((site_dir / "app2" / "billing-api.json").read_text())
    found["billing-api"] = {billing["OIDC_CLIENT_SECRET"]}
    return found


def test_the_page_shows_the_example_files_as_they_are():
    with open(GUIDE, encoding="utf-8") as handle:
        page = handle.read()
    for path in (PLAYBOOK, INVENTORY):
        relative = os.path.relpath(path, REPO)
        with open(path, encoding="utf-8") as handle:
            assert fenced_block_after(page, relative) == handle.read(), relative


def test_site_provisions_delivers_and_rotates(keycloak, realm, tmp_path):
    env = ansible_env(keycloak)
    site_vars = {"apps_realm": realm, "site_dir": str(tmp_path)}

    def run(**extra):
        result = run_playbook(PLAYBOOK, env, verbosity=1, inventory=INVENTORY, extra_vars=dict(site_vars, **extra))
        assert result.rc == 0, result.output[-4000:]
        return result

    first = run()
    current = secrets(keycloak, realm)
    assert delivered(tmp_path) == {c: {s} for c, s in current.items()}
    assert oct((tmp_path / "app1" / "reports-worker.env").stat().st_mode & 0o777) == "0o600"

    again = run()
    assert set(changed(again).values()) == {0}, again.output[-3000:]
    assert secrets(keycloak, realm) == current

    rotated = run(rotate_max_age="1s")
    new = secrets(keycloak, realm)
    assert all(new[c] != current[c] for c in CLIENTS)
    assert delivered(tmp_path) == {c: {s} for c, s in new.items()}
    for client_id in CLIENTS:
        assert oidc.client_credentials(keycloak, realm, client_id, new[client_id])[0] == 200
        assert oidc.client_credentials(keycloak, realm, client_id, current[client_id])[0] == 401
    for run_ in (first, again, rotated):
        for secret in list(current.values()) + list(new.values()):
            assert secret not in run_.output
