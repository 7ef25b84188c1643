"""The trainer: Adam on the configured objective (BPR or sampled softmax), uniform negatives,
batch-embedding L2, early stopping, checkpoints.

The batch loop follows PyG's ``examples/lightgcn.py`` (zero the gradients, step, accumulate
``float(loss)``); early stopping on a validation metric and best-state restore follow RecBole's
``Trainer.fit``. See :mod:`pyrec.train` for the contract a model implements and
:mod:`pyrec.train.objective` for the objectives (the loss is decided there, not here).
"""

from __future__ import annotations

import math
import time
import warnings
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from pyrec.diagnostics import ConfigError, DataError, DataWarning, param_error
from pyrec.train._checkpoint import CHECKPOINT_NAME, load_checkpoint, save_checkpoint
from pyrec.train.config import TrainConfig, parse_metric
from pyrec.train.objective import make_objective
from pyrec.train.sampling import NegativeSampler
from pyrec.train.seed import make_generators, make_rank_generator, resolve_device

__all__ = ["TrainResult", "Trainer", "batch_shard"]


def batch_shard(start: int, stop: int, rank: int, world_size: int) -> tuple[slice, int]:
    """The rows of the global batch ``[start, stop)`` that data-parallel rank ``rank`` trains.

    Contiguous, as even as possible (``numpy.array_split`` sizes: the first ``(stop - start) %
    world_size`` ranks get one more row), disjoint, and together the whole batch. A rank whose
    share is empty (a last batch with fewer rows than ranks) gets the batch's first row with
    weight 0 so that it still joins the gradient all-reduce.

    Returns:
        ``(rows, count)``: the slice of the epoch's rows, and how many of them are this rank's
        (0 for the weight-0 stand-in row).
    """
    size = stop - start
    lo, hi = start + size * rank // world_size, start + size * (rank + 1) // world_size
    if hi > lo:
        return slice(lo, hi), hi - lo
    return slice(start, start + 1), 0


#: settings that may differ between a checkpoint and the run that resumes it (the budget)
_RESUMABLE_CHANGES = frozenset({"epochs", "patience", "max_time_s", "device"})


@dataclass
class TrainResult:
    """What a training run did.

    Attributes:
        history: one dict per epoch: ``epoch``, ``loss`` (mean over triples), ``epoch_time_s``
            (training only, s), the validation metric (e.g. ``"ndcg@10"``) on evaluated epochs, and
            any model ``logs``.
        best_epoch: epoch whose state was restored (the last one when there is no validation).
        best_metric: its validation value (NaN without validation).
        epochs_run: epochs completed (including those before a resume).
        stopped_early: patience ran out.
        train_time_s: wall time of training plus validation, s (summed over resumed sessions).
        seconds_per_epoch: mean ``epoch_time_s`` (training only, no validation), s.
    """

    history: list = field(default_factory=list)
    best_epoch: int = 0
    best_metric: float = float("nan")
    epochs_run: int = 0
    stopped_early: bool = False
    train_time_s: float = 0.0
    seconds_per_epoch: float = float("nan")

    def to_frame(self):
        """The history as a ``pandas.DataFrame`` (one row per epoch)."""
        import pandas as pd

        return pd.DataFrame(self.history)


class Trainer:
    """Trains a module on ``split.train`` with the config's objective (BPR by default).

    Each epoch visits every distinct training (user, item) pair once in a seeded random order and
    takes Adam steps on batches of ``batch_size`` rows; the objective
    (:func:`~pyrec.train.objective.make_objective`) draws the epoch's negatives (BPR:
    ``num_negatives`` per row, never a positive of that user; softmax: ``num_negatives`` shared by
    each batch) and turns each batch into a loss. Every ``eval_every`` epochs it computes
    ``val_metric`` on ``split.valid`` (full ranking, training items masked), keeps the best state,
    and stops after ``patience`` validations without an improvement above ``min_delta``.

    Args:
        module: the ``torch.nn.Module`` to train: a :class:`~pyrec.train.BPRModule`
            (``bpr_forward``, ``scorer``) for BPR, an :class:`~pyrec.train.EmbeddingModule`
            (``embed_batch``, ``embeddings``, ``scorer``) for the sampled softmax.
        split: :class:`pyrec.data.Split`; ``valid`` may be empty (then no early stopping).
        config: :class:`TrainConfig` (or a subclass, e.g. a model config).
        checkpoint_dir: folder for ``last.pt``, written after each validation and at the end.
        resume: continue from ``checkpoint_dir/last.pt`` when it exists (same result as an
            uninterrupted run with the same seed); a run that stopped early stays stopped, one that
            reached its ``epochs`` continues when resumed with more ``epochs``.
        progress: show progress over epochs with the loss and validation metric: a tqdm bar when
            stdout is a terminal, else a flushed stdout line per epoch (at most every
            :data:`pyrec._progress.HEARTBEAT_S` s, plus one inside an epoch that long); see
            :mod:`pyrec._progress`.
        desc: the bar's (and the lines') label.
        callback: optional ``callback(trainer, record)`` after each epoch (after validation);
            it may add entries to ``record`` (the history row), e.g. a benchmark's test metric.
        backend: optional :class:`pyrec.backends.Backend`; its ``prepare_training`` wraps the
            module and optimizer and the loop calls ``step.backward(loss)`` / ``step.step()``
            under ``backend.autocast()`` (DeepSpeed: ``engine.backward`` / ``engine.step``, ZeRO
            stages 0-2; the module's ``bpr_forward`` / ``embed_batch`` is called directly, so
            ZeRO-3 parameter gathering hooks do not run). None trains with plain Adam.

    Data parallelism (a backend with ``world_size`` > 1, e.g. DeepSpeed in N processes): every
    rank shuffles the same way (the seed's generator) and trains its :func:`batch_shard` of each
    global batch of ``batch_size`` rows (``ceil(batch_size / world_size)`` rows per rank),
    drawing that shard's negatives from its own :func:`~pyrec.train.seed.make_rank_generator`
    (seed, rank, epoch). Each rank's loss is weighted by ``world_size x rows / batch rows``, so
    DeepSpeed's average of the ranks' gradients is the gradient of the global batch's mean loss
    for the negatives drawn (BPR: a mean over rows; the sampled softmax scores each shard against
    its rank's own ``num_negatives`` draw, and in-batch negatives come from the shard). The epoch
    loss is summed over the ranks. Only rank 0 validates (its value and elapsed time are
    broadcast, so every rank takes the same early-stopping and time-budget decisions) and writes
    checkpoints; resuming from a checkpoint with several processes is refused (ZeRO-1/2 optimizer
    states are partitioned over the ranks; a checkpoint holds rank 0's).

    Raises:
        ConfigError: the module lacks a method the objective calls; the loss became non-finite; a
            checkpoint to resume from belongs to another model; a checkpoint to resume with several
            processes.
        DataError: the training part is empty, or a user has every item as a positive.
    """

    def __init__(
        self,
        module,
        split,
        config: TrainConfig,
        *,
        checkpoint_dir: str | Path | None = None,
        resume: bool = False,
        progress: bool = True,
        desc: str | None = None,
        callback=None,
        backend=None,
    ) -> None:
        for attr in ("parameters", "state_dict"):
            if not callable(getattr(module, attr, None)):
                raise param_error(
                    "module",
                    "Trainer",
                    f"a torch.nn.Module with a {attr}() method",
                    type(module).__name__,
                )
        if not isinstance(config, TrainConfig):
            raise param_error("config", "Trainer", "a TrainConfig", type(config).__name__)
        self.module, self.split, self.config = module, split, config
        self.device = resolve_device(config.device)
        self.module.to(self.device)
        self.metric_family, self.metric_k = parse_metric(config.val_metric)
        self.checkpoint_dir = Path(checkpoint_dir) if checkpoint_dir is not None else None
        self.progress, self.desc = progress, desc or type(module).__name__
        self._beat = None  # a pyrec._progress.Heartbeat while fit() prints lines
        self.callback = callback

        train = split.train
        if train.n_interactions == 0:
            raise DataError("Trainer: split.train has no interactions.")
        keys = np.unique(
            np.asarray(train.users, np.int64) * split.n_items + np.asarray(train.items, np.int64)
        )
        self.users = torch.from_numpy(keys // split.n_items)
        self.items = torch.from_numpy(keys % split.n_items)
        self.sampler = NegativeSampler(self.users, self.items, split.n_items)
        self.has_valid = split.valid.n_interactions > 0
        self.objective = make_objective(config, self.sampler)
        self.objective.check_module(module, "Trainer")

        self.generator, _ = make_generators(config.seed)
        groups = (
            module.optimizer_param_groups(config.learning_rate)
            if callable(getattr(module, "optimizer_param_groups", None))
            else None
        )
        params = (
            groups if groups is not None else [p for p in module.parameters() if p.requires_grad]
        )
        self.optimizer = torch.optim.Adam(params, lr=config.learning_rate)
        # the backend (pyrec.backends) owns backward/step: a plain optimizer step on cpu/cuda,
        # DeepSpeedEngine.backward/step (ZeRO partitioning, loss scaling) on deepspeed
        if getattr(backend, "zero_stage", 0) == 3:
            raise param_error(
                "backend", "Trainer", "a backend with ZeRO stage 0, 1 or 2 (the loop calls "
                "bpr_forward / embed_batch directly, bypassing ZeRO-3 parameter gathering)", backend,
            )
        self.backend = backend
        self.rank, self.world_size = (backend.rank, backend.world_size) if backend is not None else (0, 1)
        if (self.world_size > 1 and resume and self.checkpoint_dir is not None
                and (self.checkpoint_dir / CHECKPOINT_NAME).is_file()):
            raise param_error("resume", "Trainer", "False with several data-parallel processes (a "
                              "checkpoint holds rank 0's optimizer state only)", resume)
        if self.rank != 0:  # only rank 0 writes
            self.checkpoint_dir = None
        self.train_step = (
            backend.prepare_training(module, self.optimizer, micro_batch=-(-config.batch_size // self.world_size))
            if backend is not None else None
        )

        self.epoch = 0
        self.best_metric = -math.inf
        self.best_epoch = 0
        self.best_state: dict | None = None
        self.bad_evals = 0
        self.stop = False
        self.result = TrainResult()
        if resume and self.checkpoint_dir is not None:
            state = load_checkpoint(self.checkpoint_dir)
            if state is not None:
                try:
                    self.load_state_dict(state)
                except (RuntimeError, KeyError, ValueError, ConfigError) as exc:  # another run's
                    reason = " ".join(str(exc).split())[:300]
                    raise ConfigError(
                        f"Cannot resume from {self.checkpoint_dir}/last.pt: {reason}. Remove it, or "
                        "train without resume."
                    ) from None

    # ------------------------------------------------------------------ one epoch / one validation
    def train_epoch(self) -> dict:
        """One pass over the training pairs; returns ``{"loss": mean loss, "epoch_time_s": s, ...}``."""
        t0 = time.perf_counter()
        cfg, module = self.config, self.module
        module.train()
        n = self.users.numel()
        perm = torch.randperm(n, generator=self.generator)
        users, pos = self.users[perm], self.items[perm]
        objective, world = self.objective, self.world_size
        # one process: the seed's generator, as always; several: each rank its own negatives
        neg_gen = self.generator if world == 1 else make_rank_generator(cfg.seed, self.rank, self.epoch)
        neg = objective.epoch_negatives(users, cfg.batch_size, neg_gen)
        total, logs, seen = 0.0, {}, 0
        n_batches = -(-n // cfg.batch_size)
        for batch, start in enumerate(range(0, n, cfg.batch_size), 1):
            if world == 1:
                rows, count = slice(start, start + cfg.batch_size), None
            else:
                stop = min(start + cfg.batch_size, n)
                rows, count = batch_shard(start, stop, self.rank, world)
            nb = objective.batch_negatives(neg, batch - 1, rows).to(self.device)
            ub, pb = users[rows].to(self.device), pos[rows].to(self.device)
            count = ub.shape[0] if count is None else count
            with self.backend.autocast() if self.backend is not None else nullcontext():
                loss, batch_logs = objective(module, ub, pb, nb)
            # several ranks: DeepSpeed averages their gradients, so weight each by its share
            step_loss = loss if world == 1 else loss * (world * count / (stop - start))
            if self.train_step is not None:
                self.train_step.backward(step_loss)
                self.train_step.step()
            else:
                self.optimizer.zero_grad(set_to_none=True)
                loss.backward()
                self.optimizer.step()
            value = float(loss.detach())
            if not math.isfinite(value):
                raise ConfigError(
                    f"Training diverged at epoch {self.epoch + 1} (loss={value}); the 'learning_rate' "
                    f"parameter ({cfg.learning_rate}) is probably too large."
                )
            total, seen = total + value * count, seen + count
            for key, val in (batch_logs or {}).items():
                logs[key] = logs.get(key, 0.0) + float(val) * count
            if self._beat is not None and batch < n_batches and self._beat.due():  # a long epoch
                from pyrec._progress import emit

                emit(f"{self._epoch_tag(self.epoch + 1)} {self.desc}: batch {batch}/{n_batches}, "
                     f"loss {total / max(seen, 1):.4f} so far")
        if world > 1:  # the epoch's sums over every rank's rows (the same keys on every rank)
            keys = sorted(logs)
            total, *sums = self.backend.all_reduce_sum([total, *(logs[k] for k in keys)])
            logs = dict(zip(keys, sums))
        stats = {"loss": total / n, **{k: v / n for k, v in logs.items()}}
        stats["epoch_time_s"] = time.perf_counter() - t0
        return stats

    def validate(self) -> float:
        """``val_metric`` on ``split.valid`` (full ranking, train items masked); NaN without valid data."""
        if not self.has_valid:
            return float("nan")
        from pyrec.metrics import evaluate_full_ranking

        self.module.eval()
        with torch.no_grad():
            score = self.objective.scorer(self.module)

            def score_fn(users):
                return (
                    score(torch.as_tensor(users, dtype=torch.long, device=self.device))
                    .float()
                    .cpu()
                )

            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DataWarning)
                res = evaluate_full_ranking(
                    score_fn,
                    self.split,
                    part="valid",
                    ks=(self.metric_k,),
                    metrics=(self.metric_family,),
                    batch_size=self.config.eval_batch_size,
                    model_name=self.desc,
                )
        return float(res.summary[f"{self.metric_family}@{self.metric_k}"])

    # ------------------------------------------------------------------ the loop
    def fit(self) -> TrainResult:
        """Train until ``epochs``, patience or ``max_time_s`` runs out; restore the best state.

        Returns:
            TrainResult (also kept as ``self.result``).
        """
        from tqdm.auto import tqdm

        from pyrec._progress import BAR, LINES, Heartbeat, progress_mode

        cfg, res = self.config, self.result
        name = f"{self.metric_family}@{self.metric_k}"
        mode = progress_mode(self.progress)  # a bar on a terminal, else lines (never both)
        bar = tqdm(
            total=cfg.epochs,
            initial=self.epoch,
            desc=self.desc,
            unit="epoch",
            disable=mode != BAR,
            leave=False,
            dynamic_ncols=True,
        )
        self._beat = Heartbeat() if mode == LINES else None
        first = self.epoch + 1
        try:
            while not self.stop and self.epoch < cfg.epochs:
                t0 = time.perf_counter()
                record = {"epoch": self.epoch + 1, **self.train_epoch()}
                self.epoch += 1
                evaluated = self.has_valid and (
                    self.epoch % cfg.eval_every == 0 or self.epoch == cfg.epochs
                )
                value = self.validate() if evaluated and self.rank == 0 else float("nan")
                if self.world_size > 1:  # rank 0's validation and clock decide for every rank
                    value, elapsed = self.backend.broadcast_from_rank0([value, time.perf_counter() - t0])
                    t0 = time.perf_counter() - elapsed
                if evaluated:
                    record[name] = value
                    if value > self.best_metric + cfg.min_delta or self.best_state is None:
                        self.best_metric, self.best_epoch, self.bad_evals = value, self.epoch, 0
                        self.best_state = {
                            k: v.detach().clone() for k, v in self.module.state_dict().items()
                        }
                    else:
                        self.bad_evals += 1
                res.train_time_s += time.perf_counter() - t0
                if self.callback is not None:
                    self.callback(self, record)
                res.history.append(record)
                postfix = {"loss": f"{record['loss']:.4f}"}
                if self.best_state is not None:
                    postfix[name] = f"{record.get(name, float('nan')):.4f}"
                    postfix["best"] = f"{self.best_metric:.4f}@{self.best_epoch}"
                bar.set_postfix(postfix, refresh=False)
                bar.update(1)
                if cfg.patience is not None and self.bad_evals >= cfg.patience:
                    res.stopped_early = self.stop = True
                elif cfg.max_time_s is not None and res.train_time_s >= cfg.max_time_s:
                    self.stop = True
                last = self.stop or self.epoch >= cfg.epochs
                if self._beat is not None and self._beat.due(force=self.epoch == first or last):
                    self._print_epoch(record, name)
                if self.checkpoint_dir is not None and evaluated:
                    save_checkpoint(self.state_dict(), self.checkpoint_dir)
        finally:
            bar.close()
            self._beat = None
        if self.checkpoint_dir is not None:
            save_checkpoint(self.state_dict(), self.checkpoint_dir)
        return self.finalize()

    def _epoch_tag(self, epoch: int) -> str:
        return f"[epoch {epoch:>{len(str(self.config.epochs))}}/{self.config.epochs}]"

    def _print_epoch(self, record: dict, name: str) -> None:
        """The epoch's progress line (``lines`` mode of :mod:`pyrec._progress`)."""
        from pyrec._progress import emit, fmt_duration

        parts = [f"loss {record['loss']:.4f}"]
        if name in record:
            parts.append(f"{name} {record[name]:.4f} (best {self.best_metric:.4f} at epoch {self.best_epoch})")
        parts.append(f"{fmt_duration(record['epoch_time_s'])}")
        text = f"{self._epoch_tag(self.epoch)} {self.desc}: " + ", ".join(parts)
        if self.result.stopped_early:
            text += f"; stopped early ({self.config.patience} validations without improvement)"
        elif self.stop:
            text += f"; stopped (max_time_s {self.config.max_time_s:g} s reached)"
        emit(text)

    def finalize(self) -> TrainResult:
        """Load the best state (if validated), switch to eval mode, fill and return the result."""
        if self.best_state is not None:
            self.module.load_state_dict(self.best_state)
        self.module.eval()
        res = self.result
        res.epochs_run = self.epoch
        res.best_epoch = self.best_epoch if self.best_state is not None else self.epoch
        res.best_metric = self.best_metric if self.best_state is not None else float("nan")
        times = [r["epoch_time_s"] for r in res.history]
        res.seconds_per_epoch = float(np.mean(times)) if times else float("nan")
        return res

    # ------------------------------------------------------------------ checkpoints
    def state_dict(self) -> dict:
        """Everything needed to resume: weights, optimizer, RNG, best state, counters, history."""
        res = self.result
        return {
            "epoch": self.epoch,
            "module": self.module.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "generator": self.generator.get_state(),
            "best_metric": self.best_metric,
            "best_epoch": self.best_epoch,
            "best_state": self.best_state,
            "bad_evals": self.bad_evals,
            "history": list(res.history),
            "stopped_early": res.stopped_early,
            "train_time_s": res.train_time_s,
            "config": self.config.model_dump(),
            "train_fingerprint": self._train_fingerprint(),
        }

    def _train_fingerprint(self) -> str:
        """SHA-256 of the training interactions (sorted CSR), so a resume on other data is refused."""
        import hashlib

        csr = self.split.train.csr().tocsr()
        csr.sort_indices()
        h = hashlib.sha256()
        for arr in (np.asarray(csr.shape, np.int64), csr.indptr.astype(np.int64), csr.indices.astype(np.int64)):
            h.update(arr.tobytes())
        return h.hexdigest()

    def load_state_dict(self, state: dict) -> None:
        """Restore a :meth:`state_dict` (the module must have the same architecture).

        Raises:
            ConfigError: the checkpoint was trained on other training interactions, or with other
                settings than the run budget (:data:`_RESUMABLE_CHANGES`).
        """
        saved = state.get("train_fingerprint")
        if saved is not None and saved != self._train_fingerprint():
            raise ConfigError("the checkpoint was trained on other training interactions (another "
                              "dataset, rating filter, split or seed); resuming would leak this "
                              "split's validation/test items")
        now, saved_cfg = self.config.model_dump(), state.get("config") or {}
        # a setting added after the checkpoint was written counts as its default there
        defaults = {k: f.default for k, f in type(self.config).model_fields.items()}
        changed = sorted(k for k in set(now) | set(saved_cfg)
                         if k not in _RESUMABLE_CHANGES and saved_cfg.get(k, defaults.get(k)) != now.get(k))
        if changed:
            raise ConfigError(f"the checkpoint was written with other settings {changed} (only "
                              f"{sorted(_RESUMABLE_CHANGES)} may change on resume)")
        self.module.load_state_dict(state["module"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.generator.set_state(state["generator"])
        self.epoch = int(state["epoch"])
        self.stop = bool(state["stopped_early"])  # a run that stopped early stays stopped
        self.best_metric, self.best_epoch = float(state["best_metric"]), int(state["best_epoch"])
        self.best_state, self.bad_evals = state["best_state"], int(state["bad_evals"])
        self.result = TrainResult(
            history=list(state["history"]),
            stopped_early=bool(state["stopped_early"]),
            train_time_s=float(state["train_time_s"]),
        )
