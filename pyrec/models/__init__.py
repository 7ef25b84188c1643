"""pyrec.models: recommenders behind one :class:`Recommender` interface (fit / score / recommend /
save / load), and a registry (:func:`get_model`).

Names load on first use, so ``import pyrec.models`` does not import torch or torch_geometric.
"""

from __future__ import annotations

from pyrec._lazy import attach
from pyrec.models.base import Recommender
from pyrec.models.registry import (
    MODELS,
    available_models,
    get_model,
    get_model_class,
    load_model,
    load_model_for_split,
    register_model,
)

_LAZY = {
    # every registered recommender class, named by the registry (one place for a new model)
    **{cls: module for module, cls in (target.split(":") for target in MODELS.values())},
    "BPRRecommender": "pyrec.models._bpr",
    "PopConfig": "pyrec.models.pop",
    "MF": "pyrec.models.mf",
    "MFConfig": "pyrec.models.mf",
    "LightGCN": "pyrec.models.lightgcn",
    "LightGCNConfig": "pyrec.models.lightgcn",
    "GraphSAGE": "pyrec.models.graphsage",
    "GraphSAGEConfig": "pyrec.models.graphsage",
    "TextEncoder": "pyrec.models.text_encoder",
    "extract_embeddings": "pyrec.models.embeddings",
}

__all__ = [
    "Recommender",
    "MODELS",
    "available_models",
    "get_model",
    "get_model_class",
    "load_model",
    "load_model_for_split",
    "register_model",
]

__getattr__, __dir__, __all__ = attach(__name__, _LAZY, eager=__all__)
