"""LLM-only recommender: items from a transformer's embedding of their text, users from their items."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from pydantic import Field
from torch import Tensor, nn

from pyrec.diagnostics import ConfigError, param_error
from pyrec.models._bpr import BPRFromEmbeddings, BPRRecommender, PairScoresFromEmbeddings
from pyrec.models._text_tower import (
    TextSettings,
    TextTower,
    build_encoder,
    check_texts,
    encode_items,
    shuffle_permutation,
    tokenize_all,
    user_mean_matrix,
)
from pyrec.train._protocol import BatchEmbeddings
from pyrec.train.config import TrainConfig

__all__ = ["LLMRec", "LLMRecConfig", "LLMRecommender"]

#: state key of the item text table (the encoder's output, float32 [n_items, d_text])
_TABLE = "tower.text_emb"


class LLMRecConfig(TrainConfig, TextSettings):
    """Settings of :class:`LLMRecommender`: the training recipe (:class:`TrainConfig`), the text
    encoder (:class:`~pyrec.models._text_tower.TextSettings`) and the fields below."""

    embedding_size: int = Field(64, ge=1)
    """Size d of the projected item/user embeddings."""
    user_offset: bool = True
    """Add a learned per-user vector to the mean of the user's item embeddings."""
    shuffle_text: bool = False
    """Control: permute the text embeddings across items (seeded), destroying the text signal."""


class LLMRec(BPRFromEmbeddings, PairScoresFromEmbeddings, nn.Module):
    r"""Text-only two-tower recommender over a (frozen or fine-tuned) sentence encoder.

    Item embeddings are a learned projection of the encoder's text embedding; a user is the mean
    of the projected embeddings of their training items plus an optional learned offset; scores
    are inner products:

    .. math::
        \mathbf{e}_i = \mathbf{W}\,\mathrm{enc}(x_i) + \mathbf{b}, \qquad
        \mathbf{e}_u = \frac{1}{|\mathcal{N}_u|}\sum_{i\in\mathcal{N}_u}\mathbf{e}_i + \mathbf{o}_u,
        \qquad \hat{y}_{ui} = \mathbf{e}_u^\top \mathbf{e}_i

    Text encoder: Sentence-BERT mean pooling (Reimers and Gurevych, EMNLP 2019,
    `arXiv:1908.10084 <https://arxiv.org/abs/1908.10084>`_); the user-as-mean-of-items tower is
    the "item-based" user model of text-based recommenders such as UniSRec's frozen-text baseline
    (Hou et al., KDD 2022, `arXiv:2206.05941 <https://arxiv.org/abs/2206.05941>`_), here trained
    with BPR (Rendle et al., UAI 2009).

    Args:
        tower (TextTower): the text view (projection, user mean, optional trainable encoder).
        n_users (int): number of users.
        user_offset (bool, optional): learn :math:`\mathbf{o}_u` (zero-initialised).
            (default: :obj:`True`)

    Shapes:
        - **bpr_forward:** users :math:`(B,)`, pos :math:`(B,)`, neg :math:`(B,)` or
          :math:`(B, n_{neg})` -> pair scores :math:`(B,)` / :math:`(B, n_{neg})`
        - **embed_batch:** users :math:`(B,)`, pos :math:`(B,)`, neg any shape -> embeddings
          :math:`(B, d)`, :math:`(B, d)`, :math:`(*neg.shape, d)`
        - **scorer()(users):** :math:`(B,)` -> :math:`(B, n_{items})`
    """

    def __init__(self, tower: TextTower, n_users: int, user_offset: bool = True) -> None:
        super().__init__()
        self.tower = tower
        d = tower.proj.out_features
        self.offset = nn.Embedding(n_users, d) if user_offset else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Xavier-uniform projection, zero bias, zero user offsets."""
        nn.init.xavier_uniform_(self.tower.proj.weight)
        nn.init.zeros_(self.tower.proj.bias)
        if self.offset is not None:
            nn.init.zeros_(self.offset.weight)

    def get_embedding(self, items: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """(users float [n_users, d], items float [n_items, d]); ``items`` re-encoded if training."""
        users, item_emb = self.tower(items)
        if self.offset is not None:
            users = users + self.offset.weight
        return users, item_emb

    def item_from_text(self, text_emb: Tensor) -> Tensor:
        """Item embeddings [n, d] of encoder embeddings [n, d_text] (new items: cold start)."""
        return self.tower.proj(text_emb)

    def embed_batch(self, users: Tensor, pos: Tensor, neg: Tensor) -> BatchEmbeddings:
        """The batch's embeddings (the batch's items re-encoded when the encoder trains); they
        are also the L2 terms (see :mod:`pyrec.train`)."""
        batch_items = torch.cat([pos.reshape(-1), neg.reshape(-1)])
        ue, ie = self.get_embedding(batch_items)
        eu, ep, en = ue[users], ie[pos], ie[neg]
        return BatchEmbeddings(eu, ep, en, (eu, ep, en))

    def scorer(self) -> Callable[[Tensor], Tensor]:
        """Closure ``users (B,) -> scores float (B, n_items)`` over cached embeddings."""
        ue, ie = self.get_embedding()
        ue, ie = ue.detach(), ie.detach()
        return lambda users: ue[users] @ ie.t()

    def optimizer_param_groups(self, learning_rate: float) -> list[dict] | None:
        """Recommender weights at ``learning_rate``; encoder weights at their own rate."""
        return _param_groups(self, learning_rate)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.tower!r}, user_offset={self.offset is not None})"


def _param_groups(module: nn.Module, learning_rate: float) -> list[dict] | None:
    tower = module.tower
    if not tower.trains_encoder:
        return None
    enc = {id(p) for p in tower.encoder.parameters()}
    rest = [p for p in module.parameters() if p.requires_grad and id(p) not in enc]
    enc_p = [p for p in tower.encoder.parameters() if p.requires_grad]
    lr_enc = getattr(module, "encoder_learning_rate", 5e-5)
    return [{"params": rest, "lr": learning_rate}, {"params": enc_p, "lr": lr_enc}]


class TextModelMixin:
    """fit / save / load plumbing shared by the text-based recommenders (LLM and hybrid)."""

    def _text_table(self, split) -> tuple[Tensor, Any, dict | None]:
        """Encode the item texts; returns (table [n_items, d_text], encoder or None, tokens)."""
        cfg = self.config
        texts = list(split.train.item_text)
        check_texts(texts, split.n_items, type(self).__name__)
        self._texts = texts
        encoder = build_encoder(cfg, device=self._device())
        table = encode_items(encoder, texts, cfg)  # cached: the untrained weights' output
        if cfg.encoder_mode == "frozen":
            tokens, trainable = None, None
        else:
            tokens, trainable = tokenize_all(encoder, texts), encoder
        self.encoder_ = encoder
        if cfg.shuffle_text:
            table = table[shuffle_permutation(len(texts), cfg.seed)]
        return table, trainable, tokens

    def _device(self) -> str:
        from pyrec.train.seed import resolve_device

        return resolve_device(self.config.device)

    def _tower(self, seen, split) -> TextTower:
        if split is not None:
            table, enc, tokens = self._text_table(split)
        else:  # load(): the table comes from the saved state
            table, enc, tokens = torch.zeros(seen.shape[1], self._text_dim), None, None
        return TextTower(table, user_mean_matrix(seen), self.config.embedding_size, enc, tokens)

    def fit(self, split, options=None, **kwargs):
        """Train with BPR (see :meth:`BPRRecommender.fit`), then merge LoRA / quantize and
        re-encode the item texts as configured (:meth:`_after_training`); returns self."""
        super().fit(split, options, **kwargs)
        self._after_training()
        return self

    def _after_training(self) -> None:
        """Freeze the tower; merge a LoRA adapter, then re-encode items with the final encoder
        (fine-tuned and/or quantized per ``inference_quantization``). When only the top blocks
        were fine-tuned, the re-encoding runs just those blocks on the cached frozen states."""
        cfg, tower = self.config, self.module_.tower
        trained = tower.trains_encoder
        tower.encoder, tower.tokens = None, None  # the tower is frozen from now on (as after load)
        enc = self.encoder_
        fresh = None
        if trained and cfg.inference_quantization == "none" and enc.block_cache_ is not None:
            fresh = enc.encode_from_block_cache()
        enc.drop_block_cache()
        if trained and cfg.encoder_mode == "lora":
            from pyrec.models.lora import merge_lora

            enc = merge_lora(enc)
        self.inference_encoder_ = enc
        if cfg.inference_quantization != "none":
            self.quantize_encoder(cfg.inference_quantization)
        elif trained:
            self._reencode_items(fresh)

    def _reencode_items(self, table: Tensor | None = None) -> None:
        """Put ``table`` (float32 [n_items, d_text]; default: every item text embedded by
        ``inference_encoder_``) into the tower's item text table and re-cache the scorer."""
        cfg = self.config
        if table is None:
            table = encode_items(self.inference_encoder_, self._texts, cfg, cached=False)
        if cfg.shuffle_text:
            table = table[shuffle_permutation(len(self._texts), cfg.seed)]
        with torch.no_grad():
            self.module_.tower.text_emb.copy_(table)
        self._cache_scorer()

    def quantize_encoder(self, method: str = "int8"):
        """Quantize the fitted model's text encoder for inference and re-embed the item texts.

        ``"int8"``: dynamic INT8 of every Linear layer
        (:func:`pyrec.models.quantization.quantize_dynamic_int8`: 8-bit activations, the oneDNN
        kernel on VNNI/AMX CPUs, smoothed inputs; CPU only); ``"bf16"``: a bfloat16 cast. The
        item table (float32 [n_items, d_text]) is re-encoded by the quantized encoder, so scores reflect it; the report of converted vs total
        Linear layers and sizes (MiB) is kept in ``quant_report_``. Called by ``fit`` when
        ``inference_quantization`` is set; call it on a fitted model to quantize afterwards (a
        LoRA-trained encoder is quantized after its adapter is merged).

        Args:
            method: ``"int8"`` or ``"bf16"``.

        Returns:
            self (``config.inference_quantization`` set to ``method``).

        Raises:
            NotFittedError: not fitted. ConfigError: bad ``method``, a model already quantized, or
                a loaded model (it keeps its item table, not the encoder). BackendUnavailable: INT8
                on a CUDA encoder (dynamic INT8 is a CPU path).
        """
        from pyrec.models.quantization import quantize_encoder

        self.check_is_fitted()
        if method not in ("int8", "bf16"):
            raise param_error("method", f"{type(self).__name__}.quantize_encoder",
                              "one of ['int8', 'bf16']", method)
        if getattr(self, "quant_report_", None) is not None:
            raise ConfigError(f"{type(self).__name__}.quantize_encoder: the encoder is already "
                              f"quantized ({self.quant_report_.method}).")
        if self.text_encoder is None:
            raise ConfigError(f"{type(self).__name__}.quantize_encoder: this model has no text "
                              "encoder (a loaded model scores from its saved item table); quantize "
                              "before saving, or set inference_quantization when fitting.")
        enc, self.quant_report_ = quantize_encoder(self.text_encoder, method)
        # a new config object (never an edit of one another model may share): it now describes
        # this model as if trained with inference_quantization=method
        self.config = self.config.model_copy(update={"inference_quantization": method})
        self.inference_encoder_ = enc
        self._reencode_items()
        return self

    @property
    def text_encoder(self):
        """The encoder that embeds item texts at inference (quantized when configured), or None
        after ``load``/unpickling (the saved model scores from its item text table)."""
        return getattr(self, "inference_encoder_", None)

    @torch.no_grad()
    def project_text(self, text_emb: Tensor) -> Tensor:
        """Map encoder embeddings of new items, float [n, d_text], to item-table space [n, d]
        (cold start: a new item is scored by ``user_emb @ project_text(enc(text)).T``)."""
        self.check_is_fitted()
        return self.module_.item_from_text(text_emb.float())

    def __getstate__(self) -> dict:
        """Pickle without the text encoders (the item text table is in ``module_``)."""
        state = super().__getstate__()
        for key in ("encoder_", "inference_encoder_"):
            state.pop(key, None)
        return state

    def _text_state(self) -> dict:
        """Module state without the encoder's weights (the text table already holds its output)."""
        return {k: v for k, v in self.module_.state_dict().items() if ".encoder." not in f".{k}"}

    def warm_start_state(self) -> dict[str, Tensor]:
        """The fitted recommender weights without the encoder and its item text table: a model
        that fine-tunes the encoder (``encoder_mode="lora"``) starts from them and embeds the
        texts with its own encoder."""
        self.check_is_fitted()
        return {k: v.detach().clone() for k, v in self._text_state().items() if k != _TABLE}

    def _load_init_state(self, state: dict, optional=None) -> None:
        """The encoder's weights and the item text table come from this model's own encoder."""
        state = {k: v for k, v in state.items() if k != _TABLE}
        super()._load_init_state(state, lambda k: k == _TABLE or ".encoder." in f".{k}")

    def save(self, path: str | Path) -> Path:
        """Write ``model.json``, ``seen.npz`` and ``state.pt`` (projection, offsets, fusion and the
        final item text table; not the encoder weights, which only produce that table)."""
        path = super().save(path)
        torch.save(self._text_state(), Path(path) / "state.pt")
        return Path(path)

    @classmethod
    def load(cls, path: str | Path):
        """Rebuild a saved model; it scores with the saved text table (no encoder is loaded)."""
        from pyrec.models._io import load_seen, read_meta

        meta = read_meta(path)
        model = cls(meta["config"])
        model.n_users_, model.n_items_ = int(meta["n_users"]), int(meta["n_items"])
        model.seen_ = load_seen(path)
        state = torch.load(Path(path) / "state.pt", map_location="cpu", weights_only=True)
        model._text_dim = int(state[_TABLE].shape[1])
        model.module_ = model.build_module(model.n_users_, model.n_items_, model.seen_, None)
        model.module_.load_state_dict(state)
        model._cache_scorer()
        return model


class LLMRecommender(TextModelMixin, BPRRecommender):
    """LLM-only recommender (:class:`LLMRec`) with the ``Recommender`` interface.

    Args:
        config (LLMRecConfig | dict, optional): settings; keyword arguments override fields, e.g.
            ``LLMRecommender(embedding_size=64, encoder_mode="lora", max_length=32, epochs=2)``.

    Attributes (after fit):
        module_ (LLMRec), encoder_ (TextEncoder), train_result_ (TrainResult),
        quant_report_ (QuantReport, with ``inference_quantization``).

    Raises:
        ConfigError: invalid settings. DataError: the dataset has no item text.
    """

    name = "llm"
    architecture = "llm"
    config_class = LLMRecConfig

    def build_module(self, n_users: int, n_items: int, seen, split=None) -> LLMRec:
        module = LLMRec(self._tower(seen, split), n_users, self.config.user_offset)
        module.encoder_learning_rate = self.config.encoder_learning_rate
        return module
