"""pyrec: fast hybrid GNN + language-model recommenders, measured honestly.

Heavy modules (torch, torch_geometric, transformers, rpy2) are imported lazily, so ``import pyrec``
and ``pyrec --help`` stay fast. The public API is re-exported here by name and loaded on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# public name -> module that defines it (loaded on first attribute access)
_LAZY = {
    "load_dataset": "pyrec.data",
    "InteractionData": "pyrec.data",
    "Split": "pyrec.data",
    "split_data": "pyrec.data",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'pyrec' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return sorted(__all__)
