"""pyrec.optim: optimization strategies for the recommenders, each measured against the baseline.

* quantization (:mod:`pyrec.models.quantization`): dynamic INT8 / bf16 / fp16 encoders, INT8
  embedding tables;
* LoRA (:mod:`pyrec.models.lora`): adapters (peft) for the text encoder. Both act on a model's
  text encoder, so they live with the models (which use them) and are re-exported here;
* :mod:`pyrec.optim.distill`: ranking distillation of a trained teacher into a small student.
* :mod:`pyrec.optim.strategies`: which strategies a run applies (``pyrec train --quantize int8
  --lora r=8 --distill-from RUN``) and the teacher check.

Names are imported lazily (PEP 562), so ``import pyrec.optim`` does not import torch or peft.
"""

from __future__ import annotations

from pyrec._lazy import attach

_MODULES = {
    "quantization": [
        "QuantReport", "quantize_encoder", "quantize_dynamic_int8", "cast_encoder",
        "save_quantized", "load_quantized", "quantize_embeddings_int8",
        "dequantize_embeddings_int8", "int8_scores", "model_size_mib",
    ],
    "lora": [
        "LoRAConfig", "LoRAReport", "DEFAULT_TARGET_MODULES", "default_target_modules",
        "apply_lora", "save_adapter", "load_adapter", "merge_lora",
    ],
    "distill": ["DistillConfig", "DistillModule", "listwise_kd_loss", "teacher_topk"],  # distill(): pyrec.optim.distill.distill
    "strategies": ["Strategies", "apply_to_settings", "load_teacher", "parse_options",
                   "recorded_optimization"],
}
_HOME = {"quantization": "pyrec.models.quantization", "lora": "pyrec.models.lora"}
_LAZY = {name: _HOME.get(mod, f"{__name__}.{mod}") for mod, names in _MODULES.items()
         for name in names}

__getattr__, __dir__, __all__ = attach(__name__, _LAZY)
