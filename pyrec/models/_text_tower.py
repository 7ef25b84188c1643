"""The text view shared by the LLM-only and hybrid recommenders.

Item texts are embedded by a :class:`~pyrec.models.text_encoder.TextEncoder` (frozen and cached by
default), projected to the recommender's size ``d``, and users are the mean of their training
items' projected embeddings. With a trainable encoder (``"full"`` or ``"lora"``) each training step
re-encodes the texts of the batch's items with gradients; the rest of the table is a memory bank
of the latest embeddings (no gradient), refreshed row by row as items are re-encoded.
"""

from __future__ import annotations

import warnings
from typing import Any, Literal

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field, PositiveInt, model_validator
from torch import Tensor, nn

from pyrec.diagnostics import ConfigError, DataError, param_error
from pyrec.models.lora import LoRAConfig

__all__ = [
    "TextSettings",
    "TextTower",
    "build_encoder",
    "encode_items",
    "shuffle_permutation",
    "user_mean_matrix",
]


class TextSettings(BaseModel):
    """Text-encoder settings of the LLM and hybrid recommenders (mixed into their configs)."""

    model_config = ConfigDict(extra="forbid", protected_namespaces=(), use_attribute_docstrings=True)

    model_path: str | None = None
    """Local Hugging Face encoder folder; None = the bundled all-MiniLM-L6-v2."""
    max_length: PositiveInt = 32
    """Tokens kept per item text (keep small when fine-tuning on CPU)."""
    encoder_mode: Literal["frozen", "full", "lora"] = "frozen"
    """"frozen": cached embeddings; "full"/"lora": fine-tuned end to end with the recommender."""
    lora: LoRAConfig = Field(default_factory=LoRAConfig)
    """LoRA rank, alpha, dropout and target modules (``encoder_mode="lora"``)."""
    trainable_layers: PositiveInt | None = None
    """Fine-tune (full or LoRA) only the top N transformer blocks; the blocks below are frozen and
    run once per item text (their output is cached for the fit), so a step computes only the top N
    blocks forward and backward. None = every block."""
    encoder_learning_rate: float = Field(5e-5, gt=0)
    """Adam learning rate of the encoder's trainable weights (full or LoRA fine-tuning)."""
    inference_quantization: Literal["none", "int8", "bf16"] = "none"
    """Re-encode item texts after training with an INT8 (dynamic, CPU) or bf16 encoder."""
    text_batch_size: PositiveInt = 128
    """Texts per encoder forward pass when embedding the whole catalogue."""
    cache_dir: str | None = None
    """Embedding cache folder (frozen mode); None = ``$PYREC_CACHE_DIR/embeddings``."""

    @model_validator(mode="after")
    def _layers_need_fine_tuning(self):
        if self.trainable_layers is not None and self.encoder_mode == "frozen":
            raise ValueError(f"trainable_layers={self.trainable_layers} needs encoder_mode 'full' or "
                             "'lora' (a frozen encoder trains no block)")
        return self


def build_encoder(settings: TextSettings, device: str = "cpu"):
    """A :class:`TextEncoder` for ``settings`` (weights read from the local folder only)."""
    from pyrec.models.text_encoder import TextEncoder

    return TextEncoder(model_path=settings.model_path, max_length=settings.max_length,
                       trainable=settings.encoder_mode, lora=settings.lora,
                       trainable_layers=settings.trainable_layers,
                       batch_size=settings.text_batch_size, device=device)


def encode_items(encoder, texts: list[str], settings: TextSettings, *, cached: bool = True,
                 show_progress: bool = False) -> Tensor:
    """Embed all item texts: float32 [n_items, d_text] on CPU (cached when ``cached``)."""
    if cached:
        return encoder.encode_cached(texts, settings.cache_dir, show_progress=show_progress)
    return encoder.encode(texts, show_progress=show_progress)


def check_texts(texts: list[str], n_items: int, owner: str) -> None:
    """Raise :class:`DataError` unless ``texts`` holds one string per item and some are non-empty."""
    if len(texts) != n_items:
        raise DataError(f"{owner}: split.train.item_text has {len(texts)} entries for {n_items} "
                        "items; the dataset must give one text per item.")
    if not any(t.strip() for t in texts):
        raise DataError(f"{owner}: every item text of dataset is empty; a text model needs "
                        "item text (InteractionData.item_text).")


def shuffle_permutation(n_items: int, seed: int) -> Tensor:
    """Seeded random permutation of ``[0, n_items)`` (the shuffled-text control), int64 [n_items]."""
    gen = torch.Generator().manual_seed(int(seed) + 7919)
    return torch.randperm(n_items, generator=gen)


def user_mean_matrix(seen) -> tuple[Tensor, Tensor]:
    r"""Row-normalised user–item matrix :math:`\mathbf{D}_u^{-1}\mathbf{R}` and its transpose (CSR).

    Args:
        seen: ``scipy.sparse`` binary [n_users, n_items] training interactions.

    Returns:
        (torch sparse CSR float32 [n_users, n_items], its transpose [n_items, n_users]); rows of
        users without items are all zero.
    """
    import scipy.sparse as sp

    deg = np.asarray(seen.sum(axis=1)).reshape(-1).astype(np.float32)
    mat = sp.diags(1.0 / np.maximum(deg, 1.0)) @ seen.tocsr().astype(np.float32)

    def to_torch(m) -> Tensor:
        m = sp.csr_matrix(m, dtype=np.float32)
        m.sort_indices()
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*[Ss]parse.*")
            return torch.sparse_csr_tensor(torch.from_numpy(m.indptr.astype(np.int64)),
                                           torch.from_numpy(m.indices.astype(np.int64)),
                                           torch.from_numpy(m.data), size=m.shape)

    return to_torch(mat), to_torch(mat.T)


class TextTower(nn.Module):
    r"""Projected item-text embeddings and users as the mean of their training items.

    .. math::
        \mathbf{z}_i = \mathbf{W} \mathbf{t}_i + \mathbf{b}, \qquad
        \mathbf{z}_u = \mathbf{W} \bar{\mathbf{t}}_u + \mathbf{b}
        = \frac{1}{|\mathcal{N}_u|} \sum_{i \in \mathcal{N}_u} \mathbf{z}_i, \qquad
        \bar{\mathbf{t}}_u = \frac{1}{|\mathcal{N}_u|} \sum_{i \in \mathcal{N}_u} \mathbf{t}_i

    where :math:`\mathbf{t}_i` is the encoder's embedding of item :math:`i`'s text and
    :math:`\mathcal{N}_u` the user's training items (a user without items gets
    :math:`\mathbf{z}_u = \mathbf{b}`). With a frozen encoder :math:`\bar{\mathbf{t}}_u` is
    computed once (one sparse product) and reused until the table changes.

    Args:
        text_emb (Tensor): float32 [n_items, d_text], the encoder's item embeddings.
        user_items (tuple): :func:`user_mean_matrix` output (CSR [n_users, n_items] and transpose).
        embedding_size (int): output size :math:`d`.
        encoder (TextEncoder, optional): trainable encoder (``"full"`` / ``"lora"``); None = frozen.
        tokens (dict, optional): ``input_ids`` / ``attention_mask`` int64 [n_items, L] of every item
            (needed with ``encoder``).

    Shapes:
        - **output of forward:** users :math:`(n_{users}, d)`, items :math:`(n_{items}, d)`
    """

    def __init__(self, text_emb: Tensor, user_items: Tensor, embedding_size: int,
                 encoder: Any = None, tokens: dict | None = None) -> None:
        super().__init__()
        if encoder is not None and tokens is None:
            raise ConfigError("TextTower needs 'tokens' of every item when an encoder trains.")
        self.register_buffer("text_emb", text_emb.float().clone())
        self.user_items = user_items
        self._user_text: tuple[int, Tensor] | None = None  # (text_emb version, mean text)
        self.proj = nn.Linear(text_emb.shape[1], embedding_size)
        self.encoder = encoder
        self.tokens = tokens

    @property
    def trains_encoder(self) -> bool:
        """True when the encoder is fine-tuned (full or LoRA)."""
        return self.encoder is not None

    def text_table(self, items: Tensor | None = None) -> Tensor:
        """Item text embeddings [n_items, d_text]; rows ``items`` re-encoded with gradients.

        Only in training mode with a trainable encoder; the memory bank rows are updated in place.
        """
        if not (self.trains_encoder and self.training and items is not None):
            return self.text_emb
        items = torch.unique(items)
        mask = self.tokens["attention_mask"][items]
        length = int(mask.sum(1).max())
        fresh = self.encoder(self.tokens["input_ids"][items, :length], mask[:, :length],
                             rows=items).float()
        table = self.text_emb.index_put((items,), fresh)
        with torch.no_grad():
            self.text_emb[items] = fresh.detach()
        return table

    def user_text(self, table: Tensor) -> Tensor:
        """Mean text embedding of each user's training items, float [n_users, d_text]."""
        from pyrec.models._graph import sparse_propagate

        mat, mat_t = (m.to(table.device) for m in self.user_items)
        if table.requires_grad:
            return sparse_propagate(mat, table, mat_t)
        version = self.text_emb._version
        if self._user_text is None or self._user_text[0] != version or \
                self._user_text[1].device != table.device:
            self._user_text = (version, torch.sparse.mm(mat, table))
        return self._user_text[1]

    def forward(self, items: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """(user_z float [n_users, d], item_z float [n_items, d]); ``items`` as in :meth:`text_table`."""
        table = self.text_table(items)
        return self.proj(self.user_text(table)), self.proj(table)

    @torch.no_grad()
    def refresh(self, texts: list[str], settings: TextSettings, encoder: Any = None) -> None:
        """Re-encode every item text (no gradient) into the table, e.g. after fine-tuning or with
        a quantized encoder for inference. ``encoder`` defaults to the tower's own."""
        enc = encoder if encoder is not None else self.encoder
        if enc is None:
            raise param_error("encoder", "TextTower.refresh", "a TextEncoder", None)
        self.text_emb.copy_(encode_items(enc, texts, settings, cached=False).to(self.text_emb))

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(text_dim={self.proj.in_features}, "
                f"d={self.proj.out_features}, trains_encoder={self.trains_encoder})")


def tokenize_all(encoder, texts: list[str]) -> dict[str, Tensor]:
    """Tokenize every item text once, padded to the encoder's ``max_length``: int64 [n_items, L].

    When the encoder trains only its top blocks (``trainable_layers``), the frozen blocks' output
    for these tokens is computed here, once (:meth:`TextEncoder.cache_frozen_blocks`)."""
    batch = encoder.tokenizer(list(texts), padding="max_length", truncation=True,
                              max_length=encoder.config.max_length, return_tensors="pt")
    tokens = {k: batch[k].to(encoder.config.device) for k in ("input_ids", "attention_mask")}
    encoder.cache_frozen_blocks(tokens["input_ids"], tokens["attention_mask"])
    return tokens
