"""pyrec: fast hybrid GNN + language-model recommenders, measured honestly.

Heavy modules (torch, torch_geometric, transformers, rpy2) are imported lazily, so ``import pyrec``
and ``pyrec --help`` stay fast. The public API is re-exported here by name and loaded on first use.
"""

from __future__ import annotations

import os

from pyrec._lazy import attach

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
    "train_and_evaluate": "pyrec.pipeline",  # one configuration: load, split, fit, evaluate, write
    "recommend": "pyrec.pipeline",  # -> DataFrame user, rank, item, score (model or run folder)
    "score": "pyrec.pipeline",  # -> numpy [users, items]
}

__getattr__, __dir__, __all__ = attach(__name__, _LAZY, eager=["__version__"])
