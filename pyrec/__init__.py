"""pyrec: fast hybrid GNN + language-model recommenders, measured honestly.

Heavy modules (torch, torch_geometric, transformers, rpy2) are imported lazily, so ``import pyrec``
and ``pyrec --help`` stay fast. The public API is re-exported here by name and loaded on first use.
"""

from __future__ import annotations

import importlib
import os
from typing import Any

# torch's OpenMP workers busy-wait by default; on a shared 2-core machine that slows steps 10-100x.
# Set before torch is first imported (users can override it in their environment).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__version__ = "0.1.0"

# public name -> module that defines it (loaded on first attribute access)
_LAZY = {
    "load_dataset": "pyrec.data",
    "InteractionData": "pyrec.data",
    "Split": "pyrec.data",
    "split_data": "pyrec.data",
    "evaluate": "pyrec.experiment",  # -> runs DataFrame (also reticulate: pyrec$evaluate(...))
    "render_report": "pyrec.report",  # -> Path of the HTML/PDF report
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'pyrec' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return sorted(__all__)
