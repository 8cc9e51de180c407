import hashlib

import pytest

from scripts.data.fetch_assets import AssetError, fetch


def test_copies_from_local_dir_and_verifies_checksum(tmp_path):
    local = tmp_path / "local"
    local.mkdir()
    (local / "train.conll").write_text("A O\n")
    dest = tmp_path / "assets" / "train.conll"
    checksum = hashlib.md5(b"A O\n").hexdigest()
    assert fetch(dest, "http://unused.invalid/x", checksum, local) == str(local / "train.conll")
    assert dest.read_text() == "A O\n"
    assert fetch(dest, "http://unused.invalid/x", checksum, local) == "present"


def test_checksum_mismatch_is_an_error_and_leaves_nothing(tmp_path):
    local = tmp_path / "local"
    local.mkdir()
    (local / "train.conll").write_text("tampered\n")
    dest = tmp_path / "assets" / "train.conll"
    with pytest.raises(AssetError, match="checksum mismatch"):
        fetch(dest, "http://unused.invalid/x", "0" * 32, local)
    assert list(dest.parent.iterdir()) == []


def test_missing_local_file_is_named(tmp_path):
    with pytest.raises(AssetError, match="has no file dev.conll"):
        fetch(tmp_path / "dev.conll", "http://unused.invalid/x", "0" * 32, tmp_path / "nowhere")


def test_shared_copy_matches_project_checksums(lener_dir, tmp_path):
    import srsly

    from tests.conftest import ROOT

    for asset in srsly.read_yaml(ROOT / "project.yml")["assets"]:
        dest = tmp_path / asset["dest"]
        fetch(dest, asset["url"], asset["checksum"], lener_dir)
        assert dest.is_file()
