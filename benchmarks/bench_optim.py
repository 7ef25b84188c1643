"""Benchmark: what each optimization strategy buys and costs, against its baseline in the same run.

On ML-100K (ratings >= 3, per-user 8:1:1, seed 0, full ranking, k = 10), one process measures:

1. **INT8** — dynamic INT8 quantization of the text encoder (:func:`pyrec.optim.quantize_encoder`:
   8-bit activations in oneDNN's kernel on VNNI/AMX CPUs, fbgemm's otherwise; smoothed value/FFN
   inputs; [CLS] rescaling). Baseline: the fp32 encoder of a trained LLM-only recommender (frozen
   encoder). The catalogue's item texts are re-encoded with the quantized encoder and the same
   trained projection scores them. time ratio = median encode wall time (all item texts, same
   batches, ``--quant-repeats`` interleaved rounds) INT8 / fp32; size ratio = serialized encoder
   state INT8 / fp32; ΔNDCG@10 = INT8 − fp32 (also at ``--quant-batch-sizes``).
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
        [--ft-repeats 3] [--student-dim 16] [--repeats 1] [--quant-repeats 7]
        [--quant-batch-sizes 64 256] [--only quant lora distill] [--out PATH]
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
    """INT8 and bf16 encoders against fp32 inside a trained LLM-only recommender.

    Every encoder embeds the whole catalogue with the same ``TextEncoder.encode`` (same batches,
    token-length order, tokenization, threads). One untimed pass each (it also packs the INT8
    kernels), then ``--quant-repeats`` rounds that time fp32, INT8 and bf16 in turn; the ratio is
    of the medians (wall clock; process CPU time alongside). The INT8 row also has the ratio with
    one batch at a time (``encode(workers=1)``, every op split over the threads). ΔNDCG@10 re-scores the trained recommender
    with each encoder's table; the INT8 row also gives it for other batch sizes (another batch
    composition gives other activation ranges, hence other rounding errors).
    """
    from pyrec.models.llm import LLMRecommender
    from pyrec.models.quantization import int8_engine, model_size_mib, quantize_encoder

    recipe = {"epochs": args.epochs, "eval_every": 5, "patience": 3, "seed": 0, "max_length": 32}
    llm = LLMRecommender(**recipe).fit(split, progress=False)
    texts = list(split.train.item_text)
    tower = llm.module_.tower
    base_table = tower.text_emb.clone()

    def ndcg_with(table) -> float:
        with torch.no_grad():
            tower.text_emb.copy_(table)
        llm._cache_scorer()
        value = ndcg(llm, split)
        with torch.no_grad():
            tower.text_emb.copy_(base_table)
        llm._cache_scorer()
        return value

    fp32 = llm.text_encoder
    encoders, reports = {"fp32": fp32}, {}
    for method in ("int8", "bf16"):
        encoders[method], reports[method] = quantize_encoder(fp32, method)
    tables = {k: e.encode(texts, show_progress=False) for k, e in encoders.items()}  # warm-up
    # the default encode runs batches in parallel threads; "…/serial" runs one batch at a time
    # with intra-op threads (workers=1), as encode did before
    runs = {**{k: (e, None) for k, e in encoders.items()},
            "fp32/serial": (fp32, 1), "int8/serial": (encoders["int8"], 1)}
    wall = {k: [] for k in runs}
    cpu = {k: [] for k in runs}
    for _ in range(args.quant_repeats):  # interleaved: load changes hit every encoder alike
        for k, (enc, workers) in runs.items():
            t0, c0 = time.perf_counter(), time.process_time()
            enc.encode(texts, show_progress=False, workers=workers)
            wall[k].append(time.perf_counter() - t0)
            cpu[k].append(time.process_time() - c0)
    t = {k: statistics.median(v) for k, v in wall.items()}
    nd = {k: ndcg_with(tab) for k, tab in tables.items()}
    by_bs = {}
    for bs in args.quant_batch_sizes:
        ref = ndcg_with(fp32.encode(texts, batch_size=bs, show_progress=False))
        by_bs[str(bs)] = ndcg_with(encoders["int8"].encode(texts, batch_size=bs,
                                                           show_progress=False)) - ref
    s_base = model_size_mib(fp32.model)
    rows = []
    for method in ("int8", "bf16"):
        enc, rep = encoders[method], reports[method]
        cos = torch.nn.functional.cosine_similarity(tables[method], tables["fp32"])
        extra = {}
        if method == "int8":
            extra = {"kernel": rep.kernel, "engine": int8_engine(),
                     "smoothed_modules": len(rep.smoothed_modules),
                     "first_token_modules": len(rep.first_token_modules),
                     "delta_ndcg@10_by_batch_size": by_bs,
                     "time_ratio_one_batch_at_a_time": t["int8/serial"] / t["fp32/serial"],
                     "times_opt_serial": wall["int8/serial"],
                     "times_base_serial": wall["fp32/serial"]}
        rows.append(row(method, "fp32 encoder", t[method], t["fp32"], model_size_mib(enc.model),
                        s_base, nd[method], nd["fp32"], model="llm",
                        time_unit="s to encode all item texts (median wall clock)",
                        size_unit="MiB (encoder state)", n_texts=len(texts),
                        batch_size=fp32.config.batch_size, repeats=args.quant_repeats,
                        times_opt=wall[method], times_base=wall["fp32"],
                        cpu_time_ratio=statistics.median(cpu[method]) / statistics.median(cpu["fp32"]),
                        items_per_s_opt=len(texts) / t[method],
                        items_per_s_base=len(texts) / t["fp32"],
                        cosine_to_fp32_mean=float(cos.mean()), cosine_to_fp32_min=float(cos.min()),
                        layers_converted=f"{rep.n_quantized}/{rep.n_linear}",
                        not_converted=rep.not_quantized, **extra))
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
    ap.add_argument("--repeats", type=int, default=1, help="timed repeats of scoring passes")
    ap.add_argument("--quant-repeats", type=int, default=7,
                    help="interleaved timed encodes of the catalogue per encoder (median)")
    ap.add_argument("--quant-batch-sizes", type=int, nargs="*", default=[64, 256],
                    help="extra encode batch sizes whose INT8 dNDCG@10 is also reported")
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
