"""Explicit, checksummed download of a registered dataset (``pyrec data download NAME``).

Only ever called on request; pyrec never downloads implicitly (tests and loaders read local files).
Each file is streamed to a temporary name, hashed (SHA-256, and the publisher's MD5 where one is
published), compared with the pinned value and only then renamed into place; a mismatch deletes
the file and raises. Zip archives are extracted and their members checked against pinned SHA-256
values where the registry has them. A ``SHA256SUMS`` file is written beside the data.
"""

from __future__ import annotations

import hashlib
import shutil
import urllib.request
import zipfile
from pathlib import Path

from pyrec.data.registry import RemoteFile, get_spec, resolve_data_dir
from pyrec.diagnostics import DataError

__all__ = ["download_dataset", "fetch_verified", "file_sha256"]

_CHUNK = 1 << 20  # 1 MiB


def file_sha256(path: str | Path) -> str:
    """Hex SHA-256 of a file, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(_CHUNK), b""):
            h.update(block)
    return h.hexdigest()


def _fetch(url: str, dest: Path) -> None:
    """Copy ``url`` (http(s):// or file://) to ``dest``. Tests monkeypatch this function."""
    with urllib.request.urlopen(url, timeout=60) as r, open(dest, "wb") as f:  # noqa: S310
        shutil.copyfileobj(r, f, _CHUNK)


def fetch_verified(
    url: str,
    dest: str | Path,
    *,
    sha256: str | None = None,
    md5: str | None = None,
    allow_unverified: bool = False,
) -> str:
    """Download ``url`` to ``dest`` and verify it.

    Args:
        url: source URL (``https://`` or ``file://``).
        dest: final path; written only after the checks pass.
        sha256: expected SHA-256 (hex).
        md5: expected MD5 (hex), as published by GroupLens.
        allow_unverified: accept a file with no pinned checksum (its SHA-256 is returned so the
            caller can record it).

    Returns:
        The file's SHA-256 (hex).

    Raises:
        DataError: no checksum pinned (and not ``allow_unverified``), the fetch failed, or a
            checksum differs (the partial file is deleted).
    """
    dest = Path(dest)
    if sha256 is None and md5 is None and not allow_unverified:
        raise DataError(
            f"Refusing to download {url}: no SHA-256 or MD5 is pinned for it. Pass "
            "allow_unverified=True (CLI: --allow-unverified) to download it and record its SHA-256."
        )
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(dest.name + ".part")
    try:
        _fetch(url, tmp)
    except Exception as e:  # urllib raises URLError, HTTPError, OSError, ...
        tmp.unlink(missing_ok=True)
        raise DataError(f"Download of {url} failed: {e}") from None
    got = file_sha256(tmp)
    if sha256 is not None and got != sha256.lower():
        tmp.unlink(missing_ok=True)
        raise DataError(f"SHA-256 mismatch for {url}: expected {sha256}, got {got}; file deleted.")
    if md5 is not None:
        h = hashlib.md5(usedforsecurity=False)
        with open(tmp, "rb") as f:
            for block in iter(lambda: f.read(_CHUNK), b""):
                h.update(block)
        if h.hexdigest() != md5.lower():
            tmp.unlink(missing_ok=True)
            raise DataError(
                f"MD5 mismatch for {url}: expected {md5}, got {h.hexdigest()}; file deleted."
            )
    tmp.replace(dest)
    return got


def _extract(zpath: Path, root: Path, remote: RemoteFile) -> list[tuple[str, str]]:
    """Extract a zip into ``root``; check pinned member hashes; return ``(member, sha256)``."""
    sums = []
    with zipfile.ZipFile(zpath) as z:
        names = z.namelist()
        for member in names:
            target = (root / member).resolve()
            if not str(target).startswith(str(root.resolve())):
                raise DataError(f"{zpath}: member {member!r} would extract outside {root}.")
        z.extractall(root)
    for member, want in remote.extract_sha256.items():
        if not (root / member).is_file():
            raise DataError(f"{zpath}: expected member {member!r} is missing from the archive.")
    for member in names:
        path = root / member
        if not path.is_file():
            continue
        got = file_sha256(path)
        want = remote.extract_sha256.get(member, got)
        if got != want:
            path.unlink()
            raise DataError(
                f"SHA-256 mismatch for {member} extracted from {zpath}: expected {want}, got {got}."
            )
        sums.append((member, got))
    return sums


def download_dataset(
    name: str, dest: str | Path | None = None, *, allow_unverified: bool = False
) -> Path:
    """Fetch a registered dataset from its official source into ``dest/<folder>``.

    Args:
        name: registry name (``ml-100k``, ``ml-1m``, ``amazon-gift_cards``, ``amazon2018:<Cat>``).
        dest: the data dir (default as :func:`resolve_data_dir`: ``$PYREC_DATA_DIR``, then
            ``~/.cache/pyrec/datasets``).
        allow_unverified: accept files without a pinned checksum (Amazon categories other
            than Gift Cards).

    Returns:
        The dataset folder.

    Raises:
        DataError: the dataset has no download (UniSRec release: manual), a checksum
            mismatch, or a failed fetch.
    """
    spec = get_spec(name)
    root = resolve_data_dir(dest)
    folder = root / spec.folder
    if spec.files and all((folder / f).is_file() for f in spec.files):
        return folder
    if not spec.remote:
        raise DataError(
            f"Dataset {spec.name!r} has no direct download; get its files {list(spec.files)} from "
            f"{spec.homepage} and place them in {folder}."
        )
    sums: list[tuple[str, str]] = []
    for remote in spec.remote:
        fname = remote.url.rsplit("/", 1)[-1]
        is_zip = fname.endswith(".zip")
        target = (root / fname) if is_zip else (folder / fname)
        digest = fetch_verified(
            remote.url, target, sha256=remote.sha256, md5=remote.md5,
            allow_unverified=allow_unverified,
        )  # fmt: skip
        if is_zip:
            sums += _extract(target, root, remote)
            target.unlink()
        else:
            sums.append((fname, digest))
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "SHA256SUMS", "a", encoding="utf-8") as f:
        for member, digest in sums:
            f.write(f"{digest}  {Path(member).name}\n")
    return folder
