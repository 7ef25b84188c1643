"""Sampled-negative evaluation (protocol ``"sampled-<N>"``). NOT comparable with full ranking.

Each held-out (user, item) pair is ranked against ``N`` items drawn uniformly without replacement
from the items that user never interacted with (in train, valid or test); this is the protocol of
He et al., "Neural Collaborative Filtering", WWW 2017 (N = 100 there). Because only N + 1
candidates compete, its numbers are far higher than full-ranking ones (Krichene & Rendle,
"On Sampled Metrics for Item Recommendation", KDD 2020, show it can even reorder models), so the
protocol name is carried in every result.

Per pair the candidate list has exactly one relevant item at rank ``r`` (ties: lower item index
first, the rule of :func:`~pyrec.metrics.topk_stable`), so with the shared metric kernels
NDCG@k = 1/log2(r+1), HitRate@k = Recall@k = 1[r <= k], Precision@k = 1[r <= k]/k and
MRR@k = MAP@k = 1/r (0 when r > k). A user's value is the mean over that user's held-out pairs.
"""

from __future__ import annotations

import time

import numpy as np
import torch

from pyrec.diagnostics import DataError
from pyrec.metrics._names import METRIC_FAMILIES, expand_metrics
from pyrec.metrics._protocol import (
    binary_csr,
    build_result,
    call_scores,
    check_part,
    check_positive_int,
    model_label,
)
from pyrec.metrics._relevance import HitMatrix
from pyrec.metrics.compute import metrics_from_hits
from pyrec.metrics.result import EvalResult
from pyrec.metrics.topk import check_scores

__all__ = ["evaluate_sampled", "sample_eval_negatives"]

_OWNER = "evaluate_sampled"


def sample_eval_negatives(split, part: str, n_negatives: int, seed: int):
    """Draw the candidate negatives of every held-out pair.

    Args:
        split: :class:`pyrec.data.Split`.
        part: ``"test"`` or ``"valid"``.
        n_negatives: N, negatives per pair.
        seed: seeds ``np.random.default_rng``; same seed, same negatives.

    Returns:
        ``(users int64 [P], items int64 [P], negatives int64 [P, N])``, pairs sorted by user then
        item, repeated pairs once.

    Raises:
        DataError: a user has fewer than N never-interacted items.
    """
    rng = np.random.default_rng(seed)
    seen = (binary_csr(split.train) + binary_csr(split.valid) + binary_csr(split.test)).tocsr()
    target = binary_csr(getattr(split, part))
    all_items = np.arange(split.n_items, dtype=np.int64)
    users, items, negs = [], [], []
    for u in np.flatnonzero(np.diff(target.indptr) > 0):
        pos = target.indices[target.indptr[u] : target.indptr[u + 1]].astype(np.int64)
        allowed = np.setdiff1d(all_items, seen.indices[seen.indptr[u] : seen.indptr[u + 1]])
        if len(allowed) < n_negatives:
            raise DataError(
                f"user {u} has only {len(allowed)} never-interacted items, fewer than "
                f"n_negatives={n_negatives}"
            )
        pick = np.argpartition(rng.random((len(pos), len(allowed))), n_negatives - 1, axis=1)
        users.append(np.full(len(pos), u, dtype=np.int64))
        items.append(np.sort(pos))
        negs.append(allowed[pick[:, :n_negatives]])
    if not users:
        raise DataError(f"{_OWNER}: split.{part} has no interactions; nothing to evaluate")
    return np.concatenate(users), np.concatenate(items), np.concatenate(negs)


def evaluate_sampled(
    score_fn,
    split,
    *,
    n_negatives: int = 100,
    seed: int = 0,
    part: str = "test",
    ks=(10,),
    metrics=METRIC_FAMILIES,
    batch_size: int = 1024,
    model_name: str | None = None,
) -> EvalResult:
    """Evaluate with the sampled-negative protocol (``protocol="sampled-<n_negatives>"``).

    Args:
        score_fn: ``score_fn(users: np.ndarray int64 [B]) -> torch.Tensor float32 [B, n_items]``.
        split: :class:`pyrec.data.Split`.
        n_negatives: N, sampled non-interacted items per held-out pair.
        seed: seed of the negative sampler (``np.random.default_rng``).
        part: ``"test"`` or ``"valid"``.
        ks: cutoffs for metric names without ``@k``.
        metrics: names among ``ndcg, recall, precision, hit, mrr, map`` (or ``"ndcg@20"``).
        batch_size: users scored per ``score_fn`` call.
        model_name: named in errors and the result.

    Returns:
        EvalResult; ``per_user`` values are means over each user's held-out pairs.

    Raises:
        ConfigError: bad arguments. DataError: NaN/+inf scores (names the model and the first bad
        user), wrong score shape, or a user with fewer than N never-interacted items.
    """
    t0 = time.perf_counter()
    part = check_part(part, _OWNER)
    specs = expand_metrics(metrics, ks, _OWNER)
    n_negatives = check_positive_int(n_negatives, "n_negatives", _OWNER)
    batch_size = check_positive_int(batch_size, "batch_size", _OWNER)
    model = model_label(score_fn, model_name)
    p_users, p_items, p_negs = sample_eval_negatives(split, part, n_negatives, seed)
    k_max = max(s.k for s in specs)
    width = min(k_max, n_negatives + 1)

    eval_users = np.unique(p_users)
    per_user: dict = {s: [] for s in specs}
    for start in range(0, len(eval_users), batch_size):
        batch = eval_users[start : start + batch_size]
        scores = call_scores(score_fn, batch, split.n_items, model)
        check_scores(scores, model_name=model, users=batch)
        lo, hi = np.searchsorted(p_users, [batch[0], batch[-1] + 1])
        row = torch.from_numpy(np.searchsorted(batch, p_users[lo:hi]))
        pos = torch.from_numpy(p_items[lo:hi])
        neg = torch.from_numpy(p_negs[lo:hi])
        s_pos = scores[row, pos].cpu().unsqueeze(1)
        s_neg = scores[row.unsqueeze(1), neg].cpu()
        # rank of the positive: 1 + negatives ranked above it under the tie rule
        above = (s_neg > s_pos) | ((s_neg == s_pos) & (neg < pos.unsqueeze(1)))
        rank = 1 + above.sum(dim=1)
        onehot = torch.zeros(len(rank), width, dtype=torch.float64)
        inside = rank <= width
        onehot[inside.nonzero().squeeze(1), rank[inside] - 1] = 1.0
        ideal = torch.zeros(len(rank), width, dtype=torch.float64)
        ideal[:, 0] = 1.0
        hm = HitMatrix(onehot, onehot, torch.ones(len(rank), dtype=torch.float64), ideal)
        pair_user = p_users[lo:hi]
        for spec, vals in metrics_from_hits(hm, specs).items():
            # mean over each user's pairs (pairs are sorted by user)
            sums = np.bincount(np.searchsorted(batch, pair_user), vals.numpy(), len(batch))
            counts = np.bincount(np.searchsorted(batch, pair_user), minlength=len(batch))
            per_user[spec].append((batch, sums / counts))

    info = {
        "n_negatives": n_negatives,
        "seed": seed,
        "n_pairs": int(len(p_users)),
        "negatives_from": "items the user never interacted with (train, valid, test)",
        "tie_rule": "score desc, then item index asc",
        "comparable_with_full_ranking": False,
    }
    result = build_result(
        per_user, n_index_users=split.n_users, protocol=f"sampled-{n_negatives}", part=part,
        model=model, info=info, owner=_OWNER,
    )
    result.info["eval_time_s"] = time.perf_counter() - t0
    return result
