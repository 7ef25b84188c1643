"""State shared by the runs of one experiment process: the dataset, splits and trained models.

Sharing is what keeps the default grid within minutes: the dataset is read once, each seed's split
is made once, and a model trained in one run (e.g. the hybrid at cpu) is reused by the runs that
only transform it (its INT8-quantized copy, the distillation student's teacher) within a seed.
Frozen text embeddings are cached on disk by :class:`pyrec.models.TextEncoder` itself.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pyrec.experiment._config import ExperimentConfig

__all__ = ["RunContext", "Trained", "load_data", "make_split"]


def load_data(cfg):
    """:func:`pyrec.pipeline.load_data` of the config's dataset and threshold (``InteractionData``)."""
    from pyrec import pipeline

    return pipeline.load_data(cfg.dataset, cfg.data_dir, min_rating=cfg.min_rating)


def make_split(data, cfg, split_seed: int):
    """:func:`pyrec.pipeline.make_split` with the config's protocol, ratios and split seed."""
    from pyrec import pipeline

    return pipeline.make_split(data, cfg.split.protocol, seed=split_seed, ratios=cfg.split.ratios)


@dataclass
class Trained:
    """A fitted model and what producing it cost.

    Attributes:
        model: the fitted :class:`~pyrec.models.Recommender`.
        train_time_s: wall seconds of ``fit`` (plus adapter set-up, e.g. LoRA), s.
        extra: further per-run facts as ``{metric: (value, unit)}`` (e.g. ``optimize_time_s``,
            ``trainable_params``), written as rows.
        info: free-form notes for the log (reports of quantization / LoRA / distillation).
    """

    model: Any
    train_time_s: float
    extra: dict[str, tuple[float, str]] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)


@dataclass
class RunContext:
    """Per-process caches and settings of one experiment.

    Attributes:
        config: the validated config.
        out: the results folder.
        log: the experiment's logger.
        pending: training key -> number of runs still to do that need that trained model (set by
            the runner); a cached model is freed when its count reaches zero.
    """

    config: ExperimentConfig
    out: Path
    log: logging.Logger
    _data: Any = None
    _splits: dict[int, Any] = field(default_factory=dict)
    _models: dict[str, Trained] = field(default_factory=dict)
    pending: Counter = field(default_factory=Counter)

    def split_seed(self, seed: int) -> int:
        """The seed of the data split for replicate ``seed`` (``split.seed`` or the seed itself)."""
        s = self.config.split.seed
        return int(seed) if s == "per-seed" else int(s)

    def split(self, seed: int):
        """The :class:`~pyrec.data.Split` of replicate ``seed`` (made once per split seed)."""
        key = self.split_seed(seed)
        if key not in self._splits:
            if self._data is None:
                self._data = load_data(self.config)
            self._splits.clear()  # one split in memory at a time (runs go seed by seed)
            self._splits[key] = make_split(self._data, self.config, key)
        return self._splits[key]

    @staticmethod
    def model_key(model: str, settings: dict, train_backend: str, backend_settings: dict, seed: int) -> str:
        """Cache key of a trained model: everything that decides its weights."""
        return json.dumps([model, settings, train_backend, backend_settings, int(seed)], sort_keys=True, default=str)

    def get_trained(self, key: str) -> Trained | None:
        """The model trained earlier in this process under ``key``, or None."""
        return self._models.get(key)

    def put_trained(self, key: str, trained: Trained) -> None:
        """Keep a trained model while runs still to do need it (see :meth:`release`)."""
        if self.pending[key] > 1:  # the current run is one of the pending ones
            self._models[key] = trained

    def release(self, key: str) -> None:
        """A run that needed ``key`` is over; free the model when no pending run needs it."""
        self.pending[key] -= 1
        if self.pending[key] <= 0:
            self.pending.pop(key, None)
            self._models.pop(key, None)
