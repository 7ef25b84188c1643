"""Peak memory: resident set size of this process (CPU) and CUDA peak allocation, MiB (2**20 bytes)."""

from __future__ import annotations

import resource
import sys

__all__ = ["peak_memory", "reset_peak_memory"]


def peak_memory(backend=None) -> dict[str, float]:
    """Peak memory of this process so far.

    ``peak_rss_mib`` is ``getrusage(RUSAGE_SELF).ru_maxrss`` (KiB on Linux, bytes on macOS), the
    lifetime peak of the process; ``cuda_max_allocated_mib`` is
    ``torch.cuda.max_memory_allocated`` on the backend's device (since the last
    :func:`reset_peak_memory`), present only for a CUDA device.

    Returns:
        dict of MiB values.
    """
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    out = {"peak_rss_mib": rss / (2**20 if sys.platform == "darwin" else 2**10)}
    device = getattr(backend, "device", None)
    if device is not None and getattr(device, "type", "") == "cuda":
        import torch

        out["cuda_max_allocated_mib"] = torch.cuda.max_memory_allocated(device) / 2**20
    return out


def reset_peak_memory(backend=None) -> None:
    """Reset CUDA's peak counter (RSS peaks cannot be reset; a fresh process is needed for that)."""
    device = getattr(backend, "device", None)
    if device is not None and getattr(device, "type", "") == "cuda":
        import torch

        torch.cuda.reset_peak_memory_stats(device)
