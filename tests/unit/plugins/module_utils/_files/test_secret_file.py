"""The run of secret_file on the local file system: what changes and what is predicted, owner and mode, diffs that
show no secret, and many files in one run."""
import grp
import os
import pwd
import stat

import pytest

from ansible_collections.keycloak_ops.clients.plugins.module_utils._files.private_file import PrivateFileError
from ansible_collections.keycloak_ops.clients.plugins.module_utils._files.secret_file import (
    FILE_OPTIONS, file_specs, ids, octal_mode, write_file,
)


def spec(path, **given):
    defaults = dict(path=str(path), content="SECRET=s3cret\n", secrets=["s3cret"], mode="0600", directory_mode="0700")
    return dict(dict.fromkeys(FILE_OPTIONS), **dict(defaults, **given))


@pytest.mark.parametrize("value,mode", [("0600", 0o600), ("640", 0o640), ("u=rw", None), ("7777", 0o7777)])
def test_modes_are_octal_strings(value, mode):
    if mode is None:
        with pytest.raises(PrivateFileError, match="mode must be an octal mode such as 0600, not 'u=rw'"):
            octal_mode(value, "mode")
    else:
        assert octal_mode(value, "mode") == mode
    with pytest.raises(PrivateFileError, match="directory_mode must be an octal mode"):
        octal_mode("10000", "directory_mode")


def test_owner_and_group_default_to_the_user_running_the_module():
    assert ids("/f", None, None) == (os.geteuid(), os.getegid())
    me = pwd.getpwuid(os.geteuid())
    assert ids("/f", me.pw_name, None) == (me.pw_uid, me.pw_gid), "an owner's own group unless a group is given"
    assert ids("/f", None, grp.getgrgid(os.getegid()).gr_name) == (os.geteuid(), os.getegid())
    with pytest.raises(PrivateFileError, match="Cannot write /f: unknown user or group"):
        ids("/f", "no-such-user-of-keycloak-ops", None)


def test_the_top_level_options_are_the_defaults_of_each_file():
    params = dict(dict.fromkeys(FILE_OPTIONS), mode="0640", owner="root", files=[
        dict(path="/a", content="A", mode=None), dict(path="/b", content="B", mode="0600")])
    assert [(s["path"], s["mode"], s["owner"]) for s in file_specs(params)] == [("/a", "0640", "root"), ("/b", "0600", "root")]
    assert file_specs(dict(params, files=None, path="/c"))[0]["path"] == "/c"


def test_a_new_file_then_the_same_file_then_only_its_mode(tmp_path):
    path = tmp_path / "etc" / "app" / "oidc.env"
    created = write_file(spec(path, directory_mode="0750"), check_mode=False, diff=False)
    assert created["changed"] and created["created_directories"] == [str(tmp_path / "etc"), str(path.parent)]
    assert created["msg"] == "wrote %s (created directories %s, %s)" % (path, tmp_path / "etc", path.parent)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and stat.S_IMODE(path.parent.stat().st_mode) == 0o750
    assert write_file(spec(path), check_mode=False, diff=False) == dict(
        changed=False, path=str(path), created_directories=[], msg="%s is up to date" % path)
    chmodded = write_file(spec(path, mode="0640"), check_mode=False, diff=True)
    assert chmodded["msg"] == "set owner/mode of %s" % path and stat.S_IMODE(path.stat().st_mode) == 0o640
    assert chmodded["diff"][1]["before"]["mode"] == "0600" and chmodded["diff"][1]["after"]["mode"] == "0640"


def test_check_mode_predicts_without_touching_anything(tmp_path):
    path = tmp_path / "new" / "oidc.env"
    result = write_file(spec(path), check_mode=True, diff=True)
    assert result["changed"] and result["msg"].startswith("would write %s (would create directories" % path)
    assert not (tmp_path / "new").exists()
    assert result["diff"][0]["before"] == "" and result["diff"][0]["after"] == "SECRET=********\n"


def test_the_diff_shows_the_previous_secret_masked_and_hides_unknown_lines(tmp_path):
    path = tmp_path / "oidc.env"
    path.write_text("SECRET=0ld\nTOKEN=unknown\n")
    result = write_file(spec(path), check_mode=False, diff=True)
    before, after = result["diff"][0]["before"], result["diff"][0]["after"]
    assert before == "SECRET=******** (previous)\n******** (line hidden)\n" and after == "SECRET=********\n"
    given = write_file(spec(path, content="SECRET=n3w\n", secrets=["n3w"], diff_previous="SECRET=(a vault reference)\n",
                            diff_content="SECRET=(the new vault reference)\n"), check_mode=True, diff=True)
    assert "0ld" not in str(given) and "n3w" not in str(given)
