"""Cold start: time to embed one new item's text and append it to the item table, ready to rank."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from pyrec.bench.timer import check_count
from pyrec.diagnostics import ConfigError, param_error

__all__ = ["ColdStartResult", "measure_cold_start", "find_text_encoder"]


@dataclass
class ColdStartResult:
    """Cold-start timing.

    Attributes:
        median_ms: median over repetitions (ms). runs_ms: each repetition (ms).
        item_table: float32 [n_items + 1, d], the table with the new item appended (last row).
        new_item: the new item's index (``n_items``).
    """

    median_ms: float
    runs_ms: list[float]
    item_table: Any = field(repr=False)
    new_item: int

    def to_rows(self, **context: Any) -> list[dict]:
        from pyrec.bench.rows import to_rows

        return to_rows({"cold_start_ms": (self.median_ms, "ms")}, n=len(self.runs_ms), **context)


def find_text_encoder(model):
    """The model's text encoder (attribute ``encoder`` or ``text_encoder`` with ``encode``), or None."""
    for attr in ("encoder", "text_encoder"):
        enc = getattr(model, attr, None)
        if enc is not None and callable(getattr(enc, "encode", None)):
            return enc
    return None


def _encode(encoder, text: str):
    if callable(getattr(encoder, "encode", None)):
        try:
            return encoder.encode([text], show_progress=False)
        except TypeError:
            return encoder.encode([text])
    return encoder([text])


def measure_cold_start(encoder, text: str, item_table=None, *, project: Callable | None = None,
                       repeats: int = 5, warmup: int = 1) -> ColdStartResult:
    """Time ``embed(text) -> project -> append to item_table`` for one new item.

    Args:
        encoder: an object with ``encode(list[str]) -> [1, d_text]`` (e.g.
            ``pyrec.models.TextEncoder``) or a callable ``list[str] -> [1, d_text]``.
        text: the new item's text (non-empty).
        item_table: float [n_items, d] current item representations (default: empty, d from the
            encoder output).
        project: maps the text embedding [1, d_text] to item-table space [1, d] (e.g. a model's
            fusion/projection layer); default identity.
        repeats: timed repetitions (median reported). warmup: untimed runs.

    Returns:
        ColdStartResult (ms); ``item_table`` has the new row appended, so a dot-product index over
        it can rank the new item immediately.

    Raises:
        ConfigError: empty text, bad counts, or the projected width does not match the table.
    """
    owner = "measure_cold_start"
    if not isinstance(text, str) or not text.strip():
        raise param_error("text", owner, "a non-empty str", text)
    repeats = check_count(repeats, "repeats", owner)
    warmup = check_count(warmup, "warmup", owner, minimum=0)
    import torch

    table = None if item_table is None else torch.as_tensor(np.asarray(item_table, dtype=np.float32)
                                                            if not isinstance(item_table, torch.Tensor) else item_table)

    def once():
        with torch.no_grad():
            e = torch.as_tensor(_encode(encoder, text)).float().reshape(1, -1)
            if project is not None:
                e = project(e).float().reshape(1, -1)
        if table is None:
            return e
        if e.shape[1] != table.shape[1]:
            raise ConfigError(f"measure_cold_start: the new item's embedding has width {e.shape[1]} but the "
                              f"item table has width {table.shape[1]}; pass project= to map it.")
        return torch.cat([table, e.to(table.dtype)], dim=0)

    for _ in range(warmup):
        once()
    runs = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = once()
        runs.append((time.perf_counter() - t0) * 1e3)
    return ColdStartResult(float(np.median(runs)), runs, out, int(out.shape[0] - 1))
