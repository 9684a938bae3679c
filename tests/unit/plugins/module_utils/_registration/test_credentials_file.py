"""The credentials file of a self-registered client: owner-only, replaced whole, read and checked first."""
import os
import stat

import pytest

from ansible_collections.keycloak_ops.clients.plugins.module_utils._registration.credentials_file import check_writable, read_credentials, write_private_json
from ansible_collections.keycloak_ops.clients.plugins.module_utils._registration.refusals import RegistrationError


def test_private_file_is_owner_only_and_replaced_whole(tmp_path):
    path = tmp_path / "new-dir" / "client.json"
    old_umask = os.umask(0)
    try:
        write_private_json(str(path), {"registration_access_token": "one"})
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(os.stat(str(path)).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(str(path.parent)).st_mode) == 0o700
    os.chmod(str(path), 0o644)
    write_private_json(str(path), {"registration_access_token": "two"})
    assert stat.S_IMODE(os.stat(str(path)).st_mode) == 0o600, "a rewrite is owner-only again"
    assert read_credentials(str(path)) == {"registration_access_token": "two"}
    assert os.listdir(str(path.parent)) == ["client.json"], "no temporary file is left behind"


def test_read_credentials(tmp_path):
    assert read_credentials(str(tmp_path / "absent.json")) is None
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    with pytest.raises(RegistrationError, match="is not JSON"):
        read_credentials(str(broken))
    empty = tmp_path / "empty.json"
    empty.write_text("{}")
    with pytest.raises(RegistrationError, match="holds no registration_access_token"):
        read_credentials(str(empty))


def test_unwritable_path_fails_before_registering(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(RegistrationError, match="nothing was registered"):
        check_writable(str(blocker / "client.json"))
    check_writable(str(tmp_path / "ok" / "client.json"))
    assert os.listdir(str(tmp_path / "ok")) == []


def test_every_missing_parent_of_the_credentials_file_is_created_owner_only(tmp_path):
    path = tmp_path / "a" / "b" / "c" / "registration.json"
    write_private_json(str(path), {"registration_access_token": "t"})
    for directory in (tmp_path / "a", tmp_path / "a" / "b", tmp_path / "a" / "b" / "c"):
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700, directory
