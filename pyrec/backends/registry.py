"""Backend registry: ``get_backend("cpu" | "cuda" | "deepspeed" | "fpga-sim", **settings)``."""

from __future__ import annotations

import importlib
from typing import Any

from pyrec.diagnostics import param_error

__all__ = ["BACKENDS", "get_backend", "backend_class", "available_backends"]

#: name -> "module:Class"
BACKENDS: dict[str, str] = {
    "cpu": "pyrec.backends.cpu:CPUBackend",
    "cuda": "pyrec.backends.cuda:CUDABackend",
    "deepspeed": "pyrec.backends.deepspeed_backend:DeepSpeedBackend",
    "fpga-sim": "pyrec.backends.fpga_sim:FPGASimBackend",
}


def backend_class(name: str):
    """The Backend subclass registered as ``name``.

    Raises:
        ConfigError: unknown name.
    """
    if name not in BACKENDS:
        raise param_error("backend", "get_backend", f"one of {list(BACKENDS)}", name)
    module, cls = BACKENDS[name].split(":")
    return getattr(importlib.import_module(module), cls)


def get_backend(name: str, **settings: Any):
    """Construct backend ``name`` with its settings (e.g. ``threads=2``, ``dtype="bf16"``, ``zero_stage=1``).

    Returns:
        Backend.

    Raises:
        ConfigError: unknown name or bad setting (a setting the backend does not take names the
            accepted ones). BackendUnavailable: the backend cannot run here (message says why).
    """
    cls = backend_class(name)
    try:
        return cls(**settings)
    except TypeError as exc:
        raise param_error("settings", f"get_backend({name!r})", f"keywords among {backend_settings(name)}",
                          sorted(settings)) from exc


def backend_settings(name: str) -> list[str]:
    """The settings (constructor keywords) backend ``name`` takes, e.g. ``zero_stage``."""
    import inspect

    return [p for p in inspect.signature(backend_class(name).__init__).parameters if p != "self"]


def available_backends() -> dict[str, str]:
    """``{name: ""}`` for backends that can run here, ``{name: reason}`` for those that cannot."""
    return {name: backend_class(name).check_available()[1] for name in BACKENDS}
