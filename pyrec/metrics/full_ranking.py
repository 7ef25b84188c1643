"""Full-ranking evaluation: every item is a candidate, seen items are masked.

Protocol ``"full-ranking"`` (as in the LightGCN paper and PyG's ``examples/lightgcn.py``): for each
user with at least one item in the evaluated part, score ALL items, set the user's training items
(and, for ``part="test"``, validation items) to ``-inf``, take the top k with
:func:`~pyrec.metrics.topk_stable` (ties: lower item index first) and compare with the held-out
items. Masked items can never be recommended: a position whose score is ``-inf`` (a user who has
seen almost every item) is padding (-1), not an item. Users are processed in batches; the work per
batch is one ``topk`` and a few [B, k] tensor operations.
"""

from __future__ import annotations

import time

import numpy as np
import torch

from pyrec.metrics._names import METRIC_FAMILIES, expand_metrics
from pyrec.metrics._protocol import (
    binary_csr,
    build_result,
    call_scores,
    check_part,
    check_positive_int,
    graded_csr,
    model_label,
    warn_overlap,
)
from pyrec.metrics._relevance import _build
from pyrec.metrics.compute import metrics_from_hits
from pyrec.metrics.result import EvalResult
from pyrec.metrics.topk import _topk_stable, check_scores

__all__ = ["evaluate_full_ranking"]

_OWNER = "evaluate_full_ranking"


def evaluate_full_ranking(
    score_fn,
    split,
    *,
    part: str = "test",
    ks=(10,),
    metrics=METRIC_FAMILIES,
    batch_size: int = 1024,
    relevance=None,
    model_name: str | None = None,
) -> EvalResult:
    """Evaluate a scorer on a split with the full-ranking protocol.

    Args:
        score_fn: ``score_fn(users: np.ndarray int64 [B]) -> torch.Tensor float32 [B, n_items]``,
            higher is better (e.g. a fitted ``Recommender.score``); seen items need not be masked.
        split: :class:`pyrec.data.Split`.
        part: ``"test"`` (masks train and valid items) or ``"valid"`` (masks train items).
        ks: cutoffs for metric names without ``@k``.
        metrics: names among ``ndcg, recall, precision, hit, mrr, map`` (or ``"ndcg@20"``).
        batch_size: users scored per ``score_fn`` call (memory is ~``batch_size * n_items * 4`` B).
        relevance: ``None`` (binary: every held-out item has gain 1), ``"rating"`` (the part's
            ratings are the NDCG gains), or ``f(part_data) -> float [n]``. Binary metrics use
            relevance > 0.
        model_name: named in errors and in the result (default: the scorer's ``name``).

    Returns:
        EvalResult with ``protocol="full-ranking"``; ``info`` holds ``eval_time_s``,
        ``n_masked_overlap`` and ``masked`` parts.

    Raises:
        ConfigError: bad ``part``/``ks``/``metrics``/``batch_size``/``relevance``.
        DataError: the model returns NaN/+inf (names the model and the first bad user), a wrong
            shape, or no user has a relevant item.

    Warns:
        DataWarning: users skipped (no relevant item), or held-out pairs also in masked parts.
    """
    t0 = time.perf_counter()
    part = check_part(part, _OWNER)
    specs = expand_metrics(metrics, ks, _OWNER)
    batch_size = check_positive_int(batch_size, "batch_size", _OWNER)
    model = model_label(score_fn, model_name)
    target_data = getattr(split, part)
    n_users, n_items = split.n_users, split.n_items

    target = graded_csr(target_data, relevance)
    masked_parts = ["train"] + (["valid"] if part == "test" else [])
    masked = binary_csr(split.train)
    if part == "test":
        masked = (masked + binary_csr(split.valid)).tocsr()
    n_overlap = warn_overlap(masked, binary_csr(target_data), part, _OWNER)

    k_max = max(s.k for s in specs)
    k_top = min(k_max, n_items)
    users = np.flatnonzero(np.diff(target.indptr) > 0).astype(np.int64)
    per_user: dict = {s: [] for s in specs}
    for start in range(0, len(users), batch_size):
        batch = users[start : start + batch_size]
        scores = call_scores(score_fn, batch, n_items, model)
        check_scores(scores, model_name=model, users=batch)
        seen = masked[batch].tocoo()
        if seen.nnz:
            rows = torch.from_numpy(seen.row.astype(np.int64)).to(scores.device)
            cols = torch.from_numpy(seen.col.astype(np.int64)).to(scores.device)
            scores[rows, cols] = -float("inf")
        recs = _topk_stable(scores, k_top)  # scores checked above; masking adds only -inf
        recs = recs.masked_fill(torch.isneginf(scores.gather(1, recs)), -1).cpu()
        rows = target[batch]
        n_rel, ideal = _ideal(rows, k_max, graded=relevance is not None)
        hm = _build(recs, torch.from_numpy(rows.toarray()), k_max, n_rel, ideal)
        for spec, vals in metrics_from_hits(hm, specs).items():
            per_user[spec].append((batch, vals.numpy()))

    info = {
        "masked": masked_parts,
        "n_masked_overlap": n_overlap,
        "relevance": (
            "binary" if relevance is None else str(getattr(relevance, "__name__", relevance))
        ),
        "tie_rule": "score desc, then item index asc",
        "n_items": n_items,
    }
    result = build_result(
        per_user, n_index_users=n_users, protocol="full-ranking", part=part, model=model,
        info=info, owner=_OWNER,
    )
    result.info["eval_time_s"] = time.perf_counter() - t0
    return result


def _ideal(rows, k_max: int, graded: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """(n_relevant float64 [B], ideal gains float64 [B, min(k_max, n_items)]) from CSR rows."""
    width = min(k_max, rows.shape[1])
    positive = rows.data > 0
    row_of = np.repeat(np.arange(rows.shape[0]), np.diff(rows.indptr))
    counts = np.bincount(row_of, weights=positive, minlength=rows.shape[0]).astype(np.float64)
    if not graded:
        ideal = (np.arange(width)[None, :] < counts[:, None]).astype(np.float64)
        return torch.from_numpy(counts), torch.from_numpy(ideal)
    ideal = np.zeros((rows.shape[0], width))
    for r in range(rows.shape[0]):
        g = -np.sort(-rows.data[rows.indptr[r] : rows.indptr[r + 1]])[:width]
        ideal[r, : len(g)] = g
    return torch.from_numpy(counts), torch.from_numpy(ideal)
