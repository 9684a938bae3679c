"""The migration guide's example, run against the real Keycloak.

docs/examples/community_general.yml (community.general's keycloak_client and keycloak_clientsecret_info) makes
the clients of a realm; docs/examples/migrated.yml (ours), the guide's "after", must then report no change and
deliver the same secret; on an empty realm it must make clients equal to community.general's in every field
the two playbooks declare. The guide shows both files verbatim; that is checked too.
"""
import os
import re

import pytest

from tests.collection_path import collections_root
from tests.integration import oidc
from tests.integration.conftest import admin_client, new_realm
from tests.integration.runner import ansible_env, run_playbook

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
GUIDE = os.path.join(REPO, "docs", "migrating-from-community-general.md")
BEFORE = os.path.join(REPO, "docs", "examples", "community_general.yml")
AFTER = os.path.join(REPO, "docs", "examples", "migrated.yml")
CLIENTS = ("flask-app", "billing-worker", "dashboard-spa")

# The ClientRepresentation fields and attributes the two playbooks declare, to compare client by client.
DECLARED_FIELDS = ("name", "description", "enabled", "rootUrl", "baseUrl", "publicClient", "standardFlowEnabled",
                   "implicitFlowEnabled", "directAccessGrantsEnabled", "serviceAccountsEnabled", "protocol")
DECLARED_ATTRIBUTES = ("post.logout.redirect.uris", "access.token.lifespan", "pkce.code.challenge.method")


@pytest.fixture(scope="module")
def playbook_env(keycloak, extra_collections):
    """Our collection and community.general on the collections path."""
    return ansible_env(keycloak, ANSIBLE_COLLECTIONS_PATH=collections_root() + os.pathsep + extra_collections)


def run(playbook, env, realm, secret_file, **kwargs):
    return run_playbook(playbook, env, extra_vars={"apps_realm": realm, "billing_secret_file": str(secret_file)},
                        **kwargs)


def recap_changed(result):
    counts = re.findall(r"localhost\s+: ok=\d+\s+changed=(\d+)", result.output)
    assert counts, result.output[-2000:]
    return int(counts[-1])


def shape(oracle, client_id):
    """What the playbooks declare about a client, as Keycloak holds it."""
    client = oracle.get_client(oracle.get_client_id(client_id))
    fields = {name: client.get(name) for name in DECLARED_FIELDS}
    fields["redirectUris"] = sorted(client.get("redirectUris") or [])
    fields["webOrigins"] = sorted(client.get("webOrigins") or [])
    attributes = client.get("attributes") or {}
    fields["attributes"] = {name: attributes.get(name) or None for name in DECLARED_ATTRIBUTES}
    fields["defaultClientScopes"] = sorted(client.get("defaultClientScopes") or [])
    fields["optionalClientScopes"] = sorted(client.get("optionalClientScopes") or [])
    fields["protocolMappers"] = sorted((m["name"], m["protocolMapper"], m.get("protocol"), sorted(m["config"].items()))
                                       for m in client.get("protocolMappers") or [])
    return fields


def fenced_block_after(text, marker):
    start = text.index("<!-- BEGIN %s -->" % marker)
    end = text.index("<!-- END %s -->" % marker)
    block = text[start:end]
    match = re.search(r"```yaml\n(.*?)```", block, re.S)
    assert match, "no yaml block between the markers of %s" % marker
    return match.group(1)


def test_the_guide_shows_the_example_files_as_they_are():
    with open(GUIDE) as handle:
        guide = handle.read()
    for path in (BEFORE, AFTER):
        relative = os.path.relpath(path, REPO)
        with open(path) as handle:
            assert fenced_block_after(guide, relative) == handle.read(), relative


def test_migrated_playbook_adopts_community_general_clients_without_a_change(keycloak, playbook_env, tmp_path):
    realm = new_realm(keycloak, prefix="migrate")
    try:
        before_file = tmp_path / "billing-secret"
        before = run(BEFORE, playbook_env, realm, before_file)
        assert before.rc == 0, before.output[-3000:]
        assert recap_changed(before) > 0

        after = run(AFTER, playbook_env, realm, before_file, check=True, diff=True)
        assert after.rc == 0, after.output[-3000:]
        assert recap_changed(after) == 0, after.output[-3000:]

        after = run(AFTER, playbook_env, realm, before_file, verbosity=3)
        assert after.rc == 0, after.output[-3000:]
        assert recap_changed(after) == 0, after.output[-3000:]

        oracle = admin_client(keycloak, realm)
        secret = oracle.get_client_secrets(oracle.get_client_id("billing-worker"))["value"]
        assert before_file.read_text() == secret + "\n"
        assert oct(before_file.stat().st_mode & 0o777) == "0o600"
        assert secret not in after.output
        status, body = oidc.client_credentials(keycloak, realm, "billing-worker", secret)
        assert status == 200 and body.get("access_token"), body
    finally:
        admin_client(keycloak).delete_realm(realm)


def test_migrated_playbook_on_an_empty_realm_makes_the_same_clients(keycloak, playbook_env, tmp_path):
    cg_realm, our_realm = new_realm(keycloak, prefix="migrate-cg"), new_realm(keycloak, prefix="migrate-ours")
    try:
        made_by_cg = run(BEFORE, playbook_env, cg_realm, tmp_path / "cg-secret")
        assert made_by_cg.rc == 0, made_by_cg.output[-3000:]
        made_by_us = run(AFTER, playbook_env, our_realm, tmp_path / "our-secret")
        assert made_by_us.rc == 0, made_by_us.output[-3000:]

        cg, ours = admin_client(keycloak, cg_realm), admin_client(keycloak, our_realm)
        for client_id in CLIENTS:
            assert shape(ours, client_id) == shape(cg, client_id), client_id
        assert shape(ours, "dashboard-spa")["attributes"]["pkce.code.challenge.method"] == "S256"

        again = run(AFTER, playbook_env, our_realm, tmp_path / "our-secret")
        assert again.rc == 0, again.output[-3000:]
        assert recap_changed(again) == 0, again.output[-3000:]
        secret = ours.get_client_secrets(ours.get_client_id("billing-worker"))["value"]
        assert (tmp_path / "our-secret").read_text() == secret + "\n"
    finally:
        for realm in (cg_realm, our_realm):
            admin_client(keycloak).delete_realm(realm)


def test_module_defaults_with_community_general_only_options_run_with_a_warning(keycloak, realm, tmp_path):
    """http_agent and refresh_token mean nothing here: accepted from module_defaults, ignored, warned about once."""
    refresh_token = "refresh-" + os.urandom(12).hex()
    playbook = tmp_path / "carried_over.yml"
    playbook.write_text(
        "- hosts: localhost\n"
        "  connection: local\n"
        "  gather_facts: false\n"
        "  module_defaults:\n"
        "    group/keycloak_ops.clients.keycloak:\n"
        "      http_agent: Ansible\n"
        "      refresh_token: %s\n"
        "  tasks:\n"
        "    - keycloak_ops.clients.confidential_client:\n"
        "        realm: %s\n"
        "        client_id: carried-over\n"
        "        preset: service\n" % (refresh_token, realm))
    result = run_playbook(str(playbook), ansible_env(keycloak), verbosity=3)
    assert result.rc == 0, result.output[-3000:]
    assert admin_client(keycloak, realm).get_client_id("carried-over")
    warning = " ".join(result.output.split())
    assert ("http_agent, refresh_token: options of the community.general keycloak modules, ignored by "
            "keycloak_ops.clients; remove them (see the collection's docs/migrating-from-community-general.md)"
            in warning), result.output[-3000:]
    assert refresh_token not in result.output
