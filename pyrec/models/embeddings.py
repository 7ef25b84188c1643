"""The embedding tables of a fitted dot-product recommender, as numpy arrays.

Used by the serving index (:class:`pyrec.bench.EmbeddingIndex`) and by the simulated FPGA's
dot-product head (:mod:`pyrec.backends.fpga_sim`), so both read a model's tables the same way.
"""

from __future__ import annotations

import numpy as np

from pyrec.diagnostics import ConfigError

__all__ = ["extract_embeddings", "to_numpy"]

_ATTR_PAIRS = (("user_emb_", "item_emb_"), ("user_embeddings_", "item_embeddings_"),
               ("user_embedding_", "item_embedding_"))


def to_numpy(x) -> np.ndarray:
    """A tensor, ``nn.Embedding`` or array as a C-contiguous float32 numpy array."""
    if hasattr(x, "detach"):
        x = x.detach().float().cpu().numpy()
    elif hasattr(x, "weight") and hasattr(x.weight, "detach"):  # nn.Embedding
        x = x.weight.detach().float().cpu().numpy()
    return np.ascontiguousarray(np.asarray(x, dtype=np.float32))


def extract_embeddings(model) -> tuple[np.ndarray, np.ndarray]:
    """The final user and item embedding tables of a fitted dot-product model.

    Looks for attribute pairs ``user_emb_``/``item_emb_`` (also ``*_embeddings_``, ``*_embedding_``),
    then a ``get_embedding()`` / ``embeddings()`` method of the model or of its ``module_``
    returning ``(users, items)`` or one ``[n_users + n_items, d]`` node table (users first).

    Returns:
        (user_emb float32 [n_users, d], item_emb float32 [n_items, d]).

    Raises:
        ConfigError: the model exposes no embedding tables (e.g. Pop, or a model whose score is
            not a dot product).
    """
    for ua, ia in _ATTR_PAIRS:
        if getattr(model, ua, None) is not None and getattr(model, ia, None) is not None:
            return to_numpy(getattr(model, ua)), to_numpy(getattr(model, ia))
    n_users = getattr(model, "n_users_", None)
    for owner in (model, getattr(model, "module_", None)):  # the Recommender, then its nn.Module
        for meth in ("get_embedding", "embeddings"):
            fn = getattr(owner, meth, None) if owner is not None else None
            if not callable(fn):
                continue
            import torch

            with torch.no_grad():
                out = fn()
            if isinstance(out, (tuple, list)) and len(out) == 2:
                return to_numpy(out[0]), to_numpy(out[1])
            if hasattr(out, "shape") and n_users is not None and out.shape[0] == n_users + model.n_items_:
                out = to_numpy(out)  # one node table: users first, then items (LightGCN/PyG layout)
                return np.ascontiguousarray(out[:n_users]), np.ascontiguousarray(out[n_users:])
    raise ConfigError(
        f"{type(model).__name__} exposes no user/item embedding tables (looked for attributes "
        f"{[p[0] for p in _ATTR_PAIRS]} and methods get_embedding()/embeddings()); "
        "an EmbeddingIndex serves dot-product models only."
    )
