"""The user–item bipartite graph as normalised sparse CSR adjacencies, and a fast sparse product.

Nodes ``0..n_users-1`` are users and ``n_users..n_users+n_items-1`` items; every training pair is
an undirected edge (two directed edges). Normalisation uses PyG's ``gcn_norm`` (symmetric,
:math:`D^{-1/2} A D^{-1/2}`, LightGCN) or :math:`D^{-1} A` (mean aggregation, GraphSAGE), and
:func:`torch_geometric.utils.to_torch_csr_tensor` builds the CSR tensors once per fit.

:func:`sparse_propagate` multiplies by the adjacency with ``torch.sparse.mm`` and, in the backward
pass, by the precomputed transpose (the same tensor for the symmetric case), so no CSR transpose
or per-edge message tensor is built per step.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch
from torch import Tensor

from pyrec.models._bpr import BPRFromEmbeddings

__all__ = [
    "NodeEmbeddingScoring",
    "SparseAdjacency",
    "bipartite_edge_index",
    "normalized_adjacency",
    "sparse_propagate",
]


def bipartite_edge_index(seen, n_users: int) -> Tensor:
    """Directed edge list of the bipartite graph, both directions.

    Args:
        seen: ``scipy.sparse`` [n_users, n_items] binary training matrix.
        n_users: item node ``i`` gets index ``n_users + i``.

    Returns:
        LongTensor ``(2, 2|E|)`` (row 0 source, row 1 target).
    """
    coo = seen.tocoo()
    u = torch.from_numpy(coo.row.astype(np.int64))
    i = torch.from_numpy(coo.col.astype(np.int64)) + n_users
    return torch.stack([torch.cat([u, i]), torch.cat([i, u])])


class _SpMM(torch.autograd.Function):
    """``A @ x`` with the gradient ``A^T @ g`` from a precomputed CSR transpose."""

    @staticmethod
    def forward(ctx, adj: Tensor, adj_t: Tensor, x: Tensor) -> Tensor:
        ctx.adj_t = adj_t
        return torch.sparse.mm(adj, x)

    @staticmethod
    def backward(ctx, grad: Tensor):
        return None, None, torch.sparse.mm(ctx.adj_t, grad.contiguous())


def sparse_propagate(adj: Tensor, x: Tensor, adj_t: Tensor | None = None) -> Tensor:
    """``adj @ x`` for a CSR ``adj`` ``(N, N)`` and dense ``x`` ``(N, d)``, differentiable in ``x``.

    ``adj_t`` is the CSR transpose used in the backward pass; None means ``adj`` is symmetric.
    """
    return _SpMM.apply(adj, adj if adj_t is None else adj_t, x)


class SparseAdjacency:
    """A normalised adjacency as CSR plus its transpose (the same object when symmetric).

    Attributes:
        csr: ``torch.sparse_csr`` float32 ``(N, N)``; ``csr_t``: its transpose; ``num_nodes``: N;
        ``kind``: ``"sym"`` or ``"mean"``.
    """

    def __init__(self, csr: Tensor, csr_t: Tensor, kind: str) -> None:
        self.csr, self.csr_t, self.kind = csr, csr_t, kind
        self.num_nodes = csr.shape[0]
        csr.pyrec_transpose = csr_t  # read by layers that only receive the CSR tensor

    def propagate(self, x: Tensor) -> Tensor:
        """``A @ x``; shapes ``(N, d) -> (N, d)``."""
        return sparse_propagate(self.csr, x, self.csr_t)

    def to(self, device) -> SparseAdjacency:
        """A copy on ``device``."""
        csr = self.csr.to(device)
        return SparseAdjacency(
            csr, csr if self.csr_t is self.csr else self.csr_t.to(device), self.kind
        )

    def __repr__(self) -> str:
        return f"SparseAdjacency(kind={self.kind!r}, nodes={self.num_nodes}, nnz={self.csr._nnz()})"


def normalized_adjacency(edge_index: Tensor, num_nodes: int, kind: str = "sym") -> SparseAdjacency:
    r"""Normalised adjacency of an undirected graph given by both edge directions.

    Args:
        edge_index: LongTensor ``(2, E)`` with every edge in both directions, no self loops.
        num_nodes: N.
        kind: ``"sym"``: :math:`\hat A = D^{-1/2} A D^{-1/2}` (PyG ``gcn_norm`` without self loops,
            LightGCN eq. 3); ``"mean"``: :math:`D^{-1} A` (row ``i`` averages ``i``'s neighbours).

    Returns:
        SparseAdjacency; isolated nodes have empty rows.
    """
    from torch_geometric.nn.conv.gcn_conv import gcn_norm
    from torch_geometric.utils import degree, to_torch_csr_tensor

    if kind not in ("sym", "mean"):
        from pyrec.diagnostics import param_error

        raise param_error("kind", "normalized_adjacency", "'sym' or 'mean'", kind)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*[Ss]parse.*")
        if kind == "sym":
            ei, w = gcn_norm(edge_index, None, num_nodes, add_self_loops=False)
            csr = to_torch_csr_tensor(ei, w.float(), size=(num_nodes, num_nodes))
            return SparseAdjacency(csr, csr, kind)
        row = edge_index[0]
        deg = degree(row, num_nodes).clamp_(min=1)
        w = (1.0 / deg)[row]
        csr = to_torch_csr_tensor(edge_index, w, size=(num_nodes, num_nodes))
        csr_t = to_torch_csr_tensor(edge_index.flip(0), w, size=(num_nodes, num_nodes))
        return SparseAdjacency(csr, csr_t, kind)


class NodeEmbeddingScoring(BPRFromEmbeddings):
    r"""Dot-product scoring of a graph module whose nodes are users then items (mixin).

    The module provides ``get_embedding() -> float [n_users + n_items, d]`` (final node
    embeddings, with gradients), ``embedding`` (the layer-0 ``nn.Embedding``, whose batch rows are
    the L2 terms of BPR), ``n_users``, ``n_items`` and ``num_layers``. Used by LightGCN and
    GraphSAGE; scores are :math:`\hat{y}_{ui} = \mathbf{e}_u^\top \mathbf{e}_i`. ``embed_batch``
    serves every training objective; ``bpr_forward`` comes from
    :class:`~pyrec.models._bpr.BPRFromEmbeddings`.
    """

    def forward(self, users: Tensor, items: Tensor) -> Tensor:
        """Scores of (user, item) pairs, ``(B,)``."""
        emb = self.get_embedding()
        return (emb[users] * emb[self.n_users + items]).sum(-1)

    def embed_batch(self, users: Tensor, pos: Tensor, neg: Tensor):
        """Propagate once; the batch's final embeddings, and its layer-0 rows as the L2 terms.

        Returns:
            :class:`~pyrec.train.BatchEmbeddings`: users ``(B, d)``, pos ``(B, d)``, neg
            ``(*neg.shape, d)``; reg_terms the layer-0 rows of the same nodes.
        """
        from pyrec.train._protocol import BatchEmbeddings

        emb = self.get_embedding()
        eu, ep, en = emb[users], emb[self.n_users + pos], emb[self.n_users + neg]
        ego = self.embedding.weight
        return BatchEmbeddings(
            eu, ep, en, (ego[users], ego[self.n_users + pos], ego[self.n_users + neg])
        )

    def embeddings(self) -> tuple[Tensor, Tensor]:
        """Final ``(user (n_users, d), item (n_items, d))`` embeddings, propagated once, detached."""
        emb = self.get_embedding().detach()
        return emb[: self.n_users], emb[self.n_users :]

    def scorer(self):
        """``users (B,) -> (B, n_items)`` over embeddings propagated once, now."""
        users_w, items_w = self.embeddings()
        return lambda users: users_w[users] @ items_w.T

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.n_users}, {self.n_items}, "
            f"embedding_size={self.embedding.embedding_dim}, num_layers={self.num_layers})"
        )
