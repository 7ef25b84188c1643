"""LightGCN on the user–item bipartite graph, propagated with one sparse product per layer."""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from torch import Tensor, nn

from pyrec.models._bpr import BPRRecommender
from pyrec.models._graph import (
    NodeEmbeddingScoring,
    SparseAdjacency,
    bipartite_edge_index,
    normalized_adjacency,
)
from pyrec.train.config import TrainConfig

__all__ = ["LightGCN", "LightGCNConfig", "LightGCNRecommender"]


class LightGCN(NodeEmbeddingScoring, nn.Module):
    r"""The LightGCN model from `"LightGCN: Simplifying and Powering Graph Convolution Network for
    Recommendation" <https://arxiv.org/abs/2002.02126>`_ (He et al., SIGIR 2020).

    Embeddings are propagated over the symmetrically normalised bipartite graph and the layers are
    averaged:

    .. math::
        \mathbf{E}^{(k+1)} = \hat{\mathbf{A}}\,\mathbf{E}^{(k)}, \qquad
        \hat{\mathbf{A}} = \mathbf{D}^{-1/2}\mathbf{A}\mathbf{D}^{-1/2}, \qquad
        \mathbf{E} = \sum_{k=0}^{K} \alpha_k \mathbf{E}^{(k)}, \quad \alpha_k = \frac{1}{K+1}

    and :math:`\hat y_{ui} = \mathbf{e}_u^\top \mathbf{e}_i`. Each propagation is one sparse
    CSR × dense product (``propagation="spmm"``, gradient through the same symmetric matrix) or
    PyG's :class:`~torch_geometric.nn.conv.LGConv` on the same CSR adjacency
    (``propagation="lgconv"``); both give the same numbers.

    Args:
        n_users (int): number of users. n_items (int): number of items.
        adjacency (SparseAdjacency): :math:`\hat{\mathbf{A}}` over ``n_users + n_items`` nodes
            (users first), from :func:`~pyrec.models._graph.normalized_adjacency` with ``kind="sym"``.
        embedding_size (int, optional): :math:`d`. (default: ``64``)
        num_layers (int, optional): :math:`K`. (default: ``2``)
        propagation (str, optional): ``"spmm"`` or ``"lgconv"``. (default: ``"spmm"``)
        init_std (float, optional): std of the normal initialisation of :math:`\mathbf{E}^{(0)}`
            (as the authors' PyTorch code). (default: ``0.1``)

    Shapes:
        - **get_embedding:** -> ``(n_users + n_items, d)``
        - **bpr_forward:** users ``(B,)``, pos ``(B,)``, neg ``(B,)`` or ``(B, n)`` -> scores
        - **scorer()(users):** ``(B,)`` -> ``(B, n_items)``
    """

    def __init__(
        self,
        n_users: int,
        n_items: int,
        adjacency: SparseAdjacency,
        embedding_size: int = 64,
        num_layers: int = 2,
        propagation: str = "spmm",
        init_std: float = 0.1,
    ) -> None:
        super().__init__()
        from torch_geometric.nn import LGConv

        self.n_users, self.n_items, self.num_layers = n_users, n_items, num_layers
        self.propagation, self.init_std = propagation, init_std
        self.adjacency = adjacency
        self.embedding = nn.Embedding(n_users + n_items, embedding_size)
        self.convs = nn.ModuleList([LGConv(normalize=False) for _ in range(num_layers)])
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Normal(0, init_std) initialisation of the layer-0 embeddings."""
        nn.init.normal_(self.embedding.weight, std=self.init_std)

    def _apply(
        self, fn, *args, **kwargs
    ):  # keep the (non-parameter) adjacency on the module's device
        out = super()._apply(fn, *args, **kwargs)
        device = self.embedding.weight.device
        if self.adjacency.csr.device != device:
            self.adjacency = self.adjacency.to(device)
        return out

    def get_embedding(self) -> Tensor:
        """Layer-mean embeddings of all nodes, ``(n_users + n_items, d)`` (one product per layer)."""
        x = self.embedding.weight
        out = x
        for conv in self.convs:
            x = (
                self.adjacency.propagate(x)
                if self.propagation == "spmm"
                else conv(x, self.adjacency.csr)
            )
            out = out + x
        return out / (self.num_layers + 1)


class LightGCNConfig(TrainConfig):
    """Hyperparameters of :class:`LightGCNRecommender` (plus the training recipe of ``TrainConfig``).

    Defaults are tuned on ML-100K (ratings >= 3, 8:1:1): see ``benchmarks/bench_train.py``.
    """

    embedding_size: int = Field(64, ge=1)
    """Embedding dimension d."""
    num_layers: int = Field(2, ge=0)
    """Propagation layers K (0 reduces LightGCN to MF-BPR)."""
    propagation: Literal["spmm", "lgconv"] = "spmm"
    """'spmm': one CSR product per layer with a symmetric backward; 'lgconv': PyG LGConv on the CSR."""
    init_std: float = Field(0.1, gt=0)
    """Standard deviation of the normal initialisation of the layer-0 embeddings."""
    # the fast recipe (tuned on ML-100K, ratings >= 3, 8:1:1; see benchmarks/bench_train.py):
    # 5-20x RecBole's learning rate with 10x its L2, validated every 2 epochs
    learning_rate: float = Field(2e-2, gt=0)
    """Adam learning rate (RecBole/LightGCN use 1e-3; pyrec's faster recipe uses 2e-2)."""
    batch_size: int = Field(4096, ge=1)
    """Triples per optimisation step (one graph propagation each)."""
    reg: float = Field(1e-3, ge=0)
    """L2 weight λ on the batch's layer-0 embeddings: λ (||e_u||²+||e_i||²+||e_j||²) / 2 / B."""
    eval_every: int = Field(2, ge=1)
    """Validate every this many epochs."""
    patience: int | None = Field(5, ge=1)
    """Validations without improvement before early stopping (None: never stop early)."""


class LightGCNRecommender(BPRRecommender):
    """LightGCN recommender (see :class:`LightGCN`), trained with BPR by :mod:`pyrec.train`."""

    name = "lightgcn"
    architecture = "gnn"
    config_class = LightGCNConfig

    def build_module(self, n_users: int, n_items: int, seen, split=None) -> LightGCN:
        """An untrained :class:`LightGCN` over the symmetric-normalised graph of ``seen``."""
        cfg = self.config
        adj = normalized_adjacency(
            bipartite_edge_index(seen, n_users), n_users + n_items, kind="sym"
        )
        return LightGCN(
            n_users, n_items, adj, cfg.embedding_size, cfg.num_layers, cfg.propagation, cfg.init_std
        )
