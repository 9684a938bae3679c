"""Secret files: born with their final mode, and diffs that never show a secret (pure file-system logic)."""
import os
import stat

import pytest

from ansible_collections.keycloak_ops.clients.plugins.module_utils._core.masking import masked
from ansible_collections.keycloak_ops.clients.plugins.module_utils._files.private_file import (
    PrivateFileError, file_state, make_directories, masked_previous, missing_directories, set_attributes, write_private)
from ansible_collections.keycloak_ops.clients.plugins.module_utils._registration import credentials_file
from ansible_collections.keycloak_ops.clients.plugins.module_utils._registration.refusals import RegistrationError


def test_write_private_replaces_the_file_with_its_final_mode(tmp_path):
    path = tmp_path / "oidc.env"
    path.write_text("old\n")
    os.chmod(path, 0o644)
    write_private(str(path), b"new\n", 0o640, os.geteuid(), os.getegid())
    assert path.read_text() == "new\n" and stat.S_IMODE(path.stat().st_mode) == 0o640
    assert os.listdir(tmp_path) == ["oidc.env"], "no temporary file left"


def test_the_file_is_synced_before_the_rename_and_its_directory_after_it(tmp_path, monkeypatch):
    synced = []
    real_fsync, real_rename = os.fsync, os.rename

    def fsync(handle):
        info = os.fstat(handle)
        synced.append("directory" if stat.S_ISDIR(info.st_mode) else "file of %d bytes" % info.st_size)
        real_fsync(handle)

    def rename(source, destination):
        synced.append("rename")
        real_rename(source, destination)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "rename", rename)
    write_private(str(tmp_path / "oidc.env"), b"SECRET=x\n", 0o600, os.geteuid(), os.getegid())
    assert synced == ["file of 9 bytes", "rename", "directory"]


def test_a_write_that_fails_leaves_the_old_file_and_no_temporary_one(tmp_path, monkeypatch):
    path = tmp_path / "oidc.env"
    path.write_text("old\n")

    def refused(handle):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", refused)
    with pytest.raises(PrivateFileError, match="Cannot write %s: No space left on device" % path):
        write_private(str(path), b"new\n", 0o600, os.geteuid(), os.getegid())
    assert path.read_text() == "old\n" and os.listdir(tmp_path) == ["oidc.env"]


def test_the_registration_files_are_written_by_the_same_writer(tmp_path, monkeypatch):
    written = []
    monkeypatch.setattr(credentials_file, "write_private", lambda *args: written.append(args))
    credentials_file.write_private_json(str(tmp_path / "client.json"), {"registration_access_token": "t"})
    assert written == [(str(tmp_path / "client.json"), b'{\n  "registration_access_token": "t"\n}\n', 0o600,
                        os.geteuid(), os.getegid())]


def test_missing_directories_are_created_outermost_first_with_the_declared_mode(tmp_path):
    path = tmp_path / "a" / "b" / "f.env"
    missing = missing_directories(str(path))
    assert missing == [str(tmp_path / "a"), str(tmp_path / "a" / "b")]
    make_directories(missing, 0o750, os.geteuid(), os.getegid())
    assert all(stat.S_IMODE(os.stat(d).st_mode) == 0o750 for d in missing)


def test_a_file_in_the_way_is_a_one_line_error_naming_the_path(tmp_path):
    (tmp_path / "blocker").write_text("x")
    with pytest.raises(PrivateFileError, match="Cannot create directory %s: " % (tmp_path / "blocker")):
        make_directories(missing_directories(str(tmp_path / "blocker" / "f.env")), 0o700, os.geteuid(), os.getegid())


def test_diff_views_mask_the_new_and_the_previous_secret():
    new = "OIDC_CLIENT_ID=app\nOIDC_CLIENT_SECRET=n3w\n"
    previous = "OIDC_CLIENT_ID=app\nOIDC_CLIENT_SECRET=0ld\n# note\n"
    assert masked(new, ["n3w"]) == "OIDC_CLIENT_ID=app\nOIDC_CLIENT_SECRET=********\n"
    view = masked_previous(previous, new, ["n3w"])
    assert view == "OIDC_CLIENT_ID=app\nOIDC_CLIENT_SECRET=******** (previous)\n******** (line hidden)\n"
    assert "0ld" not in view and "n3w" not in masked_previous(new, new, ["n3w"])


# -- a symlink swapped in between a check and the chown/chmod is never followed ---------------------------------


@pytest.fixture
def victim(tmp_path):
    """A file and a directory elsewhere that a swapped-in symlink points at: their mode must not change."""
    (tmp_path / "elsewhere").mkdir(mode=0o755)
    target = tmp_path / "elsewhere" / "shadow"
    target.write_text("not yours\n")
    os.chmod(target, 0o644)
    os.chmod(tmp_path / "elsewhere", 0o755)
    return target


def swapping_mkdir(monkeypatch, target):
    """os.mkdir that, once the directory exists, replaces it with a symlink to target (what a user who may write
    the parent directory can do between a mkdir and a chown by path)."""
    real_mkdir = os.mkdir

    def mkdir(path, mode=0o777, *, dir_fd=None):
        real_mkdir(path, mode, dir_fd=dir_fd)
        os.rmdir(path, dir_fd=dir_fd)
        os.symlink(str(target), path, dir_fd=dir_fd)

    monkeypatch.setattr(os, "mkdir", mkdir)


def test_a_directory_swapped_for_a_symlink_is_not_followed(tmp_path, victim, monkeypatch):
    swapping_mkdir(monkeypatch, victim.parent)
    with pytest.raises(PrivateFileError, match="symlink .* not followed"):
        make_directories(missing_directories(str(tmp_path / "new" / "f.env")), 0o700, os.geteuid(), os.getegid())
    assert stat.S_IMODE(victim.parent.stat().st_mode) == 0o755


def test_a_registration_directory_swapped_for_a_symlink_is_not_followed(tmp_path, victim, monkeypatch):
    swapping_mkdir(monkeypatch, victim.parent)
    with pytest.raises(RegistrationError, match="symlink .* not followed"):
        credentials_file.write_private_json(str(tmp_path / "new" / "client.json"), {"registration_access_token": "t"})
    assert stat.S_IMODE(victim.parent.stat().st_mode) == 0o755


def test_a_file_swapped_for_a_symlink_keeps_its_target_untouched(tmp_path, victim):
    path = tmp_path / "oidc.env"
    path.write_text("OIDC_CLIENT_SECRET=x\n")
    current = file_state(str(path))
    path.unlink()
    path.symlink_to(victim)  # after the check, before the owner and mode are set
    with pytest.raises(PrivateFileError, match="Cannot set owner/mode of %s: a symlink" % path):
        set_attributes(str(path), 0o600, os.geteuid(), os.getegid())
    assert current[1] == 0o644 and stat.S_IMODE(victim.stat().st_mode) == 0o644
    with pytest.raises(PrivateFileError, match="not a regular file"):
        file_state(str(path))


def test_attributes_are_set_on_the_file_itself(tmp_path):
    path = tmp_path / "oidc.env"
    path.write_text("x\n")
    os.chmod(path, 0o644)
    set_attributes(str(path), 0o600, os.geteuid(), os.getegid())
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
