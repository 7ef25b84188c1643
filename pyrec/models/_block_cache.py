"""Fine-tune only the top blocks of a transformer: the frozen blocks below run once per item text.

Item texts do not change while a recommender trains, so when only the top ``k`` of a text
encoder's ``n`` transformer blocks train (fully or through LoRA adapters), the hidden states that
enter block ``n - k`` are a fixed function of each item's tokens. :class:`FrozenBlockCache`
computes them once for every item (no gradient, dropout off) and, during a training step,
*replays* them: the frozen blocks are swapped for stand-ins that return the cached rows of the
step's items, and the Hugging Face model runs as usual (its embeddings and attention-mask
handling included), so only the top ``k`` blocks compute forward and backward.

This is the "frozen lower layers as a feature extractor" recipe of transfer learning (Howard and
Ruder, ACL 2018, gradual unfreezing; Houlsby et al., ICML 2019, adapters on frozen layers), with
LoRA (Hu et al., ICLR 2022) optionally on the top blocks (``peft``'s ``layers_to_transform``).

Memory: the cache holds float32 ``[n_items, L, hidden]`` (ML-100K, L = 16, MiniLM-L6: 1,682 x 16 x
384 x 4 B = 41 MiB).
"""

from __future__ import annotations

import contextlib
from typing import Any

import torch
from torch import Tensor, nn

from pyrec.diagnostics import ConfigError

__all__ = ["FrozenBlockCache", "transformer_blocks"]


def transformer_blocks(model: nn.Module) -> tuple[str, nn.ModuleList]:
    """The stack of transformer blocks of a Hugging Face encoder (e.g. BERT's ``encoder.layer``).

    Found as the first ``nn.ModuleList`` holding ``config.num_hidden_layers`` (or ``n_layers``)
    modules of one class, so BERT, RoBERTa, MPNet, ELECTRA, DistilBERT (``transformer.layer``) and
    peft-wrapped models all work.

    Args:
        model: a Hugging Face model (plain or ``peft.PeftModel``).

    Returns:
        (qualified name of the list, the ``nn.ModuleList``).

    Raises:
        ConfigError: no such list (names the model class).
    """
    cfg = getattr(model, "config", None)
    n = getattr(cfg, "num_hidden_layers", None) or getattr(cfg, "n_layers", None)
    for name, mod in model.named_modules():
        if isinstance(mod, nn.ModuleList) and len(mod) > 0 and (n is None or len(mod) == n) \
                and len({type(m) for m in mod}) == 1:
            return name, mod
    raise ConfigError(f"Cannot find the transformer blocks of {type(model).__name__} (an "
                      f"nn.ModuleList of {n} blocks); 'trainable_layers' needs them.")


class _Captured(Exception):  # noqa: N818 - control flow, not an error
    """Carries a block's output out of the forward pass that :meth:`FrozenBlockCache.fill` stops."""

    def __init__(self, output: Any) -> None:
        super().__init__()
        self.output = output


class _Replay(nn.Module):
    """Stands in for the first frozen block: returns the cached input of the first trained block."""

    def __init__(self, owner: "FrozenBlockCache") -> None:
        super().__init__()
        self._owner = [owner]  # a list, so the owner is not registered as a submodule

    def forward(self, hidden_states: Tensor, *args: Any, **kwargs: Any):
        owner = self._owner[0]
        rows = owner.states[owner.rows, : hidden_states.shape[1]].to(hidden_states)
        return (rows,) if owner.tuple_output else rows


class _Pass(nn.Module):
    """Stands in for the other frozen blocks: hands the hidden states on unchanged."""

    def __init__(self, owner: "FrozenBlockCache") -> None:
        super().__init__()
        self._owner = [owner]

    def forward(self, hidden_states: Tensor, *args: Any, **kwargs: Any):
        return (hidden_states,) if self._owner[0].tuple_output else hidden_states


class FrozenBlockCache:
    """Cached inputs of the top ``trainable`` blocks of a transformer, one row per item text.

    Args:
        model: the Hugging Face model (plain or peft-wrapped) whose lower blocks are frozen.
        trainable: number ``k`` of top blocks that train, ``1 <= k < n_blocks``.

    Attributes:
        states: float32 [n_items, L, hidden] after :meth:`fill` (None before).
        tokens: the ``(input_ids, attention_mask)`` given to :meth:`fill`, int64 [n_items, L].
        tuple_output: whether the model's blocks return tuples (transformers 4) or tensors (5).

    Raises:
        ConfigError: ``trainable`` outside ``[1, n_blocks)``.
    """

    def __init__(self, model: nn.Module, trainable: int) -> None:
        self.model = model
        _, self.blocks = transformer_blocks(model)
        n = len(self.blocks)
        if not 1 <= trainable < n:
            raise ConfigError(f"The 'trainable_layers' parameter must be in [1, {n}) for this "
                              f"{n}-block encoder (None trains every block). Got {trainable}.")
        self.n_frozen = n - trainable
        self.states: Tensor | None = None
        self.tokens: tuple[Tensor, Tensor] | None = None
        self.tuple_output = False
        self.rows: Tensor | None = None

    @torch.no_grad()
    def fill(self, input_ids: Tensor, attention_mask: Tensor, batch_size: int = 256) -> None:
        """Run the frozen blocks over every item's tokens (inference mode) and keep their output.

        Args:
            input_ids, attention_mask: int64 [n_items, L] (every item, padded to one length L).
            batch_size: items per forward pass.
        """
        def stop(_module, _args, out):  # the blocks above need not run
            raise _Captured(out)

        hook = self.blocks[self.n_frozen - 1].register_forward_hook(stop)
        was_training = self.model.training
        self.model.eval()
        parts = []
        try:
            for start in range(0, len(input_ids), batch_size):
                sl = slice(start, start + batch_size)
                try:
                    self.model(input_ids=input_ids[sl], attention_mask=attention_mask[sl])
                except _Captured as got:
                    out = got.output
                else:  # pragma: no cover - the hook always fires
                    raise ConfigError("FrozenBlockCache.fill: the frozen blocks never ran.")
                self.tuple_output = isinstance(out, tuple)
                parts.append((out[0] if self.tuple_output else out).float())
        finally:
            hook.remove()
            self.model.train(was_training)
        self.states = torch.cat(parts)
        self.tokens = (input_ids, attention_mask)

    @contextlib.contextmanager
    def replaying(self, rows: Tensor):
        """Within the block, the model's frozen blocks return the cached states of ``rows`` (int64
        [B], item indices in the order of the batch's ``input_ids``)."""
        if self.states is None:
            raise ConfigError("FrozenBlockCache.replaying: call fill() first.")
        saved = [self.blocks[i] for i in range(self.n_frozen)]
        self.rows = rows.to(self.states.device)
        for i in range(self.n_frozen):
            self.blocks[i] = _Replay(self) if i == 0 else _Pass(self)
        try:
            yield
        finally:
            for i, block in enumerate(saved):
                self.blocks[i] = block
            self.rows = None

    def trainable_block_indices(self) -> list[int]:
        """Indices of the blocks that train (the top ``k``)."""
        return list(range(self.n_frozen, len(self.blocks)))
