"""The results folder of `pyrec evaluate`: crash-safe, resumable, never silently overwritten.

Layout (the contract in ``docs/architecture.md``, "Results folder")::

    <out>/config.resolved.toml   the validated config (its fingerprint decides resume vs refuse)
    <out>/environment.json       versions, CPU, threads, R version
    <out>/analysis.json          the planned analysis ([analysis] of the config) that pyrec stats,
                                 pyrec_stats() in R and the report read
    <out>/runs.parquet, runs.csv one row per run x metric (re-assembled after every run)
    <out>/per_user.parquet       one row per run x user x metric
    <out>/skipped.csv            config, reason
    <out>/failed.csv             run_id, config, seed, error
    <out>/logs/                  evaluate.log and one <run_id>.log per failed run
    <out>/parts/                 one committed part per finished run (the source of truth)

A run is finished when ``parts/<run_id>.runs.parquet`` exists; it is written (atomically, via a
temporary file and ``os.replace``) only after the run's per-user part, so a run killed at any point
is either fully recorded or absent. The assembled tables are rewritten the same atomic way.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from pyrec.diagnostics import ConfigError

__all__ = ["PER_USER_COLUMNS", "RUN_COLUMNS", "ResultsFolder", "atomic_write"]

RUN_COLUMNS = [
    "run_id", "dataset", "split", "protocol", "seed", "architecture", "model", "optimization",
    "backend", "config", "simulated", "metric", "value", "unit",
]
PER_USER_COLUMNS = [
    "run_id", "protocol", "config", "seed", "architecture", "optimization", "backend", "user", "metric", "k", "value",
]
_CONFIG_FILE = "config.resolved.toml"


def atomic_write(path: Path, write) -> None:
    """Call ``write(tmp_path)`` then ``os.replace`` it onto ``path`` (readers never see half a file)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def _diff(old: Any, new: Any, prefix: str = "") -> list[str]:
    if isinstance(old, dict) and isinstance(new, dict):
        out = []
        for k in sorted(set(old) | set(new), key=str):
            out += _diff(old.get(k), new.get(k), f"{prefix}.{k}" if prefix else str(k))
        return out
    return [] if old == new else [f"{prefix or '<config>'}: {old!r} -> {new!r}"]


class ResultsFolder:
    """One experiment's output folder.

    Use :meth:`open` (checks an existing folder's config) rather than the constructor.

    Attributes:
        path: the folder.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.parts = self.path / "parts"
        self.logs = self.path / "logs"

    # ---- opening ---------------------------------------------------------------------------
    @classmethod
    def open(cls, path: str | Path, config_toml: str, fingerprint: dict, *, force: bool = False) -> ResultsFolder:
        """Create ``path``, or resume it when it holds results of the same config.

        Args:
            path: output folder.
            config_toml: the resolved config as TOML text (written to ``config.resolved.toml``).
            fingerprint: the config facts that decide "same experiment" (compared to the folder's).
            force: wipe a pyrec results folder of a different config instead of refusing.

        Returns:
            ResultsFolder, with ``resumed`` True when earlier results of this config were kept.

        Raises:
            ConfigError: the folder holds a different config (without ``force``), or it is a
                non-empty folder that is not a pyrec results folder (even with ``force``).
        """
        from pyrec.experiment._config import validate_config

        self = cls(path)
        self.resumed = False
        cfg_file = self.path / _CONFIG_FILE
        if self.path.exists() and not self.path.is_dir():
            raise ConfigError(f"The output path {str(self.path)!r} exists and is not a folder.")
        if self.path.is_dir() and any(self.path.iterdir()):
            if not cfg_file.is_file():
                raise ConfigError(
                    f"The output folder {str(self.path)!r} is not empty and holds no {_CONFIG_FILE}; "
                    "it is not a pyrec results folder, so it is left alone. Choose another --out."
                )
            import tomllib

            try:
                old = validate_config(tomllib.loads(cfg_file.read_text("utf-8")), str(cfg_file)).fingerprint_dict()
            except (OSError, ValueError) as exc:  # unreadable, or invalid now (ConfigError, TOMLDecodeError): different
                old = {"<unreadable>": str(exc)}
            if old == fingerprint and not force:
                self.resumed = True
            elif not force:
                changes = _diff(old, fingerprint)
                shown = "\n  ".join(changes[:10]) + ("\n  ..." if len(changes) > 10 else "")
                raise ConfigError(
                    f"The output folder {str(self.path)!r} holds results of a different experiment config:\n  "
                    f"{shown}\nPass --force to overwrite it, or --out to write elsewhere."
                )
            else:
                shutil.rmtree(self.path)
        self.path.mkdir(parents=True, exist_ok=True)
        self.parts.mkdir(exist_ok=True)
        self.logs.mkdir(exist_ok=True)
        atomic_write(cfg_file, lambda p: p.write_text(config_toml, encoding="utf-8"))
        return self

    # ---- per-run parts -----------------------------------------------------------------------
    def _part(self, run_id: str, kind: str) -> Path:
        return self.parts / f"{run_id}.{kind}"

    def is_done(self, run_id: str) -> bool:
        """True when the run's results are committed (it will not be run again)."""
        return self._part(run_id, "runs.parquet").is_file()

    def run_rows(self, run_id: str) -> pd.DataFrame | None:
        """The committed rows of a finished run (None when it is not finished or unreadable)."""
        try:
            return pd.read_parquet(self._part(run_id, "runs.parquet"))
        except (OSError, ValueError):
            return None

    def write_run(self, run_id: str, rows: pd.DataFrame, per_user: pd.DataFrame) -> None:
        """Commit one finished run: per-user part first, then the runs part (the commit marker)."""
        missing = set(RUN_COLUMNS) - set(rows.columns)
        if missing:
            raise ValueError(f"run rows lack columns {sorted(missing)}")
        atomic_write(self._part(run_id, "per_user.parquet"), lambda p: per_user.to_parquet(p, index=False))
        atomic_write(self._part(run_id, "runs.parquet"), lambda p: rows[RUN_COLUMNS].to_parquet(p, index=False))
        self.clear_failure(run_id)

    def record_failure(self, run_id: str, config: str, seed: int, error: str, traceback_text: str = "") -> None:
        """Record a failed run (``failed.csv`` after :meth:`assemble`) and its traceback in ``logs/``."""
        rec = {"run_id": run_id, "config": config, "seed": int(seed), "error": error}
        atomic_write(self._part(run_id, "failed.json"), lambda p: p.write_text(json.dumps(rec), "utf-8"))
        if traceback_text:
            (self.logs / f"{run_id}.log").write_text(traceback_text, encoding="utf-8")

    def clear_failure(self, run_id: str) -> None:
        """Forget an earlier failure of a run that has now finished."""
        self._part(run_id, "failed.json").unlink(missing_ok=True)

    # ---- assembled tables --------------------------------------------------------------------
    def assemble(self, run_ids: Iterable[str]) -> pd.DataFrame:
        """Rewrite runs.parquet/.csv, per_user.parquet and failed.csv from the parts of ``run_ids``.

        Args:
            run_ids: the plan's runs, in plan order (parts of other runs are ignored).

        Returns:
            DataFrame: the runs table (columns :data:`RUN_COLUMNS`).
        """
        run_ids = list(run_ids)
        runs, users, failed = [], [], []
        for rid in run_ids:
            if self.is_done(rid):
                runs.append(pd.read_parquet(self._part(rid, "runs.parquet")))
                pu = self._part(rid, "per_user.parquet")
                if pu.is_file():
                    users.append(pd.read_parquet(pu))
            elif self._part(rid, "failed.json").is_file():
                failed.append(json.loads(self._part(rid, "failed.json").read_text("utf-8")))
        table = pd.concat(runs, ignore_index=True) if runs else _empty(RUN_COLUMNS)
        per_user = pd.concat(users, ignore_index=True) if users else _empty(PER_USER_COLUMNS)
        fail = pd.DataFrame(failed, columns=["run_id", "config", "seed", "error"])
        atomic_write(self.path / "runs.parquet", lambda p: table.to_parquet(p, index=False))
        atomic_write(self.path / "runs.csv", lambda p: table.to_csv(p, index=False))
        atomic_write(self.path / "per_user.parquet", lambda p: per_user.to_parquet(p, index=False))
        atomic_write(self.path / "failed.csv", lambda p: fail.to_csv(p, index=False))
        return table

    def write_skipped(self, skipped: Iterable[Any]) -> None:
        """Write ``skipped.csv`` (columns ``config, reason``) from :class:`Skipped` records."""
        df = pd.DataFrame([{"config": s.config, "reason": s.reason} for s in skipped], columns=["config", "reason"])
        atomic_write(self.path / "skipped.csv", lambda p: df.to_csv(p, index=False))

    def write_environment(self, env: dict) -> None:
        """Write ``environment.json``."""
        atomic_write(self.path / "environment.json", lambda p: p.write_text(json.dumps(env, indent=2, default=str), "utf-8"))

    def write_analysis_plan(self, plan: dict) -> None:
        """Write ``analysis.json``: the config's ``[analysis]`` table (contrasts, margin, ...)."""
        atomic_write(self.path / "analysis.json", lambda p: p.write_text(json.dumps(plan, indent=2), "utf-8"))


def _empty(columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="float64" if c == "value" else "object") for c in columns})
