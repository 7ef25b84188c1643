"""Atomic save / load of a resumable training checkpoint (``torch.save`` of one dict)."""

from __future__ import annotations

import os
from pathlib import Path

import torch

from pyrec.diagnostics import DataError

__all__ = ["CHECKPOINT_NAME", "load_checkpoint", "save_checkpoint"]

#: file name of the latest checkpoint inside a checkpoint folder
CHECKPOINT_NAME = "last.pt"


def save_checkpoint(state: dict, folder: str | Path) -> Path:
    """Write ``state`` to ``folder/last.pt`` atomically (temp file, then ``os.replace``); returns the path."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / CHECKPOINT_NAME
    tmp = path.with_suffix(".pt.tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)
    return path


def load_checkpoint(folder: str | Path) -> dict | None:
    """Read ``folder/last.pt``; None when there is none.

    Raises:
        DataError: the file exists but cannot be read (names the file).
    """
    path = Path(folder) / CHECKPOINT_NAME
    if not path.is_file():
        return None
    try:
        return torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc:  # corrupted or foreign file
        raise DataError(f"checkpoint {path} could not be read: {exc}") from exc
