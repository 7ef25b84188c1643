"""Shared pytest fixtures: where the real datasets are, and clean skips when they are absent."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA_DIR = REPO.parent / "shared" / "datasets"

os.environ.setdefault("PYREC_DATA_DIR", str(DEFAULT_DATA_DIR))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def data_dir() -> Path:
    """The folder holding the real datasets ($PYREC_DATA_DIR, else ../shared/datasets)."""
    return Path(os.environ["PYREC_DATA_DIR"])


def require_dataset(folder: str) -> Path:
    """Return ``data_dir()/folder`` or skip the test with a reason naming where it looked."""
    path = data_dir() / folder
    if not path.is_dir():
        pytest.skip(f"real dataset {folder!r} not found at {path} (set PYREC_DATA_DIR)")
    return path


@pytest.fixture(scope="session")
def ml100k_dir() -> Path:
    """Path of the real MovieLens-100K folder (skips when absent)."""
    return require_dataset("ml-100k")


@pytest.fixture(scope="session")
def scientific_dir() -> Path:
    """Path of the real amazon-scientific (UniSRec) folder (skips when absent)."""
    return require_dataset("amazon-scientific")


@pytest.fixture(scope="session")
def giftcards_dir() -> Path:
    """Path of the real amazon-gift_cards folder (skips when absent)."""
    return require_dataset("amazon-gift_cards")
