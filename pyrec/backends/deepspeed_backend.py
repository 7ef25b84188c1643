"""``deepspeed`` backend: training through ``deepspeed.initialize`` (ZeRO 0-3, bf16/fp16, gradient
accumulation) on one CPU process or under DeepSpeed's own multi-GPU/multi-node launcher, and
DeepSpeed-Inference for the text encoder where CUDA is present.

No distribution code is written here: process groups, ZeRO partitioning, loss scaling and
gradient accumulation are DeepSpeed's (Rasley et al., "DeepSpeed: System Optimizations Enable
Training Deep Learning Models with Over 100 Billion Parameters", KDD 2020; ZeRO: Rajbhandari et al.,
SC 2020, arXiv:1910.02054). On a CPU-only machine DeepSpeed auto-detects its CPU accelerator
("Setting accelerator to CPU") and pyrec joins a one-process ``gloo`` group.

Launching on many GPUs: ``deepspeed --num_gpus N --module pyrec train ...``; the launcher sets
``RANK``/``LOCAL_RANK``/``WORLD_SIZE``/``MASTER_ADDR``/``MASTER_PORT`` and pyrec reads them
(:func:`distributed_env`) without overriding them (DeepSpeed 0.19's runner spells "run a module"
``--module``, not ``-m``, and adds ``--local_rank=N``, which ``pyrec`` drops). On CPUs, ``pyrec train --nproc N`` starts the
N processes itself with ``torch.multiprocessing`` (:mod:`pyrec.backends.launch`), setting the same
variables. Either way every rank trains its shard of each global batch
(:class:`pyrec.train.Trainer`) and DeepSpeed all-reduces (ZeRO-0) or reduce-scatters (ZeRO-1/2)
the gradients, averaged over the ranks.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import time
from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar, Iterable, Literal

from pyrec.backends.base import Backend, TrainStep
from pyrec.backends.launch import free_port
from pyrec.diagnostics import BackendUnavailable, param_error

__all__ = [
    "DeepSpeedBackend",
    "DeepSpeedTrainResult",
    "make_deepspeed_config",
    "distributed_env",
    "init_distributed",
    "deepspeed_train",
    "init_inference",
]

_LAUNCH_VARS = ("RANK", "LOCAL_RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")


def make_deepspeed_config(
    zero_stage: int = 0,
    dtype: Literal["fp32", "bf16", "fp16"] = "fp32",
    grad_accum: int = 1,
    micro_batch: int = 1024,
    lr: float | None = None,
    gradient_clipping: float | None = None,
    offload_optimizer: bool = False,
    steps_per_print: int = 10**9,
) -> dict[str, Any]:
    """A DeepSpeed JSON config (``deepspeed.initialize(config=...)``) for pyrec's trainers.

    Args:
        zero_stage: ZeRO stage in {0, 1, 2, 3} (0: plain data parallel; 1: optimizer states
            partitioned; 2: + gradients; 3: + parameters).
        dtype: ``fp32``, ``bf16`` (``"bf16": {"enabled": true}``) or ``fp16`` (dynamic loss
            scaling, ``"loss_scale": 0``).
        grad_accum: ``gradient_accumulation_steps``, an int >= 1.
        micro_batch: ``train_micro_batch_size_per_gpu`` (examples per process per forward).
        lr: when given, DeepSpeed builds its own Adam (``"optimizer": {"type": "Adam"}``); when
            None the caller passes a torch optimizer to ``deepspeed.initialize`` (pyrec's default,
            which needs no compiled DeepSpeed op on CPU) and ``zero_allow_untested_optimizer`` is set.
        gradient_clipping: max global grad norm, or None.
        offload_optimizer: ZeRO-Offload of optimizer states to CPU (stage >= 1).
        steps_per_print: DeepSpeed's progress print interval (large = quiet).

    Returns:
        dict: the config; ``train_batch_size`` is left for DeepSpeed to derive as
        ``micro_batch * grad_accum * world_size``.

    Raises:
        ConfigError: a value outside the ranges above.
    """
    owner = "make_deepspeed_config"
    if zero_stage not in (0, 1, 2, 3) or isinstance(zero_stage, bool):
        raise param_error("zero_stage", owner, "one of [0, 1, 2, 3]", zero_stage)
    if dtype not in ("fp32", "bf16", "fp16"):
        raise param_error("dtype", owner, "one of ['fp32', 'bf16', 'fp16']", dtype)
    for pname, val in (("grad_accum", grad_accum), ("micro_batch", micro_batch)):
        if isinstance(val, bool) or not isinstance(val, int) or val < 1:
            raise param_error(pname, owner, "an int in [1, inf)", val)
    if lr is not None and not (isinstance(lr, (int, float)) and lr > 0):
        raise param_error("lr", owner, "None or a float in (0, inf)", lr)
    if offload_optimizer and zero_stage == 0:
        raise param_error("offload_optimizer", owner, "False when zero_stage is 0 (ZeRO-Offload needs stage >= 1)", True)
    zero: dict[str, Any] = {"stage": int(zero_stage)}
    if offload_optimizer:
        zero["offload_optimizer"] = {"device": "cpu"}
    cfg: dict[str, Any] = {
        "train_micro_batch_size_per_gpu": int(micro_batch),
        "gradient_accumulation_steps": int(grad_accum),
        "zero_optimization": zero,
        "steps_per_print": int(steps_per_print),
        "wall_clock_breakdown": False,
    }
    if dtype == "bf16":
        cfg["bf16"] = {"enabled": True}
    elif dtype == "fp16":
        cfg["fp16"] = {"enabled": True, "loss_scale": 0, "initial_scale_power": 16}
    if lr is not None:
        cfg["optimizer"] = {"type": "Adam", "params": {"lr": float(lr)}}
    else:
        cfg["zero_allow_untested_optimizer"] = True
    if gradient_clipping is not None:
        cfg["gradient_clipping"] = float(gradient_clipping)
    return cfg


def distributed_env() -> dict[str, Any]:
    """Rank facts for this process, setting a one-process rendezvous when no launcher did.

    Under ``deepspeed``/``torchrun`` (``WORLD_SIZE`` already in the environment) nothing is
    changed. Otherwise sets ``MASTER_ADDR=127.0.0.1``, ``MASTER_PORT=<a free port>``, ``RANK=0``,
    ``WORLD_SIZE=1``, ``LOCAL_RANK=0``.

    Returns:
        dict ``{"launched": bool, "rank": int, "local_rank": int, "world_size": int}``.
    """
    launched = "WORLD_SIZE" in os.environ
    if not launched:
        os.environ.setdefault("MASTER_ADDR", "127.0.0.1")
        os.environ.setdefault("MASTER_PORT", str(free_port()))
        os.environ.update(RANK="0", WORLD_SIZE="1", LOCAL_RANK="0")
    return {
        "launched": launched,
        "rank": int(os.environ.get("RANK", 0)),
        "local_rank": int(os.environ.get("LOCAL_RANK", 0)),
        "world_size": int(os.environ.get("WORLD_SIZE", 1)),
    }


def init_distributed(dist_backend: str | None = None, timeout_s: float | None = None) -> dict[str, Any]:
    """Join (or create) the process group through ``deepspeed.init_distributed``; idempotent.

    Args:
        dist_backend: ``gloo``, ``nccl``, ... ; None picks ``nccl`` when CUDA is available and
            ``gloo`` otherwise.
        timeout_s: seconds a collective (or the rendezvous) may wait for the other ranks before it
            raises instead of hanging (``init_process_group(timeout=...)``, torch.distributed
            docs); None keeps DeepSpeed's default (``deepspeed.constants.default_pg_timeout``:
            10 min, or ``$DEEPSPEED_TIMEOUT`` minutes).

    Returns:
        :func:`distributed_env`'s dict plus ``"dist_backend"``.
    """
    import datetime

    import deepspeed
    import torch

    env = distributed_env()
    if dist_backend is None:
        dist_backend = "nccl" if torch.cuda.is_available() else "gloo"
    if not (torch.distributed.is_available() and torch.distributed.is_initialized()):
        extra = {} if timeout_s is None else {"timeout": datetime.timedelta(seconds=float(timeout_s))}
        deepspeed.init_distributed(dist_backend=dist_backend, verbose=False, **extra)
    return {**env, "dist_backend": dist_backend}


class _EngineStep(TrainStep):
    """:class:`TrainStep` over a ``DeepSpeedEngine`` (``engine.backward`` / ``engine.step``)."""

    def __init__(self, engine, backend: Backend) -> None:
        super().__init__(engine, engine.optimizer, backend)
        self.engine = engine

    def forward(self, *args, **kwargs):
        return self.engine(*args, **kwargs)

    __call__ = forward

    def backward(self, loss) -> None:
        self.engine.backward(loss)

    def step(self) -> None:
        # steps the optimizer only at gradient-accumulation boundaries; zeroes gradients itself
        self.engine.step()


class DeepSpeedBackend(Backend):
    """Train with DeepSpeed; serve like ``cuda`` (on a GPU) or ``cpu``.

    Args:
        zero_stage, grad_accum, micro_batch, gradient_clipping, offload_optimizer: see
            :func:`make_deepspeed_config`.
        dtype: ``fp32``, ``bf16`` or ``fp16`` (DeepSpeed's mixed precision, not autocast).
        dist_backend: process-group backend (default ``gloo`` on CPU, ``nccl`` on CUDA).
        threads: intra-op CPU threads.
        dist_timeout_s: seconds a collective waits for the other ranks before raising
            (:func:`init_distributed`); None: DeepSpeed's default.

    Data parallelism: :attr:`rank` / :attr:`world_size` come from the process group once joined,
    before that from ``RANK`` / ``WORLD_SIZE`` (set by ``deepspeed``/``torchrun`` or by
    :func:`pyrec.backends.launch.run_data_parallel`); 0 / 1 when neither is set.

    Raises:
        BackendUnavailable: the ``deepspeed`` package is not installed (``pip install pyrec[deepspeed]``).
    """

    name: ClassVar[str] = "deepspeed"
    data_parallel: ClassVar[bool] = True

    def __init__(
        self,
        zero_stage: int = 0,
        dtype: Literal["fp32", "bf16", "fp16"] = "fp32",
        grad_accum: int = 1,
        micro_batch: int = 1024,
        gradient_clipping: float | None = None,
        offload_optimizer: bool = False,
        dist_backend: str | None = None,
        threads: int | None = None,
        dist_timeout_s: float | None = None,
    ) -> None:
        if dist_timeout_s is not None and not (isinstance(dist_timeout_s, (int, float)) and dist_timeout_s > 0):
            raise param_error("dist_timeout_s", "DeepSpeedBackend", "None or a float in (0, inf)", dist_timeout_s)
        super().__init__(threads=threads, dtype=dtype)
        self.config = make_deepspeed_config(
            zero_stage=zero_stage, dtype=dtype, grad_accum=grad_accum, micro_batch=micro_batch,
            gradient_clipping=gradient_clipping, offload_optimizer=offload_optimizer,
        )
        self.zero_stage = zero_stage
        self.dist_backend = dist_backend
        self.dist_timeout_s = dist_timeout_s

    @classmethod
    def check_available(cls) -> tuple[bool, str]:
        if importlib.util.find_spec("deepspeed") is None:
            return False, "the 'deepspeed' package is not installed (pip install 'pyrec[deepspeed]')"
        return True, ""

    @property
    def device(self):
        import torch

        if torch.cuda.is_available():
            return torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
        return torch.device("cpu")

    def autocast(self):
        import contextlib

        return contextlib.nullcontext()  # DeepSpeed casts the module itself (bf16/fp16 config)

    def synchronize(self) -> None:
        import torch

        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)

    def prepare_training(self, module, optimizer, micro_batch: int | None = None) -> TrainStep:
        """Join the process group, then ``deepspeed.initialize(model=module, optimizer=optimizer,
        config=...)``; ``micro_batch`` (rows per rank per step), when given, replaces the config's
        ``train_micro_batch_size_per_gpu`` (DeepSpeed then derives ``train_batch_size`` =
        micro_batch x grad_accum x world_size)."""
        import deepspeed

        init_distributed(self.dist_backend, self.dist_timeout_s)
        config = dict(self.config)
        if micro_batch is not None:
            config["train_micro_batch_size_per_gpu"] = int(micro_batch)
        engine, _, _, _ = deepspeed.initialize(model=module, optimizer=optimizer, config=config)
        return _EngineStep(engine, self)

    @staticmethod
    def _group_ready() -> bool:
        import torch

        return torch.distributed.is_available() and torch.distributed.is_initialized()

    @property
    def rank(self) -> int:
        if self._group_ready():
            import torch

            return int(torch.distributed.get_rank())
        return int(os.environ.get("RANK", 0))

    @property
    def world_size(self) -> int:
        if self._group_ready():
            import torch

            return int(torch.distributed.get_world_size())
        return int(os.environ.get("WORLD_SIZE", 1))

    def _collective(self, values: list[float], op: str) -> list[float]:
        """``deepspeed.comm.broadcast(src=0)`` / ``all_reduce(SUM)`` of a float64 tensor of ``values``."""
        if self.world_size == 1:
            return [float(v) for v in values]
        import deepspeed.comm as dist
        import torch

        device = self.device if self.device.type == "cuda" else torch.device("cpu")  # nccl: CUDA tensors
        t = torch.tensor([float(v) for v in values], dtype=torch.float64, device=device)
        if op == "broadcast":
            dist.broadcast(t, src=0)
        else:
            dist.all_reduce(t)
        return t.cpu().tolist()

    def broadcast_from_rank0(self, values: list[float]) -> list[float]:
        return self._collective(values, "broadcast")

    def all_reduce_sum(self, values: list[float]) -> list[float]:
        return self._collective(values, "all_reduce")

    @property
    def label(self) -> str:
        return f"deepspeed (ZeRO-{self.zero_stage}, {self.dtype}, {self.device.type})"

    def describe(self) -> dict:
        out = super().describe()
        out["zero_stage"] = self.zero_stage
        out["world_size"] = self.world_size
        return out


@dataclass
class DeepSpeedTrainResult:
    """What :func:`deepspeed_train` returns.

    Attributes:
        losses: float per optimizer-visible micro-step (the loss of each batch), in order.
        epoch_losses: mean loss per epoch.
        epoch_seconds: wall time per epoch (s).
        engine: the ``deepspeed.DeepSpeedEngine`` (``engine.module`` is the trained model).
        config: the DeepSpeed config used.
    """

    losses: list[float] = field(default_factory=list)
    epoch_losses: list[float] = field(default_factory=list)
    epoch_seconds: list[float] = field(default_factory=list)
    engine: Any = None
    config: dict = field(default_factory=dict)


def deepspeed_train(
    model,
    batches: Iterable | Callable[[int], Iterable],
    config: dict | None = None,
    *,
    loss_fn: Callable | None = None,
    epochs: int = 1,
    optimizer=None,
    lr: float = 1e-2,
    dist_backend: str | None = None,
    quiet: bool = True,
) -> DeepSpeedTrainResult:
    """Train ``model`` with ``deepspeed.initialize`` (one process, or one rank under the launcher).

    Args:
        model: ``torch.nn.Module``.
        batches: an iterable of batches (tuples of tensors), re-iterated every epoch, or a
            callable ``epoch -> iterable`` (e.g. fresh negative samples each epoch).
        config: a :func:`make_deepspeed_config` dict (default: ZeRO-0, fp32, micro-batch 1024).
        loss_fn: ``loss_fn(engine, batch) -> scalar loss``; default ``engine(*batch)`` (the
            module's forward returns the loss).
        epochs: passes over ``batches``.
        optimizer: a torch optimizer over ``model.parameters()``; default ``torch.optim.Adam(lr)``
            unless the config names its own optimizer.
        lr: learning rate of the default Adam.
        dist_backend: see :func:`init_distributed`.
        quiet: lower DeepSpeed's logger to WARNING.

    Returns:
        DeepSpeedTrainResult.

    Raises:
        BackendUnavailable: deepspeed not installed. ConfigError: ``epochs`` < 1.
    """
    if importlib.util.find_spec("deepspeed") is None:
        raise BackendUnavailable("deepspeed_train needs the 'deepspeed' package (pip install 'pyrec[deepspeed]')")
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise param_error("epochs", "deepspeed_train", "an int in [1, inf)", epochs)
    import deepspeed
    import torch

    if quiet:
        from deepspeed.utils import logger as ds_logger

        ds_logger.setLevel(logging.WARNING)
    config = dict(config) if config is not None else make_deepspeed_config()
    init_distributed(dist_backend)
    if optimizer is None and "optimizer" not in config:
        optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    engine, _, _, _ = deepspeed.initialize(
        model=model, optimizer=optimizer, model_parameters=None if optimizer is not None else model.parameters(),
        config=config,
    )
    out = DeepSpeedTrainResult(engine=engine, config=config)
    for epoch in range(epochs):
        t0 = time.perf_counter()
        it = batches(epoch) if callable(batches) else batches
        total, n = 0.0, 0
        engine.train()
        for batch in it:
            batch = tuple(b.to(engine.device) if hasattr(b, "to") else b for b in batch)
            loss = loss_fn(engine, batch) if loss_fn is not None else engine(*batch)
            engine.backward(loss)
            engine.step()
            value = float(loss.detach())
            out.losses.append(value)
            total, n = total + value, n + 1
        out.epoch_seconds.append(time.perf_counter() - t0)
        out.epoch_losses.append(total / max(n, 1))
    engine.eval()
    return out


def init_inference(encoder, dtype: Literal["fp32", "bf16", "fp16"] = "fp16", tp_size: int | None = None):
    """Wrap a text encoder with DeepSpeed-Inference (``deepspeed.init_inference``); CUDA only.

    Args:
        encoder: ``torch.nn.Module`` (e.g. ``pyrec.models.TextEncoder``).
        dtype: inference precision.
        tp_size: tensor-parallel degree (default ``WORLD_SIZE``).

    Returns:
        ``deepspeed.InferenceEngine`` (call it like the module; ``.module`` is the wrapped model).

    Raises:
        BackendUnavailable: no CUDA device (DeepSpeed-Inference kernels and tensor parallelism
            are GPU-only; on CPU use the ``cpu`` backend or ``pyrec.optim.quantize_encoder``).
    """
    import torch

    if not torch.cuda.is_available():
        raise BackendUnavailable(
            "DeepSpeed-Inference (deepspeed.init_inference) needs a CUDA GPU; torch.cuda.is_available() is False. "
            "Serve the text encoder with the 'cpu' backend (optionally INT8 via pyrec.optim.quantize_encoder)."
        )
    import deepspeed

    env = init_distributed(None)
    return deepspeed.init_inference(
        encoder,
        config={
            "dtype": getattr(torch, {"fp32": "float32", "bf16": "bfloat16", "fp16": "float16"}[dtype]),
            "tensor_parallel": {"tp_size": int(tp_size or env["world_size"])},
            "replace_with_kernel_inject": False,
        },
    )
