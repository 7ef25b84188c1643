"""pyrec.optim: optimization strategies for the recommenders, each measured against the baseline.

* :mod:`pyrec.optim.quantization`: dynamic INT8 / bf16 / fp16 encoders, INT8 embedding tables.
* :mod:`pyrec.optim.lora`: LoRA adapters (peft) for the text encoder.

Names are imported lazily (PEP 562), so ``import pyrec.optim`` does not import torch or peft.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "quantization": [
        "QuantReport", "quantize_encoder", "quantize_dynamic_int8", "cast_encoder",
        "save_quantized", "load_quantized", "quantize_embeddings_int8",
        "dequantize_embeddings_int8", "int8_scores", "model_size_mib",
    ],
    "lora": [
        "LoRAConfig", "LoRAReport", "DEFAULT_TARGET_MODULES", "default_target_modules",
        "apply_lora", "save_adapter", "load_adapter", "merge_lora",
    ],
}
_WHERE = {name: mod for mod, names in _LAZY.items() for name in names}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(list(globals()) + __all__)
