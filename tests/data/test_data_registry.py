"""Registry, data-dir resolution, missing-data errors, checksummed download (no network) and CLI."""

from __future__ import annotations

import hashlib
import zipfile

import pytest
from _data_files import write_ml100k
from typer.testing import CliRunner

from pyrec.data import DATASETS, download_dataset, load_dataset, resolve_data_dir
from pyrec.data import download as dl
from pyrec.data.download import fetch_verified
from pyrec.diagnostics import DataError


def test_registry_names_and_folders():
    assert {n: s.folder for n, s in DATASETS.items()} == {
        "ml-100k": "ml-100k",
        "ml-1m": "ml-1m",
        "amazon-gift_cards": "amazon-gift_cards",
        "amazon-scientific": "amazon-scientific",
    }
    assert DATASETS["amazon-gift_cards"].arg == "Gift_Cards"
    assert DATASETS["amazon-scientific"].arg == "Scientific"


def test_data_dir_resolution_order(tmp_path, monkeypatch):
    monkeypatch.setenv("PYREC_DATA_DIR", str(tmp_path / "env"))
    assert resolve_data_dir(tmp_path / "arg") == tmp_path / "arg"
    assert resolve_data_dir() == tmp_path / "env"
    monkeypatch.delenv("PYREC_DATA_DIR")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert resolve_data_dir() == tmp_path / "home" / ".cache" / "pyrec" / "datasets"


def test_missing_dataset_says_where_and_how(tmp_path):
    with pytest.raises(DataError) as e:
        load_dataset("ml-100k", tmp_path)
    msg = str(e.value)
    assert str(tmp_path / "ml-100k") in msg and "pyrec data download ml-100k" in msg
    assert "--data-dir" in msg


def test_unknown_name_lists_registry(tmp_path):
    with pytest.raises(DataError, match=r"Unknown dataset 'ml-5k'.*'amazon-gift_cards'"):
        load_dataset("ml-5k", tmp_path)


def test_generic_amazon_and_unisrec_names(tmp_path):
    with pytest.raises(DataError, match=r"amazon-books.*Books_5\.json\.gz"):
        load_dataset("amazon2018:Books", tmp_path)
    with pytest.raises(DataError, match=r"amazon-office.*Office\.text"):
        load_dataset("unisrec:Office", tmp_path)


# ---- download: checksum logic with file:// URLs, never the network ----------------------------


def test_fetch_verified_accepts_matching_sha256(tmp_path):
    src = tmp_path / "src.bin"
    src.write_bytes(b"pyrec")
    digest = hashlib.sha256(b"pyrec").hexdigest()
    out = tmp_path / "dl" / "f.bin"
    assert fetch_verified(src.as_uri(), out, sha256=digest) == digest
    assert out.read_bytes() == b"pyrec"


def test_fetch_verified_rejects_mismatch_and_deletes(tmp_path):
    src = tmp_path / "src.bin"
    src.write_bytes(b"tampered")
    out = tmp_path / "dl" / "f.bin"
    with pytest.raises(DataError, match="SHA-256 mismatch"):
        fetch_verified(src.as_uri(), out, sha256="0" * 64)
    assert not out.exists() and not list((tmp_path / "dl").iterdir())
    with pytest.raises(DataError, match="MD5 mismatch"):
        fetch_verified(src.as_uri(), out, md5="0" * 32)


def test_fetch_verified_refuses_unpinned(tmp_path):
    src = tmp_path / "src.bin"
    src.write_bytes(b"x")
    with pytest.raises(DataError, match="no SHA-256 or MD5 is pinned"):
        fetch_verified(src.as_uri(), tmp_path / "out")
    fetch_verified(src.as_uri(), tmp_path / "out", allow_unverified=True)


def test_download_ml100k_checks_extracted_members(tmp_path, monkeypatch):
    """A zip with the right layout but different u.data content is rejected after extraction."""
    fake = write_ml100k(tmp_path / "build" / "ml-100k")
    zpath = tmp_path / "ml-100k.zip"
    with zipfile.ZipFile(zpath, "w") as z:
        for f in ("u.data", "u.item", "u.user"):
            z.write(fake / f, f"ml-100k/{f}")
    md5 = hashlib.md5(zpath.read_bytes()).hexdigest()
    spec = DATASETS["ml-100k"]
    monkeypatch.setitem(
        DATASETS, "ml-100k",
        type(spec)(**{**spec.__dict__, "remote": (type(spec.remote[0])(
            url=zpath.as_uri(), md5=md5, extract_sha256=spec.remote[0].extract_sha256),)}),
    )  # fmt: skip
    with pytest.raises(DataError, match=r"SHA-256 mismatch for ml-100k/u\.(data|item|user)"):
        download_dataset("ml-100k", tmp_path / "data")


def test_download_never_touches_network_when_present(tmp_path, monkeypatch):
    write_ml100k(tmp_path / "ml-100k")

    def boom(url, dest):
        raise AssertionError("network used")

    monkeypatch.setattr(dl, "_fetch", boom)
    assert download_dataset("ml-100k", tmp_path) == tmp_path / "ml-100k"


def test_download_unisrec_is_manual(tmp_path):
    with pytest.raises(DataError, match=r"no direct download.*Scientific\.text"):
        download_dataset("amazon-scientific", tmp_path)


# ---- CLI --------------------------------------------------------------------------------------


def test_cli_help_lists_data():
    from pyrec.cli import app

    r = CliRunner().invoke(app, ["--help"])
    assert r.exit_code == 0 and "data" in r.output


def test_cli_info_on_toy_folder(tmp_path):
    from pyrec.cli import app

    write_ml100k(tmp_path / "ml-100k")
    r = CliRunner().invoke(
        app, ["data", "info", "ml-100k", "--data-dir", str(tmp_path), "--split", "loo"]
    )
    assert r.exit_code == 0, r.output
    assert "interactions" in r.output and "density" in r.output and "loo" in r.output


def test_cli_info_missing_dataset_exit_1(tmp_path):
    from pyrec.cli import app

    r = CliRunner().invoke(app, ["data", "info", "ml-1m", "--data-dir", str(tmp_path)])
    assert r.exit_code == 2
    assert "pyrec data download ml-1m" in r.output


@pytest.mark.realdata
def test_cli_info_real_ml100k(ml100k_dir):
    from pyrec.cli import app

    r = CliRunner().invoke(
        app, ["data", "info", "ml-100k", "--data-dir", str(ml100k_dir.parent), "--min-rating", "4"]
    )
    assert r.exit_code == 0, r.output
    assert "55,375" in r.output and "943" in r.output and "1,682" in r.output
