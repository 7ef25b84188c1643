"""`pyrec evaluate`: run every configuration x seed of an experiment, resumably.

For each run (one configuration of the factors at one seed) the runner trains the model, applies
the optimization, deploys it on the serving backend, evaluates ranking quality on the test part and
measures latency, throughput, training time, peak memory and model size. Each finished run is
committed to the results folder before the next starts (see :mod:`pyrec.experiment._store`); a
failed run is recorded with its error and the grid goes on; an interrupted one leaves the earlier
results intact, and re-running the same command skips what is finished.
"""

from __future__ import annotations

import logging
import numbers
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from pyrec.diagnostics import ConfigError
from pyrec.experiment import _steps
from pyrec.experiment._config import ExperimentConfig, load_config, validate_config
from pyrec.experiment._context import RunContext
from pyrec.experiment._grid import RunSpec, Skipped, expand_design
from pyrec.experiment._store import PER_USER_COLUMNS, RUN_COLUMNS, ResultsFolder
from pyrec.experiment._toml import dumps_toml

__all__ = ["ExperimentResult", "evaluate", "preset_path", "resolve_config", "run_experiment"]

log = logging.getLogger("pyrec.experiment")


@dataclass
class ExperimentResult:
    """What :func:`run_experiment` did.

    Attributes:
        runs: the tidy runs table (``runs.parquet``), one row per run x metric.
        out: the results folder.
        config: the resolved config.
        skipped: configurations not run, with reasons.
        failed: ``failed.csv`` as a DataFrame (``run_id, config, seed, error``).
        n_planned: runs in the plan (configurations x seeds).
        n_resumed: runs found finished in the folder and not redone.
        n_ran: runs finished by this call.
        wall_time_s: wall time of this call, s.
        stats_dir: where ``pyrec.stats`` wrote its tables, or None.
    """

    runs: pd.DataFrame
    out: Path
    config: ExperimentConfig
    skipped: list[Skipped]
    failed: pd.DataFrame
    n_planned: int
    n_resumed: int
    n_ran: int
    wall_time_s: float
    stats_dir: Path | None = None
    notes: list[str] = field(default_factory=list)


def preset_path(name: str) -> Path:
    """The shipped config ``analysis/experiment.<name>.toml`` (``default``, ``quick``, ``baselines``).

    Raises:
        ConfigError: the file is not there (e.g. pyrec installed without its ``analysis/`` folder).
    """
    from pyrec._resources import resource_dir

    try:
        path = resource_dir("analysis") / f"experiment.{name}.toml"
    except FileNotFoundError as exc:
        raise ConfigError(f"The {name!r} experiment preset is missing: {exc}") from None
    if not path.is_file():
        raise ConfigError(f"The {name!r} experiment preset {str(path)!r} is missing; pass --config FILE.")
    return path


_SEEDS_EXPECTED = "comma-separated ints in [0, 2**63), e.g. '0,1,2'"


def _seed_int(item) -> int | None:
    """An int from ``'3'``, ``3``, ``np.int64(3)`` or an integral float (R numerics); else None."""
    if isinstance(item, bool):
        return None
    if isinstance(item, str):
        try:
            return int(item)
        except ValueError:
            return None
    if isinstance(item, numbers.Integral):
        return int(item)
    if isinstance(item, numbers.Real) and float(item).is_integer():
        return int(item)
    return None


def _parse_seeds(seeds) -> list[int] | None:
    """The ``--seeds`` override as a list, refused up front (before any run starts) when an item
    is empty (``'0,,1'``), not an int, negative or >= 2**63."""
    if seeds is None:
        return None

    def bad(why: str) -> ConfigError:
        return ConfigError(f"The 'seeds' option (--seeds) must be {_SEEDS_EXPECTED}. "
                           f"Got {seeds!r} instead: {why}.")

    items = [s.strip() for s in seeds.split(",")] if isinstance(seeds, str) else list(seeds)
    out = []
    for pos, item in enumerate(items, 1):
        if isinstance(item, str) and not item:
            raise bad(f"item {pos} is empty")
        value = _seed_int(item)
        if value is None:
            raise bad(f"item {pos} ({item!r}) is not an int")
        if not 0 <= value < 2**63:
            raise bad(f"item {pos} ({value}) is {'negative' if value < 0 else 'too large'}")
        out.append(value)
    if not out:
        raise bad("no seed given")
    return out


def resolve_config(config=None, *, quick: bool = False, data_dir=None, seeds=None) -> tuple[ExperimentConfig, str]:
    """Turn the user's choice into a validated config and a description of its source.

    Args:
        config: None (the default preset), a file path, a dict, or an :class:`ExperimentConfig`.
        quick: use the ``quick`` preset (not combinable with ``config``).
        data_dir: overrides ``data_dir``. seeds: overrides ``seeds`` (list or ``"0,1,2"``).

    Raises:
        ConfigError: invalid config (naming file and key), or ``quick`` with ``config``.
    """
    if quick and config is not None:
        raise ConfigError("Pass either --quick or --config, not both (--quick is a shipped config).")
    overrides = {"data_dir": None if data_dir is None else str(data_dir), "seeds": _parse_seeds(seeds)}
    overrides = {k: v for k, v in overrides.items() if v is not None}
    if config is None:
        config = preset_path("quick" if quick else "default")
    if isinstance(config, ExperimentConfig):
        data = config.model_dump(mode="json")
        data.update(overrides)
        return validate_config(data, "<ExperimentConfig>"), "<ExperimentConfig>"
    if isinstance(config, dict):
        return validate_config({**config, **overrides}, "<dict>"), "<dict>"
    return load_config(config, **overrides), str(config)


def _run_rows(spec: RunSpec, seed: int, run_id: str, split_name: str, dataset: str, rows: list[dict]) -> pd.DataFrame:
    df = pd.DataFrame(rows)
    df.insert(0, "run_id", run_id)
    df["dataset"] = dataset
    df["split"] = split_name
    df["seed"] = int(seed)
    for k, v in spec.factors().items():
        df[k] = v
    df["value"] = df["value"].astype("float64")
    df["simulated"] = df["simulated"].astype(bool)
    return df[RUN_COLUMNS]


def _per_user_rows(spec: RunSpec, seed: int, run_id: str, per_user: pd.DataFrame | None) -> pd.DataFrame:
    if per_user is None or per_user.empty:
        return pd.DataFrame(columns=PER_USER_COLUMNS)
    df = per_user[["user", "metric", "k", "value"]].copy()
    f = spec.factors()
    protocol = spec.common.get("protocols", ["full-ranking"])[0]  # per-user rows: the first protocol
    for col, val in (("run_id", run_id), ("protocol", protocol), ("config", spec.label), ("seed", int(seed)),
                     ("architecture", f["architecture"]), ("optimization", f["optimization"]),
                     ("backend", f["backend"])):
        df[col] = val
    return df[PER_USER_COLUMNS]


def execute_run(spec: RunSpec, seed: int, run_id: str, ctx: RunContext) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Train, optimize, serve, evaluate and measure one run; returns (run rows, per-user rows)."""
    split = ctx.split(seed)
    with _steps.peak_rss() as mem:
        trained = _steps.train_model(spec, split, seed, ctx)
        trained = _steps.apply_optimization(spec, trained, split, seed, ctx)
        scorer = _steps.serve_model(spec, trained, split, ctx)
        quality, per_user = _steps.evaluate_quality(spec, scorer, split, seed, ctx)
        perf = _steps.measure(spec, scorer, split, seed, ctx)
    protocol = ctx.config.protocols[0]
    rows = quality + perf + _steps.training_rows(trained, ctx)
    rows.append({"protocol": protocol, "metric": "peak_rss_mib", "value": mem.peak_mib, "unit": "MiB"})
    rows.append({"protocol": protocol, "metric": "peak_rss_delta_mib", "value": mem.peak_mib - mem.start_mib,
                 "unit": "MiB"})
    for key, note in trained.info.items():
        ctx.log.info("%s seed %d %s: %s", spec.label, seed, key, note)
    return (_run_rows(spec, seed, run_id, split.name, ctx.config.dataset, rows),
            _per_user_rows(spec, seed, run_id, per_user))


def _logger(folder: ResultsFolder) -> logging.Handler:
    handler = logging.FileHandler(folder.logs / "evaluate.log", encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    return handler


def run_experiment(
    config=None,
    *,
    quick: bool = False,
    out: str | Path | None = None,
    data_dir: str | Path | None = None,
    seeds=None,
    force: bool = False,
    progress: bool = True,
    stats: bool = True,
    console=None,
) -> ExperimentResult:
    """Run (or resume) an experiment and write its results folder.

    Args:
        config: config file (TOML/YAML), dict, :class:`ExperimentConfig`, or None for the default
            preset (``analysis/experiment.default.toml``).
        quick: the minute-long ``analysis/experiment.quick.toml`` preset instead.
        out: results folder (default ``results/<config name>``).
        data_dir: dataset folder override. seeds: seed override (list or ``"0,1,2"``).
        force: overwrite a results folder written by a different config (else: ConfigError).
        progress: show progress and print the summary (rich): a live bar when stdout is a
            terminal, else one flushed stdout line per run (:mod:`pyrec._progress`).
        stats: run ``pyrec.stats`` (R) on the results at the end when available.
        console: a ``rich.console.Console`` to print to (default: stderr console).

    Returns:
        ExperimentResult (``.runs`` is the tidy runs table).

    Raises:
        ConfigError: invalid config, or an output folder of a different config without ``force``.
        KeyboardInterrupt: re-raised after the finished runs are assembled (resume by re-running).
    """
    from rich.console import Console

    from pyrec._progress import LINES, progress_mode
    from pyrec.experiment._env import environment_facts
    from pyrec.experiment._summary import print_skipped, print_summary, run_stats

    t_start = time.perf_counter()
    console = console or Console(stderr=True, quiet=not progress)
    mode = progress_mode(progress)  # one decision: a live bar on a terminal, else a line per run
    cfg, source = resolve_config(config, quick=quick, data_dir=data_dir, seeds=seeds)
    out = Path(out) if out is not None else Path("results") / cfg.name
    specs, skipped = expand_design(cfg, _steps.backend_unavailable, _steps.run_unsupported)
    for spec in specs:  # bad settings stop here (before the folder is written), not once per run
        _steps.preflight(spec)
    data = _steps.load_data(cfg)  # so does a missing dataset (DataError)
    ctx = RunContext(cfg, out, log, _data=data)
    ctx.split(cfg.seeds[0])  # and data the protocol cannot split (e.g. temporal on equal times)
    _check_cutoffs(cfg, data.n_items)
    header = f"Resolved by pyrec evaluate from {source}."
    folder = ResultsFolder.open(out, dumps_toml(cfg.model_dump(mode="json"), header), cfg.fingerprint_dict(), force=force)
    handler = _logger(folder)
    try:
        folder.write_skipped(skipped)
        folder.write_environment({**environment_facts(), "config_source": source})
        folder.write_analysis_plan(cfg.analysis.model_dump(mode="json"))
        print_skipped(console, skipped)
        plan = [(seed, spec, spec.run_id(seed)) for seed in cfg.seeds for spec in specs]
        plan_ids = [rid for _, _, rid in plan]
        done_before = sum(folder.is_done(rid) for rid in plan_ids)
        log.info("experiment %s from %s: %d runs planned, %d already finished, %d configurations skipped",
                 cfg.name, source, len(plan), done_before, len(skipped))
        if folder.resumed:
            console.print(f"Resuming {folder.path}: {done_before}/{len(plan)} runs already finished.")
        ctx.out = folder.path
        ctx.pending.update(key for seed, spec, rid in plan if not folder.is_done(rid)
                           for key in _steps.training_keys(spec, seed))
        lines = None
        if mode == LINES:
            lines = _RunLines(len(plan), cfg, len(plan) - done_before)
            lines.start(folder.path, len(specs), len(cfg.seeds), done_before, skipped)
        n_ran = _run_plan(plan, folder, ctx, console, mode, lines)
        table = folder.assemble(plan_ids)
        failed = pd.read_csv(folder.path / "failed.csv")
        result = ExperimentResult(table, folder.path, cfg, skipped, failed, len(plan), done_before, n_ran,
                                  time.perf_counter() - t_start)
        print_summary(console, result)
        if stats:
            result.stats_dir = run_stats(console, result)
        log.info("finished in %.1f s: %d ran, %d resumed, %d failed", result.wall_time_s, n_ran, done_before, len(failed))
        return result
    finally:
        log.removeHandler(handler)
        handler.close()


def _check_cutoffs(cfg, n_items: int) -> None:
    """Refuse list lengths longer than the catalogue before any run (each run would fail late).

    Raises:
        ConfigError: a ``ks`` value or ``bench.k`` above ``n_items`` (names the key).
    """
    from pyrec.diagnostics import ConfigError

    for key, k in [("ks", k) for k in cfg.ks] + [("bench.k", cfg.bench.k)]:
        if k > n_items:
            raise ConfigError(f"The experiment config's {key} = {k} is longer than the catalogue of "
                              f"{cfg.dataset!r} ({n_items} items); use ks and bench.k of at most {n_items}.")


def _run_plan(plan, folder: ResultsFolder, ctx: RunContext, console, mode: str,
              lines: _RunLines | None) -> int:
    """Run the plan's unfinished runs: a rich bar in ``bar`` mode, ``lines`` (the per-run stdout
    lines) in ``lines`` mode (see :mod:`pyrec._progress`); returns the number finished now."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from pyrec._progress import BAR

    plan_ids = [rid for _, _, rid in plan]
    n_ran = 0
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, disable=mode != BAR, transient=False) as bar:
        task = bar.add_task("runs", total=len(plan))
        for i, (seed, spec, rid) in enumerate(plan, 1):
            if folder.is_done(rid):
                if lines is not None:
                    lines.resumed(i, spec.label, seed, folder.run_rows(rid))
                bar.advance(task)
                continue
            bar.update(task, description=f"{spec.label} seed {seed}")
            t0 = time.perf_counter()
            try:
                try:
                    rows, per_user = execute_run(spec, seed, rid, ctx)
                finally:
                    for key in _steps.training_keys(spec, seed):
                        ctx.release(key)
            except KeyboardInterrupt:
                log.warning("interrupted during %s seed %d (run %s); finished runs are kept", spec.label, seed, rid)
                folder.assemble(plan_ids)
                console.print("[yellow]Interrupted.[/] Finished runs are saved; re-run the same command to resume.")
                raise
            except Exception as exc:  # noqa: BLE001 - any failure of one run is recorded; the grid goes on
                error = f"{type(exc).__name__}: {exc}"
                folder.record_failure(rid, spec.label, seed, error, traceback.format_exc())
                log.error("run %s (%s seed %d) failed: %s", rid, spec.label, seed, error)
                if lines is not None:
                    lines.failed(i, spec.label, seed, error, time.perf_counter() - t0)
                else:
                    console.print(f"[red]FAILED[/] {spec.label} seed {seed}: {error}")
            else:
                folder.write_run(rid, rows, per_user)
                n_ran += 1
                log.info("run %s (%s seed %d) finished in %.1f s", rid, spec.label, seed, time.perf_counter() - t0)
                if lines is not None:
                    lines.finished(i, spec.label, seed, rows, time.perf_counter() - t0)
            folder.assemble(plan_ids)
            bar.advance(task)
    return n_ran


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


class _RunLines:
    """`pyrec evaluate`'s progress when stdout is not a terminal: one flushed line per run of the
    plan (finished, failed or found finished), e.g.
    ``[ 3/21] hybrid@cpu seed 1: ndcg@10 0.2675, 412 s (eta 41 min)``."""

    def __init__(self, n_planned: int, cfg: ExperimentConfig, n_to_run: int) -> None:
        self.n, self.width = n_planned, len(str(n_planned))
        self.metric, self.protocol = cfg.analysis.metric, cfg.protocols[0]
        self.to_run, self.times = n_to_run, []

    def start(self, out: Path, n_configs: int, n_seeds: int, done_before: int, skipped) -> None:
        """The first line (so a log shows the plan before the first run has finished) and one line
        per skipped configuration."""
        from pyrec._progress import emit

        emit(f"pyrec evaluate: {self.n} runs ({_plural(n_configs, 'configuration')} x "
             f"{_plural(n_seeds, 'seed')}), "
             f"{done_before} finished earlier, {self.to_run} to run; results in {out}")
        for s in skipped:
            emit(f"[skip] {s.config}: {' '.join(str(s.reason).split())}")

    def _emit(self, i: int, label: str, seed: int, text: str) -> None:
        from pyrec._progress import emit

        emit(f"[{i:>{self.width}}/{self.n}] {label} seed {seed}: {text}")

    def _value(self, rows: pd.DataFrame | None) -> str:
        if rows is None or rows.empty:
            return f"{self.metric} ?"
        hit = rows[(rows["metric"] == self.metric) & (rows["protocol"] == self.protocol)]
        if hit.empty:
            hit = rows[rows["metric"] == self.metric]
        return f"{self.metric} {hit['value'].iloc[0]:.4f}" if len(hit) else f"{self.metric} -"

    def _eta(self, seconds: float) -> str:
        from pyrec._progress import fmt_duration

        self.times.append(seconds)
        left = self.to_run - len(self.times)
        if left <= 0:
            return fmt_duration(seconds)
        return f"{fmt_duration(seconds)} (eta {fmt_duration(sum(self.times) / len(self.times) * left)})"

    def finished(self, i: int, label: str, seed: int, rows: pd.DataFrame, seconds: float) -> None:
        self._emit(i, label, seed, f"{self._value(rows)}, {self._eta(seconds)}")

    def failed(self, i: int, label: str, seed: int, error: str, seconds: float) -> None:
        error = " ".join(error.split())
        error = error if len(error) <= 200 else error[:197] + "..."
        self._emit(i, label, seed, f"FAILED {error}, {self._eta(seconds)}")

    def resumed(self, i: int, label: str, seed: int, rows: pd.DataFrame | None) -> None:
        self._emit(i, label, seed, f"{self._value(rows)} (finished earlier, kept)")


def evaluate(config=None, quick: bool = False, out=None, data_dir=None, seeds=None, force: bool = False,
             progress: bool = True, stats: bool = True) -> pd.DataFrame:
    """Run an experiment and return its tidy runs table (the Python/R entry point).

    From R with reticulate::

        exp <- reticulate::import("pyrec.experiment")
        runs <- exp$evaluate(quick = TRUE, out = "results/quick")   # a data.frame

    Arguments as :func:`run_experiment` (``seeds`` may be R numerics, e.g. ``c(0, 1, 2)``).

    Returns:
        pandas.DataFrame with the columns of ``runs.parquet``: one row per run x metric
        (``run_id, dataset, split, protocol, seed, architecture, model, optimization, backend,
        config, simulated, metric, value, unit``).
    """
    return run_experiment(config, quick=quick, out=out, data_dir=data_dir, seeds=seeds, force=force,
                          progress=progress, stats=stats).runs
