"""The client_secret lookup documents, from the keycloak doc fragment, exactly the connection options of the
modules, each read from the environment variable the modules fall back to."""
import json
import os
import subprocess
import sys

from ansible_collections.keycloak_ops.clients.plugins.module_utils._core.connection_options import keycloak_argument_spec

SECRETS = ("auth_client_secret", "auth_password", "token")


def lookup_options():
    ansible_doc = os.path.join(os.path.dirname(sys.executable), "ansible-doc")
    out = subprocess.run([ansible_doc, "-t", "lookup", "--json", "keycloak_ops.clients.client_secret"],
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out)["keycloak_ops.clients.client_secret"]["doc"]["options"]


def test_lookup_options_are_the_connection_options_with_their_environment_variables():
    options = lookup_options()
    spec = keycloak_argument_spec()
    assert sorted(options) == sorted(list(spec) + ["_terms", "realm"])
    for name, argument in spec.items():
        fallback = argument.get("fallback")
        env = [entry["name"] for entry in options[name].get("env", [])]
        assert env == (fallback[1] if fallback else []), name
        assert options[name].get("aliases", []) == argument.get("aliases", []), name
        assert options[name]["type"] == argument["type"], name
        if name in SECRETS:
            assert not options[name].get("ini"), "%s: a secret must not come from ansible.cfg" % name
