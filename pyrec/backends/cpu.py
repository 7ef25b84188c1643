"""``cpu`` backend: torch on the host CPU, a chosen thread count and optional bf16 autocast."""

from __future__ import annotations

from typing import ClassVar

from pyrec.backends.base import Backend

__all__ = ["CPUBackend"]


class CPUBackend(Backend):
    """Run on the host CPU.

    Args:
        threads: intra-op threads (``torch.set_num_threads``); None keeps torch's default (the
            number of physical cores).
        dtype: ``fp32`` (default) or ``bf16`` (``torch.autocast("cpu", torch.bfloat16)``, which
            uses AMX/AVX-512-BF16 where the CPU has them and emulation otherwise).

    Always available.
    """

    name: ClassVar[str] = "cpu"
    dtypes: ClassVar[tuple[str, ...]] = ("fp32", "bf16")
