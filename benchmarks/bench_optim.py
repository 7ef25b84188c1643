"""Benchmark: what each optimization strategy buys and costs, against its baseline in the same run.

On ML-100K (ratings >= 3, per-user 8:1:1, seed 0, full ranking, k = 10), one process measures:

1. **INT8** — dynamic INT8 quantization of the text encoder (``torch.ao`` ``quantize_dynamic``,
   :func:`pyrec.optim.quantize_encoder`). Baseline: the fp32 encoder of a trained LLM-only
   recommender (frozen encoder). The catalogue's item texts are re-encoded with the quantized
   encoder and the same trained projection scores them. time ratio = encode wall time (all item
   texts) INT8 / fp32; size ratio = serialized encoder state INT8 / fp32; ΔNDCG@10 = INT8 − fp32.
2. **bf16** — the same with the encoder cast to bfloat16.
3. **LoRA** vs **full** fine-tuning of the encoder inside the LLM-only recommender on the full
   ML-100K catalogue, each warm-started from the same LLM-only model trained with a frozen encoder
   (as the grid's LoRA run is), then fine-tuned for ``--ft-epochs`` epochs with the same data,
   batch (``--ft-batch-size``), text length and seed. Variants: ``lora-top`` (peft LoRA, r = 8,
   query/value, on the top ``--ft-layers`` blocks only; the frozen blocks below run once per item
   text and are cached, ``trainable_layers``), ``full-top`` (every weight of the same top blocks),
   ``lora-all`` and ``full-all`` (every block; today's LoRA and full fine-tuning). time ratio =
   median end-to-end fit wall time over ``--ft-repeats`` alternating runs (tokenizing, the block
   cache, epochs, validation, merging and re-encoding the catalogue); size ratio = trainable
   encoder parameters; ΔNDCG@10 = LoRA − full. Rows: lora-top vs full-all (the study's claim),
   lora-top vs full-top (LoRA alone), lora-all vs full-all.
4. **Distillation** — a hybrid GNN–LLM teacher (gate fusion, contrastive weight 0.1) distilled
   into MF with ``--student-dim`` dims (:func:`pyrec.optim.distill`, listwise KL over the
   teacher's top-50, T = 1, lambda = 1) against the teacher and against the same MF trained
   without distillation. time ratio = scoring latency (all users x all items, median ms)
   student / teacher; size ratio = final user + item embedding tables (what serving needs; the
   encoder is needed only for new items) student / teacher; ΔNDCG@10 = student − teacher,
   plus the student's gain over the plain MF.

Each row: ``strategy``, ``baseline``, the raw figures, ``time_ratio``, ``size_ratio``,
``delta_ndcg@10``. Output: JSON at ``--out`` (default ``benchmarks/results/bench_optim.json``).

Usage::

    python benchmarks/bench_optim.py [--data-dir DIR] [--threads 2] [--epochs 30]
        [--ft-epochs 1] [--ft-layers 2] [--ft-batch-size 16384] [--ft-max-length 16]
        [--ft-repeats 3] [--student-dim 16]
        [--repeats 1] [--only quant lora distill] [--out PATH]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import resource
import statistics
import time
import warnings
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before torch loads OpenMP (shared CPUs)

import torch

REPO = Path(__file__).resolve().parents[1]


def ndcg(model, split) -> float:
    from pyrec.metrics import evaluate_full_ranking

    return float(evaluate_full_ranking(model.score, split, part="test").summary["ndcg@10"])


def state_mib(state: dict) -> float:
    buf = io.BytesIO()
    torch.save(state, buf)
    return buf.getbuffer().nbytes / 2**20


def timed(fn, repeats: int = 1):
    """(median wall s, last result) over ``repeats`` calls."""
    times, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def row(strategy, baseline, t_opt, t_base, s_opt, s_base, nd_opt, nd_base, **extra) -> dict:
    return {"strategy": strategy, "baseline": baseline, "time_opt": t_opt, "time_base": t_base,
            "size_opt": s_opt, "size_base": s_base, "ndcg@10_opt": nd_opt, "ndcg@10_base": nd_base,
            "time_ratio": t_opt / t_base, "size_ratio": s_opt / s_base,
            "delta_ndcg@10": nd_opt - nd_base, **extra}


def encoder_rows(split, args) -> list[dict]:
    """INT8 and bf16 encoders against fp32 inside a trained LLM-only recommender."""
    from pyrec.models.llm import LLMRecommender
    from pyrec.models.quantization import model_size_mib, quantize_encoder

    recipe = {"epochs": args.epochs, "eval_every": 5, "patience": 3, "seed": 0, "max_length": 32}
    llm = LLMRecommender(**recipe).fit(split, progress=False)
    texts = list(split.train.item_text)
    tower = llm.module_.tower
    base_table = tower.text_emb.clone()

    def score_with(encoder):
        t, table = timed(lambda: encoder.encode(texts, show_progress=False), args.repeats)
        with torch.no_grad():
            tower.text_emb.copy_(table)
        llm._cache_scorer()
        value = ndcg(llm, split)
        with torch.no_grad():
            tower.text_emb.copy_(base_table)
        llm._cache_scorer()
        return t, value

    fp32 = llm.text_encoder
    t_base, nd_base = score_with(fp32)
    s_base = model_size_mib(fp32.model)
    rows = []
    for method in ("int8", "bf16"):
        enc, rep = quantize_encoder(fp32, method)
        t_opt, nd_opt = score_with(enc)
        rows.append(row(method, "fp32 encoder", t_opt, t_base, model_size_mib(enc.model), s_base,
                        nd_opt, nd_base, model="llm", time_unit="s to encode all item texts",
                        size_unit="MiB (encoder state)", n_texts=len(texts),
                        items_per_s_opt=len(texts) / t_opt, items_per_s_base=len(texts) / t_base,
                        layers_converted=f"{rep.n_quantized}/{rep.n_linear}",
                        not_converted=rep.not_quantized))
    return rows


#: fine-tuning variants: (encoder_mode, fine-tune only the top --ft-layers blocks?)
FT_VARIANTS = {"lora-top": ("lora", True), "full-top": ("full", True),
               "lora-all": ("lora", False), "full-all": ("full", False)}


def finetune_rows(split, args) -> list[dict]:
    """LoRA on the top blocks (frozen blocks cached) against full fine-tuning, full catalogue."""
    from pyrec.models.llm import LLMRecommender

    base = LLMRecommender(epochs=args.epochs, eval_every=5, patience=3, seed=0,
                          max_length=args.ft_max_length).fit(split, progress=False)
    init = base.warm_start_state()
    res: dict[str, dict] = {}
    for rep in range(args.ft_repeats):  # alternate the variants so drift in machine load hits all
        for name, (mode, top) in FT_VARIANTS.items():
            model = LLMRecommender(
                encoder_mode=mode, trainable_layers=args.ft_layers if top else None,
                epochs=args.ft_epochs, patience=None, seed=0, max_length=args.ft_max_length,
                batch_size=args.ft_batch_size, eval_every=args.ft_epochs,
                encoder_learning_rate=1e-3 if mode == "lora" else 1e-4)
            t, _ = timed(lambda m=model: m.fit(split, init_state=init, progress=False))
            if rep:
                res[name]["times"].append(t)
                continue
            enc = model.encoder_
            trainable = (enc.lora_report_.trainable_params if mode == "lora"
                         else sum(p.numel() for p in enc.model.parameters() if p.requires_grad))
            res[name] = {"times": [t], "trainable": trainable, "ndcg": ndcg(model, split),
                         "s_per_epoch": model.train_result_.seconds_per_epoch}
    for r in res.values():
        r["time"] = statistics.median(r["times"])
    common = dict(model="llm", time_unit="s end-to-end fine-tuning wall time (fit: tokenize, "
                  "frozen-block cache, epochs, validation, merge, re-encode)",
                  size_unit="trainable encoder parameters", epochs=args.ft_epochs,
                  batch_size=args.ft_batch_size, max_length=args.ft_max_length,
                  trainable_layers=args.ft_layers, warm_start="LLM-only with a frozen encoder",
                  ndcg_warm_start=ndcg(base, split),
                  catalogue={"users": split.n_users, "items": split.n_items,
                             "train": len(split.train)})
    out = []
    for opt, base_name, label in (("lora-top", "full-all", "full fine-tuning (all blocks)"),
                                  ("lora-top", "full-top", "full fine-tuning (top blocks)"),
                                  ("lora-all", "full-all", "full fine-tuning (all blocks)")):
        o, b = res[opt], res[base_name]
        out.append(row(f"lora ({opt})", label, o["time"], b["time"], o["trainable"], b["trainable"],
                       o["ndcg"], b["ndcg"], **common, s_per_epoch_opt=o["s_per_epoch"],
                       s_per_epoch_base=b["s_per_epoch"], times_opt=o["times"],
                       times_base=b["times"]))
    return out


def distill_rows(split, args) -> list[dict]:
    """A hybrid teacher distilled into a small MF, against the teacher and a plain MF."""
    import numpy as np

    from pyrec.models.hybrid import HybridRecommender
    from pyrec.models.mf import MFRecommender
    from pyrec.optim.distill import distill

    recipe = {"epochs": args.epochs, "eval_every": 5, "patience": 3, "seed": 0}
    teacher = HybridRecommender(**recipe, max_length=32).fit(split, progress=False)
    student_cfg = {**recipe, "embedding_size": args.student_dim}
    t0 = time.perf_counter()
    student = distill(teacher, "mf", split, {"kd_weight": 1.0, "top_k": 50, "temperature": 1.0,
                                             "student": student_cfg})
    t_distill = time.perf_counter() - t0
    plain = MFRecommender(**student_cfg).fit(split, progress=False)
    users = np.arange(split.n_users)
    for m in (teacher, student):
        m.score(users[:64])  # warm-up
    t_teacher, _ = timed(lambda: teacher.score(users), max(3, args.repeats))
    t_student, _ = timed(lambda: student.score(users), max(3, args.repeats))
    tables = {"teacher": teacher.module_.get_embedding(), "student": student.module_.get_embedding()}
    s_teacher = state_mib({"u": tables["teacher"][0].detach(), "i": tables["teacher"][1].detach()})
    s_student = state_mib({"u": tables["student"][0].detach(), "i": tables["student"][1].detach()})
    nd_t, nd_s, nd_p = ndcg(teacher, split), ndcg(student, split), ndcg(plain, split)
    return [row("distillation", "hybrid teacher", t_student * 1e3, t_teacher * 1e3, s_student,
                s_teacher, nd_s, nd_t, model=f"mf-{args.student_dim} <- hybrid-64",
                time_unit="ms to score all users x all items", size_unit="MiB (final user+item embedding tables)",
                teacher_module_state_mib=state_mib(teacher._text_state()),
                ndcg_plain_student=nd_p, delta_ndcg_vs_plain_student=nd_s - nd_p,
                distill_train_time_s=t_distill, distill_info=student.distill_info_)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--epochs", type=int, default=30, help="max epochs of LLM, hybrid and MF runs")
    ap.add_argument("--ft-epochs", type=int, default=1)
    ap.add_argument("--ft-layers", type=int, default=2,
                    help="top transformer blocks fine-tuned by the '-top' variants")
    ap.add_argument("--ft-batch-size", type=int, default=16384)
    ap.add_argument("--ft-max-length", type=int, default=16)
    ap.add_argument("--ft-repeats", type=int, default=3,
                    help="fine-tuning runs per variant (alternating); the time is their median")
    ap.add_argument("--student-dim", type=int, default=16)
    ap.add_argument("--repeats", type=int, default=1, help="timed repeats of encoder passes")
    ap.add_argument("--only", nargs="*", default=["quant", "lora", "distill"])
    ap.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "bench_optim.json"))
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    warnings.filterwarnings("ignore")
    from pyrec.data import load_dataset, split_data

    t0 = time.perf_counter()
    data = load_dataset("ml-100k", args.data_dir, min_rating=3)
    split = split_data(data, "ratio", seed=0)
    rows: list[dict] = []
    out = {"benchmark": "bench_optim", "dataset": "ml-100k (ratings>=3), ratio 8:1:1 seed 0",
           "protocol": "full ranking, k=10, test part", "threads": args.threads,
           "torch": torch.__version__, "python": platform.python_version(),
           "args": vars(args), "rows": rows}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    sections = {"quant": lambda: encoder_rows(split, args), "lora": lambda: finetune_rows(split, args),
                "distill": lambda: distill_rows(split, args)}
    for name, run in sections.items():
        if name in args.only:
            rows += run()
            out["total_wall_s"] = time.perf_counter() - t0  # written after each section
            Path(args.out).write_text(json.dumps(out, indent=2, default=str))
    for r in rows:
        print(f"{r['strategy']:>12} vs {r['baseline']:<18} time x{r['time_ratio']:.3f}  "
              f"size x{r['size_ratio']:.3f}  dNDCG@10 {r['delta_ndcg@10']:+.4f}")
    print(f"wrote {args.out} ({out['total_wall_s']:.0f} s)")


if __name__ == "__main__":
    main()
