"""Helpers shared by the evaluation protocols: argument checks, calling the model, tidy output."""

from __future__ import annotations

import warnings
from numbers import Integral

import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch

from pyrec.diagnostics import DataError, DataWarning, param_error
from pyrec.metrics._names import MetricSpec
from pyrec.metrics.result import EvalResult

PARTS = ("test", "valid")


def model_label(score_fn, model_name: str | None) -> str:
    """``model_name``, else the ``name`` of the Recommender a bound ``score`` belongs to."""
    if model_name:
        return str(model_name)
    owner = getattr(score_fn, "__self__", None)
    if owner is not None:
        return str(getattr(owner, "name", type(owner).__name__))
    return str(getattr(score_fn, "__name__", "the model"))


def check_part(part: str, owner: str) -> str:
    if part not in PARTS:
        raise param_error("part", owner, f"one of {list(PARTS)}", part)
    return part


def check_positive_int(value, name: str, owner: str) -> int:
    if isinstance(value, bool) or not isinstance(value, Integral) or value < 1:
        raise param_error(name, owner, "an int in [1, inf)", value)
    return int(value)


def call_scores(score_fn, users: np.ndarray, n_items: int, model: str) -> torch.Tensor:
    """Run ``score_fn(users)`` and return a float tensor [B, n_items] (a copy, safe to mask).

    Raises:
        DataError: wrong type or shape (names the model).
    """
    with torch.no_grad():
        out = score_fn(users)
    if isinstance(out, np.ndarray):
        out = torch.from_numpy(out)
    if not isinstance(out, torch.Tensor) or not out.is_floating_point():
        raise DataError(
            f"{model} score() must return a float torch.Tensor [B, n_items]; "
            f"got {type(out).__name__}"
            + (f" {out.dtype}" if isinstance(out, torch.Tensor) else "")
        )
    if tuple(out.shape) != (len(users), n_items):
        raise DataError(
            f"{model} returned scores of shape {tuple(out.shape)} for {len(users)} users; "
            f"expected ({len(users)}, {n_items})"
        )
    return out.detach().clone()


def binary_csr(data) -> sp.csr_matrix:
    """Binary float32 CSR [n_users, n_items] of an InteractionData (repeats collapse to 1)."""
    return data.csr().tocsr()


def graded_csr(data, relevance) -> sp.csr_matrix:
    """Relevance float32 CSR [n_users, n_items] of a split part.

    ``relevance``: None (binary), ``"rating"`` (the part's ratings as grades) or a callable
    ``f(part: InteractionData) -> float [n]`` giving one grade per interaction. A repeated
    (user, item) pair keeps its largest grade.

    Raises:
        ConfigError: unknown ``relevance``. DataError: NaN, negative or mis-sized grades.
    """
    if relevance is None:
        return binary_csr(data)
    if relevance == "rating":
        grades = np.asarray(data.ratings, dtype=np.float64)
    elif callable(relevance):
        grades = np.asarray(relevance(data), dtype=np.float64).reshape(-1)
    else:
        raise param_error("relevance", "evaluate", "None, 'rating' or a callable", relevance)
    if grades.shape != (len(data.users),):
        raise DataError(
            f"relevance gives {grades.shape[0]} grades for {len(data.users)} interactions"
        )
    if np.isnan(grades).any() or (grades < 0).any():
        bad = int(np.flatnonzero(np.isnan(grades) | (grades < 0))[0])
        raise DataError(
            f"relevance grade of interaction {bad} (user {int(data.users[bad])}, item "
            f"{int(data.items[bad])}) is {grades[bad]}; grades must be finite and >= 0 "
            "(a dataset without ratings needs relevance=None)"
        )
    key = data.users.astype(np.int64) * data.n_items + data.items.astype(np.int64)
    order = np.lexsort((grades, key))
    last = np.r_[key[order][1:] != key[order][:-1], True]
    keep = order[last]
    return sp.csr_matrix(
        (grades[keep].astype(np.float32), (data.users[keep], data.items[keep])),
        shape=(data.n_users, data.n_items),
    )


def warn_overlap(masked: sp.csr_matrix, target: sp.csr_matrix, part: str, owner: str) -> int:
    """Warn when held-out pairs are also masked (a leaky split); return their count."""
    n = int(masked.multiply(target).count_nonzero())
    if n:
        warnings.warn(
            f"{owner}: {n} (user, item) pair(s) of split.{part} also occur in the masked parts "
            "(train/valid); they are masked and cannot be hit. Check the split for leakage.",
            DataWarning,
            stacklevel=3,
        )
    return n


def build_result(
    per_user: dict[MetricSpec, list[tuple[np.ndarray, np.ndarray]]],
    *,
    n_index_users: int,
    protocol: str,
    part: str,
    model: str,
    info: dict,
    owner: str,
) -> EvalResult:
    """Assemble summary means and the tidy per-user table, excluding undefined (NaN) users."""
    frames, summary, evaluated = [], {}, None
    for spec, chunks in per_user.items():
        users = np.concatenate([u for u, _ in chunks]) if chunks else np.zeros(0, np.int64)
        vals = np.concatenate([v for _, v in chunks]) if chunks else np.zeros(0)
        ok = ~np.isnan(vals)
        if evaluated is None:
            evaluated = users[ok]
        frames.append(
            pd.DataFrame(
                {"user": users[ok].astype(np.int64), "metric": spec.name,
                 "k": np.int64(spec.k), "value": vals[ok].astype(np.float64)}
            )
        )
        summary[str(spec)] = float(vals[ok].mean()) if ok.any() else float("nan")
    n_eval = 0 if evaluated is None else len(evaluated)
    if n_eval == 0:
        raise DataError(
            f"{owner}: no user has a relevant item in split.{part}; nothing to evaluate"
        )
    n_skipped = n_index_users - n_eval
    if n_skipped:
        warnings.warn(
            f"{owner}: {n_skipped} of {n_index_users} users have no relevant item in split.{part} "
            f"and are excluded from every mean ({n_eval} evaluated)",
            DataWarning,
            stacklevel=3,
        )
    table = pd.concat(frames, ignore_index=True)
    return EvalResult(summary, table, n_eval, n_skipped, protocol, part, model, info)
