"""Fusion of a graph view and a text view of the same users/items, and their contrastive alignment.

Three small ``nn.Module`` s used by :class:`~pyrec.models.hybrid.HybridRecommender`:

* :class:`ConcatFusion` — concatenation followed by a linear layer,
* :class:`GateFusion` — a learned element-wise sigmoid gate between the two views,
* :class:`InfoNCE` — the contrastive alignment loss between the views (RLMRec, Ren et al., WWW 2024).

They do no I/O, device choice or printing (style E1).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from pyrec.diagnostics import param_error

__all__ = ["FUSION_MODES", "ConcatFusion", "GateFusion", "InfoNCE", "make_fusion"]

#: fusion modes accepted by :func:`make_fusion`
FUSION_MODES: tuple[str, ...] = ("concat", "gate")


def _check_pair(graph: Tensor, text: Tensor, owner: str, dim: int) -> None:
    if graph.dim() != 2 or graph.shape[-1] != dim:
        raise param_error("graph", owner, f"a 2-D tensor [N, {dim}]", tuple(graph.shape))
    if text.shape != graph.shape:
        raise param_error("text", owner, f"a tensor of the graph view's shape {tuple(graph.shape)}",
                          tuple(text.shape))


class ConcatFusion(nn.Module):
    r"""Concatenation fusion of a graph embedding and a text embedding.

    .. math::
        \mathbf{h} = \mathbf{W} \left[ \mathbf{e}^{\text{graph}} \,\Vert\, \mathbf{z}^{\text{text}}
        \right] + \mathbf{b}, \qquad \mathbf{W} \in \mathbb{R}^{d \times 2d}

    :meth:`reset_parameters` initialises :math:`\mathbf{W} = [\mathbf{I}_d \;\; \epsilon\mathbf{I}_d]`
    and :math:`\mathbf{b} = 0`, so training starts from the graph view (the LightGCN model) with the
    text view switched in at a small weight and learned from there. The identity start is a
    residual-style initialisation; it avoids scrambling pretrained-quality graph embeddings with a
    random projection at step 0.

    Args:
        dim (int): embedding size :math:`d` of both views and of the output.
        text_init (float, optional): :math:`\epsilon`, the initial weight of the text view.
            (default: :obj:`0.1`)

    Shapes:
        - **input:** graph :math:`(N, d)`, text :math:`(N, d)`
        - **output:** :math:`(N, d)`
    """

    def __init__(self, dim: int, text_init: float = 0.1) -> None:
        super().__init__()
        if not isinstance(dim, int) or dim < 1:
            raise param_error("dim", "ConcatFusion", "an int in [1, inf)", dim)
        self.dim = dim
        self.text_init = float(text_init)
        self.lin = nn.Linear(2 * dim, dim)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Identity on the graph view, ``text_init`` times identity on the text view, zero bias."""
        with torch.no_grad():
            eye = torch.eye(self.dim)
            self.lin.weight.copy_(torch.cat([eye, self.text_init * eye], dim=1))
            self.lin.bias.zero_()

    def forward(self, graph: Tensor, text: Tensor) -> Tensor:
        """Fused embedding ``float [N, d]`` of the two views (each ``float [N, d]``)."""
        _check_pair(graph, text, "ConcatFusion.forward", self.dim)
        return self.lin(torch.cat([graph, text], dim=-1))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(dim={self.dim})"


class GateFusion(nn.Module):
    r"""Gated fusion: a learned element-wise sigmoid gate mixes the graph and text views.

    .. math::
        \mathbf{g} = \sigma\!\left( \mathbf{W}_g \left[ \mathbf{e}^{\text{graph}} \,\Vert\,
        \mathbf{z}^{\text{text}} \right] + \mathbf{b}_g \right), \qquad
        \mathbf{h} = \mathbf{g} \odot \mathbf{e}^{\text{graph}} + (1 - \mathbf{g}) \odot
        \mathbf{z}^{\text{text}}

    This is the gating unit of gated multimodal units (Arevalo et al., "Gated Multimodal Units for
    Information Fusion", ICLR-W 2017, `arXiv:1702.01992 <https://arxiv.org/abs/1702.01992>`_).
    :math:`\mathbf{W}_g` starts at zero and :math:`\mathbf{b}_g` at ``gate_bias``, so the initial
    gate is :math:`\sigma(b_g)` everywhere (``gate_bias=2`` gives 0.88 on the graph view).

    Args:
        dim (int): embedding size :math:`d` of both views and of the output.
        gate_bias (float, optional): initial gate logit. (default: :obj:`2.0`)

    Shapes:
        - **input:** graph :math:`(N, d)`, text :math:`(N, d)`
        - **output:** :math:`(N, d)`; :meth:`gate` returns :math:`(N, d)` values in (0, 1)
    """

    def __init__(self, dim: int, gate_bias: float = 2.0) -> None:
        super().__init__()
        if not isinstance(dim, int) or dim < 1:
            raise param_error("dim", "GateFusion", "an int in [1, inf)", dim)
        self.dim = dim
        self.gate_bias = float(gate_bias)
        self.lin = nn.Linear(2 * dim, dim)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Zero gate weights; the gate bias starts at ``gate_bias``."""
        with torch.no_grad():
            self.lin.weight.zero_()
            self.lin.bias.fill_(self.gate_bias)

    def gate(self, graph: Tensor, text: Tensor) -> Tensor:
        """The gate :math:`\\mathbf{g}` ``float [N, d]`` in (0, 1) (weight of the graph view)."""
        _check_pair(graph, text, "GateFusion.gate", self.dim)
        return torch.sigmoid(self.lin(torch.cat([graph, text], dim=-1)))

    def forward(self, graph: Tensor, text: Tensor) -> Tensor:
        """Fused embedding ``float [N, d]`` of the two views (each ``float [N, d]``)."""
        g = self.gate(graph, text)
        return g * graph + (1.0 - g) * text

    def __repr__(self) -> str:
        return f"{type(self).__name__}(dim={self.dim})"


def make_fusion(mode: str, dim: int) -> nn.Module:
    """Build the fusion module named ``mode`` (``"concat"`` or ``"gate"``) for size ``dim``.

    Raises:
        ConfigError: unknown ``mode``.
    """
    if mode == "concat":
        return ConcatFusion(dim)
    if mode == "gate":
        return GateFusion(dim)
    raise param_error("fusion", "make_fusion", f"one of {list(FUSION_MODES)}", mode)


class InfoNCE(nn.Module):
    r"""Symmetric InfoNCE alignment between two views of the same rows, with in-batch negatives.

    Row :math:`i` of view A and row :math:`i` of view B are a positive pair; every other row of the
    other view is a negative. With cosine similarity :math:`s(\cdot,\cdot)` and temperature
    :math:`\tau`:

    .. math::
        \mathcal{L} = -\frac{1}{2N} \sum_{i=1}^{N} \left[
        \log \frac{\exp(s(\mathbf{a}_i, \mathbf{b}_i)/\tau)}{\sum_{j} \exp(s(\mathbf{a}_i,
        \mathbf{b}_j)/\tau)} + \log \frac{\exp(s(\mathbf{b}_i, \mathbf{a}_i)/\tau)}{\sum_{j}
        \exp(s(\mathbf{b}_i, \mathbf{a}_j)/\tau)} \right]

    This is the contrastive alignment of collaborative and semantic representations in RLMRec
    ("Representation Learning with Large Language Models for Recommendation", Ren et al., WWW 2024,
    `arXiv:2310.15950 <https://arxiv.org/abs/2310.15950>`_), itself the InfoNCE loss of van den Oord
    et al. (2018, `arXiv:1807.03748 <https://arxiv.org/abs/1807.03748>`_). Duplicate rows in a batch
    (the same item twice) should be removed by the caller (``torch.unique``), otherwise they count as
    negatives of themselves.

    Args:
        temperature (float, optional): :math:`\tau > 0`. (default: :obj:`0.2`)

    Shapes:
        - **input:** a :math:`(N, d)`, b :math:`(N, d)`
        - **output:** scalar
    """

    def __init__(self, temperature: float = 0.2) -> None:
        super().__init__()
        if not temperature > 0:
            raise param_error("temperature", "InfoNCE", "a float in (0, inf)", temperature)
        self.temperature = float(temperature)

    def forward(self, a: Tensor, b: Tensor) -> Tensor:
        """Loss (scalar) aligning ``a`` ``float [N, d]`` with ``b`` ``float [N, d]`` row by row."""
        if a.dim() != 2 or a.shape != b.shape:
            raise param_error("b", "InfoNCE.forward", f"a 2-D tensor of shape {tuple(a.shape)}",
                              tuple(b.shape))
        a = F.normalize(a, dim=-1)
        b = F.normalize(b, dim=-1)
        logits = a @ b.t() / self.temperature
        target = torch.arange(a.shape[0], device=a.device)
        return 0.5 * (F.cross_entropy(logits, target) + F.cross_entropy(logits.t(), target))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(temperature={self.temperature})"
