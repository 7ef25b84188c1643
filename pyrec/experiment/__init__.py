"""pyrec.experiment: the `pyrec evaluate` grid runner.

Reads an experiment config (TOML/YAML: dataset, split, protocols, seeds, factors architecture x
optimization x backend, model settings), runs every configuration x seed resumably, and writes the
tidy results folder that ``pyrec stats``, ``pyrec report`` and R read (``docs/architecture.md``,
"Results folder").

What the tables hold beyond the contract:

* ``architecture`` also takes ``baseline`` for the popularity and MF-BPR models.
* Quality metrics (``ndcg@10`` ..., unit ``score``) come once per protocol; performance metrics
  (``latency_*_ms``, ``throughput_users_s``, ``train_time_s``, ``peak_rss_mib``,
  ``model_size_mib``, and for text models ``encoder_size_mib`` and ``cold_start_ms``; for trained
  models ``epochs_trained``, ``best_epoch``, ``seconds_per_epoch``; per strategy
  ``optimize_time_s``, ``quantized_linear_layers``, ``teacher_train_time_s``) do not depend on
  the protocol and carry the first one. ``per_user.parquet`` holds the first protocol.
* ``peak_rss_mib`` is the process's peak resident memory while the run worked (sampled every
  5 ms), ``peak_rss_delta_mib`` that peak minus the resident memory when the run began, after
  freed memory was handed back to the system (``gc.collect`` + glibc ``malloc_trim``): the run's
  own growth above what was live (memory shared with earlier runs, e.g. a reused teacher or the
  cached split, is not counted; only a fresh process per run gives a run's full footprint); ``model_size_mib`` the size of the files ``Recommender.save`` writes, without the
  training interactions.
* A run that reuses a model trained earlier in the same seed (the hybrid behind its quantized
  copy, its distillation teacher, the DeepSpeed hybrid served on fpga-sim) reports that model's
  measured ``train_time_s`` (plus the conversion for quantization).

Names are loaded lazily, so ``import pyrec.experiment`` does not import torch.
"""

from __future__ import annotations

from pyrec._lazy import attach

_LAZY = {
    "ExperimentConfig": "pyrec.experiment._config",
    "ConfigurationEntry": "pyrec.experiment._config",
    "GridConfig": "pyrec.experiment._config",
    "load_config": "pyrec.experiment._config",
    "validate_config": "pyrec.experiment._config",
    "parse_backend": "pyrec.experiment._config",
    "RunSpec": "pyrec.experiment._grid",
    "Skipped": "pyrec.experiment._grid",
    "expand_design": "pyrec.experiment._grid",
    "ResultsFolder": "pyrec.experiment._store",
    "ExperimentResult": "pyrec.experiment._runner",
    "run_experiment": "pyrec.experiment._runner",
    "evaluate": "pyrec.experiment._runner",
    "resolve_config": "pyrec.experiment._runner",
    "preset_path": "pyrec.experiment._runner",
    "summary_table": "pyrec.experiment._summary",
}

__getattr__, __dir__, __all__ = attach(__name__, _LAZY)
