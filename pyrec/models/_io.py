"""Folder layout shared by every saved pyrec model: ``model.json`` + ``seen.npz`` (+ weights)."""

from __future__ import annotations

import json
from pathlib import Path

from pyrec.diagnostics import DataError

__all__ = ["META_NAME", "load_seen", "read_meta", "save_seen", "saved_files", "write_meta"]

#: the JSON file naming the model, its class, its config and its index sizes
META_NAME = "model.json"


def write_meta(path: str | Path, model, **extra) -> Path:
    """Create folder ``path`` and write ``model.json`` (name, class, config, n_users, n_items)."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    meta = {
        "model": model.name,
        "class": f"{type(model).__module__}:{type(model).__qualname__}",
        "config": model.get_config(),
        "n_users": int(model.n_users_),
        "n_items": int(model.n_items_),
        **extra,
    }
    (path / META_NAME).write_text(json.dumps(meta, indent=2, default=str))
    return path


def read_meta(path: str | Path) -> dict:
    """Read ``path/model.json``.

    Raises:
        DataError: missing or not valid JSON (names the file).
    """
    file = Path(path) / META_NAME
    if not file.is_file():
        raise DataError(
            f"{file} not found: {Path(path)} is not a folder written by Recommender.save()."
        )
    try:
        return json.loads(file.read_text())
    except json.JSONDecodeError as exc:
        raise DataError(
            f"{file}, line {exc.lineno}, column {exc.colno}: invalid JSON ({exc.msg})."
        ) from None


def save_seen(path: str | Path, seen) -> None:
    """Write the training matrix (CSR) to ``path/seen.npz``."""
    import scipy.sparse as sp

    sp.save_npz(Path(path) / "seen.npz", seen.tocsr())


def saved_files(path: str | Path, *names: str) -> list[Path]:
    """``path/name`` for each of ``names``, checked to exist (files a model's ``save`` wrote).

    Raises:
        DataError: the first missing file (the saved model folder is incomplete).
    """
    files = [Path(path) / name for name in names]
    for file in files:
        if not file.is_file():
            raise DataError(f"{file} not found (the saved model folder is incomplete).")
    return files


def load_seen(path: str | Path):
    """Read ``path/seen.npz`` as ``scipy.sparse.csr_matrix`` float32."""
    import scipy.sparse as sp

    (file,) = saved_files(path, "seen.npz")
    return sp.load_npz(file).tocsr().astype("float32")
