"""The one interface every hardware backend implements, and the training-step adapter.

A backend answers three questions for the rest of pyrec: *where* tensors live (``device``), *how*
arithmetic is done (``dtype`` / :meth:`Backend.autocast`, ``threads``) and *whether* the numbers
it produces are measured on real hardware or simulated (``simulated``). :meth:`Backend.describe`
returns those facts as a flat dict that every benchmark row records.
"""

from __future__ import annotations

import contextlib
import os
import platform
from typing import Any, ClassVar, Literal

from pyrec.diagnostics import BackendUnavailable, param_error

__all__ = ["Backend", "TrainStep", "hardware_info", "DTYPES"]

#: accepted precision names -> torch dtype attribute name
DTYPES: dict[str, str] = {"fp32": "float32", "bf16": "bfloat16", "fp16": "float16"}


def hardware_info() -> str:
    """One line naming the host CPU (model name from /proc/cpuinfo when readable) and core count."""
    name = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    name = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{name} ({os.cpu_count()} logical CPUs)"


class Backend:
    """Base class of the ``cpu``, ``cuda``, ``deepspeed`` and ``fpga-sim`` backends.

    Args:
        threads: intra-op CPU threads (``torch.set_num_threads``); None keeps torch's default.
        dtype: arithmetic precision, one of ``fp32`` (no autocast), ``bf16`` or ``fp16``
            (``torch.autocast`` on :attr:`device`).

    Raises:
        BackendUnavailable: from the constructor when :meth:`is_available` is false (the message
            says what is missing).
        ConfigError: ``threads`` not a positive int, ``dtype`` not in :data:`DTYPES`.
    """

    #: registry name, e.g. ``"cpu"``
    name: ClassVar[str] = "backend"
    #: True when latency figures come from a model of hardware rather than a measurement
    simulated: ClassVar[bool] = False
    #: True when a model's trainer can run its steps on this backend (``fit(backend=...)``)
    can_train: ClassVar[bool] = True
    #: True when dynamic INT8 quantization (quantized::linear_dynamic, a CPU kernel path) runs here
    runs_dynamic_int8: ClassVar[bool] = True
    #: dtypes this backend accepts
    dtypes: ClassVar[tuple[str, ...]] = tuple(DTYPES)
    #: True when training can run as several data-parallel processes (``train_and_evaluate(nproc=N)``)
    data_parallel: ClassVar[bool] = False

    def __init__(self, threads: int | None = None, dtype: Literal["fp32", "bf16", "fp16"] = "fp32") -> None:
        if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int) or threads < 1):
            raise param_error("threads", f"{type(self).__name__}", "None or an int in [1, inf)", threads)
        if dtype not in self.dtypes:
            raise param_error("dtype", f"{type(self).__name__}", f"one of {list(self.dtypes)}", dtype)
        ok, why = self.check_available()
        if not ok:
            raise BackendUnavailable(f"backend {self.name!r} is not available on this machine: {why}")
        self.threads = threads
        self.dtype = dtype
        if threads is not None:
            import torch

            torch.set_num_threads(threads)

    # ---- availability -------------------------------------------------------------------------
    @classmethod
    def check_available(cls) -> tuple[bool, str]:
        """``(True, "")`` when the backend can run here, else ``(False, reason)``."""
        return True, ""

    @classmethod
    def is_available(cls) -> bool:
        """Whether this backend can run on this machine (never raises)."""
        return cls.check_available()[0]

    # ---- placement and precision --------------------------------------------------------------
    @property
    def device(self):
        """``torch.device`` tensors are placed on."""
        import torch

        return torch.device("cpu")

    @property
    def torch_dtype(self):
        """The ``torch.dtype`` of :attr:`dtype`."""
        import torch

        return getattr(torch, DTYPES[self.dtype])

    def autocast(self):
        """Context manager: ``torch.autocast(device.type, dtype)`` for bf16/fp16, a no-op for fp32."""
        import torch

        if self.dtype == "fp32":
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.torch_dtype)

    def synchronize(self) -> None:
        """Wait for queued device work (a no-op on CPU); called around every timed call."""

    def to_device(self, obj: Any) -> Any:
        """Move a tensor or ``nn.Module`` (or anything with ``.to``) to :attr:`device`."""
        return obj.to(self.device) if hasattr(obj, "to") else obj

    # ---- training -----------------------------------------------------------------------------
    def prepare_training(self, module, optimizer, micro_batch: int | None = None) -> "TrainStep":
        """Wrap ``module`` and its ``optimizer`` for the trainer's batch loop (see :class:`TrainStep`).

        ``micro_batch`` (rows one process trains per step) is a hint for backends that record it
        (DeepSpeed's ``train_micro_batch_size_per_gpu``); this one ignores it.
        """
        return TrainStep(self.to_device(module), optimizer, self)

    # ---- data parallelism (one process here; see DeepSpeedBackend for several) -----------------
    @property
    def rank(self) -> int:
        """This process's rank among :attr:`world_size` data-parallel processes (0 here)."""
        return 0

    @property
    def world_size(self) -> int:
        """Number of data-parallel training processes (1 here)."""
        return 1

    def broadcast_from_rank0(self, values: list[float]) -> list[float]:
        """Rank 0's ``values`` on every rank (the trainer's shared decisions); identity here."""
        return [float(v) for v in values]

    def all_reduce_sum(self, values: list[float]) -> list[float]:
        """Element-wise sum of ``values`` over the ranks (e.g. an epoch's loss); identity here."""
        return [float(v) for v in values]

    # ---- reporting ----------------------------------------------------------------------------
    @property
    def label(self) -> str:
        """Human-readable backend label written to result rows (e.g. ``"cpu (fp32)"``)."""
        return f"{self.name} ({self.dtype})"

    def describe(self) -> dict[str, Any]:
        """Facts recorded in every result row.

        Returns:
            dict with ``backend``, ``backend_label``, ``device``, ``dtype``, ``threads`` (the
            effective ``torch.get_num_threads()``), ``simulated`` and ``hardware``.
        """
        import torch

        return {
            "backend": self.name,
            "backend_label": self.label,
            "device": str(self.device),
            "dtype": self.dtype,
            "threads": int(torch.get_num_threads()),
            "simulated": bool(self.simulated),
            "hardware": hardware_info(),
        }

    def __repr__(self) -> str:
        return f"{type(self).__name__}(threads={self.threads!r}, dtype={self.dtype!r})"


class TrainStep:
    """The trainer's view of one backend: ``loss = step.module(...)``, ``step.backward(loss)``, ``step.step()``.

    The same three calls drive a plain ``torch.optim`` optimizer (cpu, cuda) and a
    ``deepspeed.DeepSpeedEngine`` (whose ``backward``/``step`` handle ZeRO partitioning, loss
    scaling and gradient accumulation), so a trainer has one batch loop for every backend.

    Args:
        module: the ``nn.Module`` being trained (already on the backend's device).
        optimizer: its ``torch.optim.Optimizer``.
        backend: the owning :class:`Backend` (for ``autocast``).
    """

    def __init__(self, module, optimizer, backend: Backend) -> None:
        self.module = module
        self.optimizer = optimizer
        self.backend = backend

    def forward(self, *args, **kwargs):
        """Call the module under the backend's autocast."""
        with self.backend.autocast():
            return self.module(*args, **kwargs)

    __call__ = forward

    def backward(self, loss) -> None:
        """Back-propagate a scalar ``loss``."""
        loss.backward()

    def step(self) -> None:
        """Apply the optimizer step, then zero the gradients."""
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
