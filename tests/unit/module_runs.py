"""Modules of the collection run in-process by the unit tests: arguments patched in, the printed result read back."""
import contextlib
import json

import pytest
from ansible.module_utils import basic

from ansible_collections.keycloak_ops.clients.plugins.module_utils._core.module import KeycloakModule

try:
    from ansible.module_utils.testing import patch_module_args
except ImportError:  # ansible-core 2.18 has no helper: AnsibleModule reads its arguments from basic._ANSIBLE_ARGS
    @contextlib.contextmanager
    def patch_module_args(args):
        saved = basic._ANSIBLE_ARGS
        basic._ANSIBLE_ARGS = json.dumps({"ANSIBLE_MODULE_ARGS": args}).encode()
        try:
            yield
        finally:
            basic._ANSIBLE_ARGS = saved


def run_module(capsys, args, run, **module_options):
    """What a KeycloakModule built with module_options and given args printed when run(module) exited or failed."""
    with patch_module_args(args):
        module = KeycloakModule(**module_options)
        with pytest.raises(SystemExit):
            run(module)
    return json.loads(capsys.readouterr().out)


def run_main(capsys, main, args):
    """What a module's main() printed when it exited or failed with args."""
    with patch_module_args(args):
        with pytest.raises(SystemExit):
            main()
    return json.loads(capsys.readouterr().out)


def stand_in_api(monkeypatch, api):
    """Every KeycloakModule of the test talks to api (an admin API stand-in) instead of connecting."""
    monkeypatch.setattr(KeycloakModule, "api", property(lambda module: api))
    return api
