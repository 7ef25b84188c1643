"""``cuda`` backend: one NVIDIA GPU, autocast dtype, synchronized timing and CUDA peak memory."""

from __future__ import annotations

from typing import ClassVar, Literal

from pyrec.backends.base import Backend
from pyrec.diagnostics import param_error

__all__ = ["CUDABackend"]


class CUDABackend(Backend):
    """Run on CUDA device ``device_index``.

    Selected only when ``torch.cuda.is_available()``; constructing it on a machine without a GPU
    raises :class:`~pyrec.diagnostics.BackendUnavailable` naming what torch reports (CPU-only
    build, or no visible device).

    Args:
        device_index: which GPU (``cuda:<index>``), an int in [0, device_count).
        threads: host threads for CPU-side work.
        dtype: ``fp32``, ``bf16`` or ``fp16`` (``torch.autocast("cuda", dtype)``).
    """

    name: ClassVar[str] = "cuda"
    runs_dynamic_int8: ClassVar[bool] = False  # dynamic INT8 kernels (onednn/fbgemm) are CPU-only

    def __init__(
        self,
        device_index: int = 0,
        threads: int | None = None,
        dtype: Literal["fp32", "bf16", "fp16"] = "fp32",
    ) -> None:
        super().__init__(threads=threads, dtype=dtype)
        import torch

        n = torch.cuda.device_count()
        if not isinstance(device_index, int) or not 0 <= device_index < n:
            raise param_error("device_index", "CUDABackend", f"an int in [0, {n})", device_index)
        self.device_index = device_index

    @classmethod
    def check_available(cls) -> tuple[bool, str]:
        import torch

        if torch.version.cuda is None:
            return False, f"torch {torch.__version__} is a CPU-only build (torch.version.cuda is None)"
        if not torch.cuda.is_available():
            return False, "torch.cuda.is_available() is False (no visible NVIDIA GPU or driver)"
        return True, ""

    @property
    def device(self):
        import torch

        return torch.device("cuda", self.device_index)

    def synchronize(self) -> None:
        """``torch.cuda.synchronize`` on this device (timing brackets every call with it)."""
        import torch

        torch.cuda.synchronize(self.device)

    @property
    def label(self) -> str:
        import torch

        return f"cuda ({torch.cuda.get_device_name(self.device_index)}, {self.dtype})"

    def describe(self) -> dict:
        import torch

        out = super().describe()
        out["hardware"] = f"{torch.cuda.get_device_name(self.device_index)}; host {out['hardware']}"
        return out
