"""GraphSAGERecommender: contract, and the CSR mean aggregation equals PyG's SAGEConv on edge_index."""

from __future__ import annotations

import torch
from torch_geometric.nn import SAGEConv

from pyrec.models import GraphSAGERecommender
from pyrec.models._graph import bipartite_edge_index, normalized_adjacency
from pyrec.models.graphsage import CSRSAGEConv
from pyrec.testing import RecommenderTests, tiny_split

TINY = {"epochs": 3, "embedding_size": 8, "batch_size": 64, "num_layers": 2, "patience": None}


class TestGraphSAGE(RecommenderTests):
    model_class = GraphSAGERecommender
    config = TINY


def test_csr_sage_conv_equals_pyg_scatter_mean_in_value_and_gradient():
    split = tiny_split(n_users=6, n_items=7, per_user=4)
    ei = bipartite_edge_index(split.train.csr(), 6)
    adj = normalized_adjacency(ei, 13, kind="mean")
    torch.manual_seed(0)
    ref = SAGEConv(4, 3, aggr="mean")
    fast = CSRSAGEConv(4, 3, aggr="mean")
    fast.load_state_dict(ref.state_dict())
    x1 = torch.randn(13, 4, requires_grad=True)
    x2 = x1.detach().clone().requires_grad_(True)
    w = torch.randn(13, 3)
    out_ref, out_fast = ref(x1, ei), fast(x2, adj.csr)
    torch.testing.assert_close(out_fast, out_ref, rtol=1e-5, atol=1e-6)
    (out_ref * w).sum().backward()
    (out_fast * w).sum().backward()
    torch.testing.assert_close(x2.grad, x1.grad, rtol=1e-5, atol=1e-6)
