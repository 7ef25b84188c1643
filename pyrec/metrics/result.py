"""The result of one evaluation run: summary means, a tidy per-user table, and the protocol."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

__all__ = ["EvalResult"]


@dataclass
class EvalResult:
    """Outcome of :func:`~pyrec.metrics.evaluate_full_ranking` or ``evaluate_sampled``.

    Numbers from different protocols are NOT comparable; every rendering carries ``protocol``.

    Attributes:
        summary: mean over evaluated users, keyed ``"ndcg@10"``, ``"recall@20"``, ...
        per_user: tidy ``DataFrame(user int64, metric str, k int64, value float64)``, one row per
            evaluated user x metric x k; ``metric`` is the family (``"ndcg"``), ``k`` the cutoff.
            Users whose metrics are undefined have no rows (never NaN).
        n_users: users evaluated (in every mean).
        n_skipped: users in the index space not evaluated (no item, or no relevant item, in the
            evaluated part).
        protocol: ``"full-ranking"`` or ``"sampled-<N>"``.
        part: the split part evaluated (``"test"`` or ``"valid"``).
        model_name: the model evaluated, when known.
        info: protocol details (masking, seed, counts, timings in s).
    """

    summary: dict[str, float]
    per_user: pd.DataFrame
    n_users: int
    n_skipped: int
    protocol: str
    part: str = "test"
    model_name: str | None = None
    info: dict = field(default_factory=dict)

    def to_frame(self) -> pd.DataFrame:
        """Summary as a tidy frame: ``metric`` (``"ndcg@10"``), ``family``, ``k``, ``value``,
        ``protocol``, ``part``, ``model``, ``n_users``, ``n_skipped``."""
        rows = []
        for name, value in self.summary.items():
            fam, _, k = name.partition("@")
            rows.append(
                {
                    "metric": name,
                    "family": fam,
                    "k": int(k),
                    "value": float(value),
                    "protocol": self.protocol,
                    "part": self.part,
                    "model": self.model_name,
                    "n_users": self.n_users,
                    "n_skipped": self.n_skipped,
                }
            )
        return pd.DataFrame(rows)

    def __repr__(self) -> str:
        vals = ", ".join(f"{k}={v:.4f}" for k, v in self.summary.items())
        return (
            f"EvalResult(protocol={self.protocol!r}, part={self.part!r}, n_users={self.n_users}, "
            f"n_skipped={self.n_skipped}, {vals})"
        )
