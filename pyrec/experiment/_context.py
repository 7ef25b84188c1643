"""State shared by the runs of one experiment process: the dataset, splits and trained models.

Sharing is what keeps the default grid within minutes: the dataset is read once, each seed's split
is made once, and a model trained in one run (e.g. the hybrid at cpu) is reused by the runs that
only transform it (its INT8-quantized copy, the distillation student's teacher) within a seed.
Frozen text embeddings are cached on disk by :class:`pyrec.models.TextEncoder` itself.
"""

from __future__ import annotations

import copy
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pyrec.experiment._config import ExperimentConfig

__all__ = ["RunContext", "Trained"]


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
        out: the results folder (``cache/`` below it holds shared artefacts).
        log: the experiment's logger.
    """

    config: ExperimentConfig
    out: Path
    log: logging.Logger
    _data: Any = None
    _splits: dict[int, Any] = field(default_factory=dict)
    _models: dict[str, Trained] = field(default_factory=dict)
    _models_seed: int | None = None

    @property
    def cache_dir(self) -> Path:
        """``<out>/cache``: artefacts shared between runs (created on first use)."""
        path = self.out / "cache"
        path.mkdir(parents=True, exist_ok=True)
        return path

    def split_seed(self, seed: int) -> int:
        """The seed of the data split for replicate ``seed`` (``split.seed`` or the seed itself)."""
        s = self.config.split.seed
        return int(seed) if s == "per-seed" else int(s)

    def split(self, seed: int):
        """The :class:`~pyrec.data.Split` of replicate ``seed`` (made once per split seed)."""
        from pyrec.experiment import _steps

        key = self.split_seed(seed)
        if key not in self._splits:
            if self._data is None:
                self._data = _steps.load_data(self.config)
            self._splits.clear()  # one split in memory at a time (runs go seed by seed)
            self._splits[key] = _steps.make_split(self._data, self.config, key)
        return self._splits[key]

    @staticmethod
    def model_key(model: str, settings: dict, train_backend: str, backend_settings: dict, seed: int) -> str:
        """Cache key of a trained model: everything that decides its weights."""
        return json.dumps([model, settings, train_backend, backend_settings, int(seed)], sort_keys=True, default=str)

    def get_trained(self, key: str, seed: int) -> Trained | None:
        """A model trained earlier in this process for the same key (same seed), else None."""
        return self._models.get(key) if self._models_seed == seed else None

    def put_trained(self, key: str, seed: int, trained: Trained) -> None:
        """Keep a trained model for reuse by later runs of the same seed (older seeds are freed)."""
        if self._models_seed != seed:
            self._models.clear()
            self._models_seed = seed
        self._models[key] = trained

    @staticmethod
    def copy_model(model: Any) -> Any:
        """A deep copy, so a transformation (quantization) never alters the shared original."""
        return copy.deepcopy(model)
