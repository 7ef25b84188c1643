"""Model registry: a name → ``"module:Class"`` table, imported on first use.

Add a model by adding one entry to :data:`MODELS` (or calling :func:`register_model`).
"""

from __future__ import annotations

import importlib
from pathlib import Path

from pyrec.diagnostics import param_error

__all__ = [
    "MODELS",
    "available_models",
    "get_model",
    "get_model_class",
    "load_model",
    "load_model_for_split",
    "model_architecture",
    "register_model",
]

#: model name -> "module:Class" (lazy; nothing heavy is imported until a model is asked for)
MODELS: dict[str, str] = {
    "pop": "pyrec.models.pop:PopRecommender",
    "mf": "pyrec.models.mf:MFRecommender",
    "lightgcn": "pyrec.models.lightgcn:LightGCNRecommender",
    "graphsage": "pyrec.models.graphsage:GraphSAGERecommender",
    "llm": "pyrec.models.llm:LLMRecommender",
    "hybrid": "pyrec.models.hybrid:HybridRecommender",
    "ease": "pyrec.models.ease:EASERecommender",
    "gfcf": "pyrec.models.gfcf:GFCFRecommender",
}


def available_models() -> list[str]:
    """Registered model names, sorted."""
    return sorted(MODELS)


def model_architecture(name: str) -> str:
    """The architecture level (``gnn``, ``llm``, ``hybrid``, ``baseline``) model ``name``
    declares in its class attribute ``architecture`` (the one place it is written).

    Raises:
        ConfigError: unknown model.
    """
    return str(get_model_class(name).architecture)


def register_model(name: str, target: str) -> None:
    """Register ``target`` (``"package.module:Class"``) under ``name`` (replacing any entry).

    Raises:
        ConfigError: ``target`` is not of the form ``module:Class``.
    """
    if not isinstance(target, str) or target.count(":") != 1:
        raise param_error("target", "register_model", "a 'package.module:Class' string", target)
    MODELS[str(name).lower()] = target


def get_model_class(name: str):
    """The recommender class registered as ``name`` (case-insensitive).

    Raises:
        ConfigError: unknown name (lists the registered ones), or its module cannot be imported.
    """
    key = str(name).strip().lower()
    if key not in MODELS:
        raise param_error("name", "get_model", f"one of {available_models()}", name)
    module, cls = MODELS[key].split(":")
    try:
        return getattr(importlib.import_module(module), cls)
    except (ImportError, AttributeError) as exc:
        raise param_error(
            "name", "get_model", f"a model whose module imports ({exc})", name
        ) from exc


def get_model(name: str, config=None, **kwargs):
    """Construct the model registered as ``name``: ``get_model("lightgcn", epochs=50)``.

    Args:
        name: ``pop``, ``mf``, ``lightgcn``, ``graphsage``, ``llm``, ``hybrid`` or a registered name.
        config: a config object or dict; ``kwargs`` override its fields.

    Raises:
        ConfigError: unknown name or invalid config field.
    """
    return get_model_class(name)(config, **kwargs)


def load_model(path: str | Path):
    """Load any model folder written by ``Recommender.save`` (dispatches on ``model.json``).

    Raises:
        DataError: the folder lacks ``model.json``. ConfigError: its model name is not registered.
    """
    from pyrec.models._io import read_meta

    meta = read_meta(path)
    return get_model_class(meta["model"]).load(path)


def load_model_for_split(path: str | Path, split, *, role: str = "model"):
    """Load a saved model and check that it was trained on exactly ``split.train``.

    A model trained on another split (other seed, rating filter or protocol) has seen some of
    this split's validation/test interactions; scoring or distilling it here would leak them.

    Args:
        path: a model folder (``model.json`` inside) or a ``pyrec train`` run folder (``model/``).
        split: the :class:`~pyrec.data.Split` it will be evaluated on.
        role: what the model is, for messages (e.g. ``"teacher"``, ``"--checkpoint"``).

    Returns:
        The fitted model.

    Raises:
        DataError: no saved model at ``path``.
        ConfigError: its users/items differ from the split's, or its training interactions do.
    """
    from pyrec.diagnostics import ConfigError, DataError

    path = Path(path)
    if not (path / "model.json").is_file() and (path / "model" / "model.json").is_file():
        path = path / "model"
    if not path.is_dir():
        raise DataError(f"{role} {path}: no such folder (expected a folder written by "
                        "`pyrec train --out` or Recommender.save).")
    model = load_model(path)
    shape = (split.n_users, split.n_items)
    if (model.n_users_, model.n_items_) != shape:
        raise ConfigError(f"The {role} at {path} has {model.n_users_} users x {model.n_items_} items; "
                          f"this split has {shape[0]} x {shape[1]}. Use the dataset, rating filter "
                          "and split it was trained with.")
    differ = (model.seen_.tocsr().astype(bool) != split.train.csr().astype(bool)).nnz
    if differ:
        raise ConfigError(f"The {role} at {path} was trained on other interactions than this "
                          f"split's training part ({differ} user-item pairs differ): its scores may "
                          "contain this split's validation/test items. Use the same dataset, "
                          "--min-rating, --split and --seed it was trained with.")
    return model
