"""Secret files: born with their final mode, and diffs that never show a secret (pure file-system logic)."""
import os
import stat

import pytest

from ansible_collections.keycloak_ops.clients.plugins.module_utils._masking import masked
from ansible_collections.keycloak_ops.clients.plugins.module_utils._private_file import (
    PrivateFileError, make_directories, masked_previous, missing_directories, write_private)


def test_write_private_replaces_the_file_with_its_final_mode(tmp_path):
    path = tmp_path / "oidc.env"
    path.write_text("old\n")
    os.chmod(path, 0o644)
    write_private(str(path), b"new\n", 0o640, os.geteuid(), os.getegid())
    assert path.read_text() == "new\n" and stat.S_IMODE(path.stat().st_mode) == 0o640
    assert os.listdir(tmp_path) == ["oidc.env"], "no temporary file left"


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
