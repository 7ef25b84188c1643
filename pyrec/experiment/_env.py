"""Environment facts recorded with every experiment (``environment.json``)."""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
from datetime import datetime, timezone
from importlib import metadata

__all__ = ["environment_facts", "r_version"]

_PACKAGES = (
    "pyrec", "torch", "torch-geometric", "transformers", "peft", "deepspeed", "hls4ml", "numpy",
    "scipy", "pandas", "pyarrow", "statsmodels", "rpy2",
)


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def r_version() -> str | None:
    """``R.version.string`` of the ``Rscript`` on PATH, or None when R is not installed."""
    exe = shutil.which("Rscript")
    if exe is None:
        return None
    try:
        out = subprocess.run(
            [exe, "--vanilla", "-e", "cat(R.version.string)"], capture_output=True, text=True, timeout=30,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def environment_facts() -> dict:
    """Versions, hardware and thread settings of this process.

    Returns:
        dict with ``python``, ``platform``, ``packages`` (name -> version or None), ``cpu_model``,
        ``cpu_count`` (logical), ``affinity_cpus``, ``torch_threads``, ``thread_env`` (OMP/MKL
        variables), ``cuda`` (device names, empty without a GPU), ``memory_total_mib``,
        ``r_version`` and ``started_utc``.
    """
    import psutil
    import torch

    pkgs = {}
    for name in _PACKAGES:
        try:
            pkgs[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pkgs[name] = None
    cuda = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())] if torch.cuda.is_available() else []
    try:
        affinity = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        affinity = os.cpu_count()
    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "packages": pkgs,
        "cpu_model": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "affinity_cpus": affinity,
        "torch_threads": torch.get_num_threads(),
        "thread_env": {k: os.environ.get(k) for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "PYREC_DEVICE")},
        "cuda": cuda,
        "memory_total_mib": round(psutil.virtual_memory().total / 2**20, 1),
        "r_version": r_version(),
        "started_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
