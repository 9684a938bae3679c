"""secret_file as Ansible runs it (its main(), its argument spec) on the local file system: one file, many files, and
a failure that names each file it could not write while writing the others."""
import json
import stat

from ansible_collections.keycloak_ops.clients.plugins.modules.secret_file import main
from tests.unit.module_runs import run_main


def test_one_file_is_written_owner_only_and_its_secret_is_never_shown(capsys, tmp_path):
    path = tmp_path / "oidc.env"
    result = run_main(capsys, main, dict(path=str(path), content="SECRET=s3cret-value\n", secrets=["s3cret-value"],
                                         _ansible_diff=True))
    assert result["changed"] and result["path"] == str(path) and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert "s3cret-value" not in json.dumps(result)


def test_many_files_in_one_run_and_a_failure_names_each_file_not_written(capsys, tmp_path):
    (tmp_path / "blocker").write_text("a file where a directory should be")
    files = [dict(path=str(tmp_path / "a.env"), content="A=1\n"), dict(path=str(tmp_path / "blocker" / "b.env"), content="B=1\n"),
             dict(path=str(tmp_path / "c.json"), content="{}\n", mode="0640")]
    failure = run_main(capsys, main, dict(files=files, mode="0600"))
    assert failure["failed"] and failure["msg"].startswith("1 of 3 files could not be written: files[1]: Cannot create")
    assert [f["changed"] for f in failure["files"]] == [True, False, True]
    assert stat.S_IMODE((tmp_path / "c.json").stat().st_mode) == 0o640
    again = run_main(capsys, main, dict(files=[files[0], files[2]]))
    assert again["changed"] is False and again["msg"] == "changed 0 of 2 files"
