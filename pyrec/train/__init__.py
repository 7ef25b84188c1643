"""pyrec.train: training shared by every embedding model (GNN, MF, text, hybrid), with BPR or
sampled softmax.

The contract
------------
A model to be trained is a ``torch.nn.Module`` with two methods (:class:`BPRModule`):

``bpr_forward(users, pos, neg) -> BPROutput``
    ``users``/``pos``: ``LongTensor (B,)``; ``neg``: ``(B,)`` (or ``(B, n_neg)`` when
    ``num_negatives > 1``). Returns the pair scores ``pos_scores (B,)``, ``neg_scores`` (shape of
    ``neg``), ``reg_terms`` (the batch's layer-0 embeddings ``e_u, e_i, e_j`` that the L2 applies
    to), an optional ``extra_loss`` scalar (e.g. a contrastive term, already weighted) and optional
    ``logs`` (floats averaged per epoch). A graph model propagates the graph ONCE per call.

``scorer() -> Callable[[LongTensor (B,)], Tensor float32 (B, n_items)]``
    Called in eval mode under ``torch.no_grad()``; it may propagate once and return a closure over
    the cached final embeddings. Seen items are not masked by the model.

Optional: ``optimizer_param_groups(learning_rate) -> list[dict]`` for per-group learning rates.

For the sampled-softmax objective a model also implements (:class:`EmbeddingModule`):

``embed_batch(users, pos, neg) -> BatchEmbeddings``
    The batch's final embeddings ``users (B, d)``, ``pos (B, d)``, ``neg (*neg.shape, d)`` (neg
    may be the ``(N,)`` negatives shared by the batch), with ``reg_terms``, ``extra_loss`` and
    ``logs`` as above; one propagation per call. pyrec's models implement only this and get
    ``bpr_forward`` from :class:`pyrec.models._bpr.BPRFromEmbeddings` (inner products).

``embeddings() -> (users (n_users, d), items (n_items, d))``
    Final embeddings, detached; the cosine scorer normalises them.

The objective (:mod:`pyrec.train.objective`, chosen by the config's ``loss``,
``num_negatives``, ``in_batch_negatives``, ``similarity``, ``softmax_temperature``) is the one
place that turns a batch into a loss and decides how the trained model scores:

* ``loss="bpr"`` (default): BPR on ``bpr_forward`` scores, ``num_negatives`` per row;
* ``loss="softmax"``: sampled softmax / InfoNCE of each positive among [positive, N uniform
  negatives shared by the batch (+ in-batch negatives)], dot or cosine scores over a temperature
  (:class:`SampledSoftmaxLoss`; Wu et al., TOIS 2024; AlphaRec, ICLR 2025).

The :class:`Trainer` owns everything else:

* Adam on the objective's loss, for BPR :math:`\\mathcal L = \\text{BPR} + \\lambda\\,
  (\\lVert e_u\\rVert^2+\\lVert e_i\\rVert^2+\\lVert e_j\\rVert^2)/2/B + \\text{extra}`
  (:class:`BPRLoss`, as LightGCN/RecBole);
* the epoch loop: every distinct training (user, item) pair once per epoch, seeded shuffle;
* uniform negative sampling: for BPR never a positive of that user (:class:`NegativeSampler`,
  vectorised rejection sampling); for the softmax one ``(N,)`` draw per batch;
* validation every ``eval_every`` epochs on ``split.valid`` (full ranking, ``val_metric``, default
  NDCG@10), early stopping after ``patience`` validations without improvement, best-state restore;
* resumable checkpoints (``checkpoint_dir/last.pt``: weights, optimizer, RNG state, history);
* progress over epochs with the loss and the validation metric (a tqdm bar on a terminal, a
  flushed stdout line per epoch otherwise; :mod:`pyrec._progress`);
* seeding: ``config.seed`` → :func:`make_generators` (same seed ⇒ same metrics on CPU).

Typical use inside a recommender's ``fit``::

    seed_everything(cfg.seed)                # library-side initialisation
    module = MyModule(...)                   # implements bpr_forward / scorer
    result = Trainer(module, split, cfg).fit()   # cfg: a TrainConfig subclass
    scorer = module.scorer()                 # cached embeddings for score()

Speed on CPU: graph models propagate once per batch with CSR products (``pyrec.models._graph``);
on a shared, oversubscribed CPU set ``OMP_WAIT_POLICY=PASSIVE`` before torch is imported (the
``pyrec train`` command and ``benchmarks/bench_train.py`` do): spinning OpenMP threads otherwise
slow each step by 10x or more.

Model configs subclass :class:`TrainConfig`; :class:`pyrec.models.BPRRecommender` wires all of this
into the ``Recommender`` interface (fit / score / save / load; ``fit(split, checkpoint_dir=,
resume=, progress=, callback=)``). :func:`pyrec.pipeline.train_and_evaluate` (a layer above
this package, models and strategies) runs one whole experiment; ``pyrec train`` is its command line.
"""

from __future__ import annotations

from pyrec._lazy import attach

_LAZY = {
    "BPROutput": "pyrec.train._protocol",
    "BPRModule": "pyrec.train._protocol",
    "BatchEmbeddings": "pyrec.train._protocol",
    "EmbeddingModule": "pyrec.train._protocol",
    "BPRLoss": "pyrec.train.loss",
    "bpr_loss": "pyrec.train.loss",
    "embedding_l2": "pyrec.train.loss",
    "SampledSoftmaxLoss": "pyrec.train.loss",
    "sampled_softmax_loss": "pyrec.train.loss",
    "Objective": "pyrec.train.objective",
    "make_objective": "pyrec.train.objective",
    "make_scorer": "pyrec.train.objective",
    "NegativeSampler": "pyrec.train.sampling",
    "sample_negatives": "pyrec.train.sampling",
    "TrainConfig": "pyrec.train.config",
    "build_config": "pyrec.train.config",
    "parse_metric": "pyrec.train.config",
    "Trainer": "pyrec.train.trainer",
    "TrainResult": "pyrec.train.trainer",
    "seed_everything": "pyrec.train.seed",
    "make_generators": "pyrec.train.seed",
    "resolve_device": "pyrec.train.seed",
    "save_checkpoint": "pyrec.train._checkpoint",
    "load_checkpoint": "pyrec.train._checkpoint",
}

__getattr__, __dir__, __all__ = attach(__name__, _LAZY)
