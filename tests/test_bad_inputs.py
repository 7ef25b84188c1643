"""Issue #16, "Bad input that is not yet answered": each item reproduced and answered (a clear
error naming the file, column, parameter or value, or the right value; never a traceback)."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import threading
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from pyrec.cli import app
from pyrec.data import InteractionData, split_data
from pyrec.diagnostics import ConfigError, DataError, DataWarning, RBridgeError

REPO = Path(__file__).resolve().parents[1]


def _cli(args, tmp_path, monkeypatch):
    """Run ``pyrec ARGS`` in tmp_path; assert bad input: exit 2, one error line, no traceback."""
    monkeypatch.chdir(tmp_path)
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 2, res.output
    assert "error:" in res.output and "Traceback" not in res.output
    assert not isinstance(res.exception, Exception) or isinstance(res.exception, SystemExit)
    return " ".join(res.output.split())  # rich wraps long lines


def _interactions(users, items, ts) -> InteractionData:
    users, items = np.asarray(users, np.int64), np.asarray(items, np.int64)
    return InteractionData(
        name="toy", users=users, items=items, ratings=np.ones(len(users), np.float32),
        timestamps=np.asarray(ts, np.int64), user_ids=np.arange(users.max() + 1).astype(object),
        item_ids=np.array([f"i{i}" for i in range(items.max() + 1)], dtype=object),
        item_text=[f"text {i}" for i in range(items.max() + 1)],
    )


@pytest.fixture(scope="module")
def r_ready():
    from pyrec.stats import r_env

    try:
        return r_env()
    except RBridgeError as exc:
        pytest.skip(f"R statistics unavailable: {exc}")


# ---- item 1 ----------------------------------------------------------------------------------


def _gz_jsonl(path: Path, records: list[dict]) -> None:
    with gzip.open(path, "wt", encoding="utf-8") as f:
        f.writelines(json.dumps(r) + "\n" for r in records)


def test_amazon_html_fragment_titles_are_cleaned_and_all_repeated_meta_rows_counted(tmp_path):
    """issue #16 item 1: a title that is an HTML fragment without a closing '>' lost its markup,
    an empty-once-cleaned title falls back to the description, and every repeated metadata row
    is counted (not only repeats of reviewed items)."""
    from pyrec.data.amazon2018 import load_amazon2018
    from pyrec.data.text import clean_text

    reviews = [{"reviewerID": f"u{u}", "asin": a, "overall": 5.0, "unixReviewTime": 1_500_000_000}
               for u in range(2) for a in ("A1", "A2", "A3")]
    cut = '<div class="a-fixed-left-grid"><span class="a-declarative"><a id="acr-popover" class="a'
    meta = [
        {"asin": "A1", "title": 'Caf&eacute; <span class="a-size-medium">Card</span> <a href="x'},
        {"asin": "A2", "title": cut, "description": ["<p>Plastic card &amp;#39;Best&#39;</p>"]},
        {"asin": "A3", "title": "Mug &lt;b&gt;XL&lt;/b&gt; 5 < 10", "brand": "Acme"},
        {"asin": "A1", "title": "A1 again"},  # a repeat of a reviewed item
        {"asin": "Z9", "title": "never reviewed"},
        {"asin": "Z9", "title": "never reviewed, twice"},  # repeats of an item nobody reviewed
        {"asin": "Z9", "title": "never reviewed, three times"},
    ]
    _gz_jsonl(tmp_path / "X_5.json.gz", reviews)
    _gz_jsonl(tmp_path / "meta_X.json.gz", meta)
    with pytest.warns(DataWarning) as record:
        d = load_amazon2018(tmp_path, "X")
    text = dict(zip(d.item_ids, d.item_text))
    assert text == {"A1": "Café Card", "A2": "Plastic card 'Best'", "A3": "Mug XL 5 < 10. Brand: Acme"}
    assert all("<" not in t.replace("5 < 10", "") and "&" not in t for t in text.values())
    assert d.meta["meta_duplicate_asins"] == 3 and d.meta["meta_rows"] == 7
    assert d.meta["items_title_from_description"] == 1 and d.meta["items_with_empty_text"] == 0
    msg = " ".join(str(w.message) for w in record)
    assert ("meta_X.json.gz: 3 of the 7 metadata rows repeat an asin of an earlier row "
            "(2 asin(s) have more than one row, 1 of them reviewed)") in msg
    # the shared cleaner (pyrec/data/_text.py): unclosed tags, comments, code, double escapes
    assert clean_text(cut) == ""
    assert clean_text("Gift <!-- note") == "Gift"
    assert clean_text("<script>x=1</script>Hi&nbsp;&amp;#39; <br/>there") == "Hi ' there"


# ---- item 2 ----------------------------------------------------------------------------------


def test_loo_with_min_interactions_below_3_is_refused(tmp_path, monkeypatch):
    """issue #16 item 2: split_data(..., "loo", min_interactions=1 or 2) left users with 1-2
    interactions without any training row, silently; now refused, and with the default (3) such
    users stay in train only, counted in split.info and by `pyrec data info`."""
    # user 0: 4 interactions, user 1: 2, user 2: 1
    d = _interactions([0, 0, 0, 0, 1, 1, 2], [0, 1, 2, 3, 0, 1, 2], [1, 2, 3, 4, 1, 2, 1])
    for m in (1, 2):
        with pytest.raises(ConfigError) as info:
            split_data(d, "loo", min_interactions=m)
        msg = str(info.value)
        assert "'min_interactions' parameter of split_data(protocol='loo')" in msg
        assert "an int in [3, inf)" in msg and f"Got {m} instead" in msg
    s = split_data(d, "loo")
    assert s.info["users_train_only"] == 2 and s.info["min_interactions"] == 3
    assert sorted(np.unique(s.train.users).tolist()) == [0, 1, 2]
    assert (len(s.train), len(s.valid), len(s.test)) == (5, 1, 1)
    csv = tmp_path / "few.csv"
    csv.write_text("user,item,rating,timestamp\n" + "".join(
        f"{u},{i},5,{t}\n" for u, i, t in zip(d.users, d.items, d.timestamps)))
    monkeypatch.chdir(tmp_path)
    res = CliRunner().invoke(app, ["data", "info", str(csv), "--split", "loo"])
    assert res.exit_code == 0, res.output
    row = next(ln for ln in res.output.splitlines() if ln.strip("│ ").startswith("loo"))
    assert [c.strip() for c in row.strip("│").split("│")][1:5] == ["5", "1", "1", "2"]


# ---- item 3 ----------------------------------------------------------------------------------


@pytest.mark.r
def test_stats_call_from_a_worker_thread_after_the_main_thread(r_ready):
    """issue #16 item 3: a pyrec.stats call from a worker thread, after one on the main thread,
    raised rpy2's raw NotImplementedError ("Conversion rules ... missing"); it now gives the same
    result as on the main thread (several threads at once too)."""
    from pyrec.stats import anova, from_r, to_r

    rng = np.random.default_rng(0)
    runs = pd.DataFrame({"architecture": np.repeat(["gnn", "mf", "pop"], 6), "optimization": "none",
                         "backend": "cpu", "seed": np.tile(np.arange(6), 3), "metric": "ndcg@10",
                         "value": rng.random(18)})
    main = anova(runs, "ndcg@10", ["architecture"])
    out: dict[int, object] = {}

    def work(i):
        try:
            res = anova(runs, "ndcg@10", ["architecture"])
            back = from_r(to_r(runs))
            out[i] = (res, back)
        except BaseException as exc:  # noqa: BLE001 - reported below
            out[i] = exc

    threads = [threading.Thread(target=work, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i in range(3):
        assert not isinstance(out[i], BaseException), repr(out[i])
        res, back = out[i]
        pd.testing.assert_frame_equal(res, main)
        assert back["value"].tolist() == runs["value"].tolist()


# ---- item 4 ----------------------------------------------------------------------------------


_TZ_SCRIPT = """
import json
import pandas as pd
from pyrec.stats import from_r, to_r
from pyrec.stats._rpy2 import import_rpy2

ro = import_rpy2()
df = pd.DataFrame({"t": pd.to_datetime(["1945-01-01 00:00:00", None, "2024-07-01 12:30:00"])})
r = to_r(df)
print(json.dumps({
    "r_tz": ro.r("format(as.POSIXct('2024-01-01 12:00', tz = ''), '%Z')")[0],
    "clock": [None if x is ro.NA_Character else str(x)
              for x in ro.r("function(d) format(d$t, '%Y-%m-%d %H:%M:%S')")(r)],
    "year": ro.r("function(d) as.POSIXlt(d$t)$year[1] + 1900")(r)[0],
    "tzone": ro.r("function(d) attr(d$t, 'tzone')")(r)[0],
    "back": [None if pd.isna(x) else str(x) for x in from_r(r)["t"]],
}))
"""


@pytest.mark.r
def test_naive_datetime_keeps_its_wall_clock_in_r_under_new_york(r_ready, tmp_path):
    """issue #16 item 4: to_r of a naive datetime column shifted by the machine's UTC offset in R
    (1945-01-01 became 1944 under TZ=America/New_York); now R shows the same wall clock (tzone
    "UTC") and from_r gives the naive values back."""
    script = tmp_path / "tz.py"
    script.write_text(_TZ_SCRIPT)
    env = {**os.environ, "TZ": "America/New_York", "PYTHONPATH": str(REPO)}
    proc = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    assert got["r_tz"] == "EST"  # R really runs in New York time, so the check means something
    assert got["clock"] == ["1945-01-01 00:00:00", None, "2024-07-01 12:30:00"]
    assert got["year"] == 1945 and got["tzone"] == "UTC"
    assert got["back"] == ["1945-01-01 00:00:00", None, "2024-07-01 12:30:00"]


# ---- item 7 ----------------------------------------------------------------------------------


def test_evaluate_config_not_utf8_or_bad_toml_names_file_and_position(tmp_path, monkeypatch):
    """issue #16 item 7: `pyrec evaluate --config` on a non-UTF-8 TOML ended in a
    UnicodeDecodeError traceback; now exit 2 naming the file, line, column and byte. A TOML
    syntax error names the file, line and column."""
    (tmp_path / "latin1.toml").write_bytes('seeds = [0]\n# café\n'.encode("latin-1"))
    out = _cli(["evaluate", "--config", "latin1.toml"], tmp_path, monkeypatch)
    assert "latin1.toml: not UTF-8 text: byte 0xe9 at line 2, column 6 (byte offset 17)" in out
    assert "re-save the file as UTF-8" in out
    (tmp_path / "syntax.toml").write_text("seeds = [0\nmetrics = ['ndcg']\n", encoding="utf-8")
    out = _cli(["evaluate", "--config", "syntax.toml"], tmp_path, monkeypatch)
    assert "syntax.toml: TOML syntax error" in out and "(at line 2, column 1)" in out


# ---- item 8 ----------------------------------------------------------------------------------


@pytest.mark.parametrize("seeds, says", [
    ("-1", "Got '-1' instead: item 1 (-1) is negative"),
    ("0,,1", "Got '0,,1' instead: item 2 is empty"),
    ("0,1,", "Got '0,1,' instead: item 3 is empty"),
])
def test_bad_seeds_are_refused_before_any_run(seeds, says, tmp_path, monkeypatch):
    """issue #16 item 8: `--seeds -1` was accepted and every run then failed late; `--seeds 0,,1`
    was read silently as [0, 1]. Both are refused up front, naming the option and the value; a
    negative seed in a config file is refused too."""
    out = _cli(["evaluate", "--quick", "--seeds", seeds, "--out", "res"], tmp_path, monkeypatch)
    assert "The 'seeds' option (--seeds) must be comma-separated ints in [0, 2**63)" in out
    assert says in out
    assert not (tmp_path / "res").exists()  # nothing started
    (tmp_path / "neg.toml").write_text("seeds = [0, -1]\n", encoding="utf-8")
    out = _cli(["evaluate", "--config", "neg.toml"], tmp_path, monkeypatch)
    assert "neg.toml: key 'seeds': seeds must be ints in [0, 2**63), got -1 in [0, -1]" in out


def test_lora_empty_target_modules_is_refused(tmp_path, monkeypatch):
    """issue #16 item 8: LoRA target_modules=[] silently fell back to the model's defaults; now a
    ConfigError naming the parameter and the value (directly, and from `pyrec train --lora`)."""
    from pyrec.models.lora import LoRAConfig

    with pytest.raises(ConfigError, match=r"The 'target_modules' parameter of LoRAConfig is "
                                          r"invalid: .*at least one module.* Got \[\] instead"):
        LoRAConfig(target_modules=[])
    assert LoRAConfig().target_modules is None  # left out: the model's defaults, as documented
    csv = tmp_path / "tiny.csv"
    csv.write_text("user,item,rating,timestamp\n" + "".join(
        f"{u},{i},5,{10 * u + i}\n" for u in range(4) for i in range(5)))
    out = _cli(["train", "-m", "hybrid", "-d", str(csv), "--lora", "target_modules=", "-o", "run"],
               tmp_path, monkeypatch)
    assert "'target_modules' parameter of LoRAConfig is invalid" in out
    assert "Got [] instead" in out and not (tmp_path / "run").exists()


def test_quantizing_a_zero_width_linear_skips_it_and_reports_it():
    """issue #16 item 8: quantizing a model with a zero-width nn.Linear raised torch's bare
    RuntimeError; the layer is now left as it is and listed with the reason."""
    import torch
    from torch import nn

    from pyrec.models.quantization import quantize_dynamic_int8

    model = nn.Sequential(nn.Linear(4, 8), nn.Linear(8, 0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for per_channel in (True, False):
            q, report = quantize_dynamic_int8(model, per_channel=per_channel)
            assert (report.n_linear, report.n_quantized) == (2, 1)
            assert report.quantized_modules == ["0"]
            assert report.not_quantized == [
                "1: zero-width Linear (in_features=8, out_features=0) has no weights to quantize"]
            assert q(torch.randn(3, 4)).shape == (3, 0)


def test_temporal_split_with_all_equal_timestamps_fails_at_split_time(tmp_path, monkeypatch):
    """issue #16 item 8: a temporal split with all-equal timestamps gave an empty train set that
    failed only later, at fit; now a DataError at split time naming the dataset and the problem
    (pyrec train: exit 2, before any training)."""
    d = _interactions([0, 0, 1, 1, 2], [0, 1, 1, 2, 0], [1000] * 5)
    with pytest.raises(DataError, match=r"dataset 'toy': a temporal split would leave the train "
                                        r"part empty: all 5 interactions have the same timestamp "
                                        r"1000"):
        split_data(d, "temporal")
    csv = tmp_path / "same_time.csv"
    csv.write_text("user,item,rating,timestamp\n" + "".join(
        f"{u},{i},5,1000\n" for u in range(4) for i in range(5)))
    out = _cli(["train", "-m", "pop", "-d", str(csv), "--split", "temporal", "-o", "run"],
               tmp_path, monkeypatch)
    assert "all 20 interactions have the same timestamp 1000" in out and "Use 'loo'" in out


def test_evaluate_with_a_split_the_data_cannot_take_stops_before_any_run(tmp_path, monkeypatch):
    """issue #16 item 8 from `pyrec evaluate`: a temporal split on all-equal timestamps is refused
    (exit 2) before the results folder is written, not recorded as a failure of every run."""
    csv = tmp_path / "same_time.csv"
    csv.write_text("user,item,rating,timestamp\n" + "".join(
        f"{u},{i},5,1000\n" for u in range(4) for i in range(5)))
    (tmp_path / "exp.toml").write_text(f'dataset = "{csv}"\nseeds = [0, 1]\n[split]\nprotocol = "temporal"\n'
                                       '[[configurations]]\narchitecture = "baseline"\nmodel = "pop"\n')
    out = _cli(["evaluate", "-c", "exp.toml", "--out", "res", "--no-stats"], tmp_path, monkeypatch)
    assert "all 20 interactions have the same timestamp 1000" in out
    assert not (tmp_path / "res").exists()


def test_ks_without_10_analyses_and_summarises_at_the_measured_k(tmp_path, monkeypatch):
    """Fresh-clone finding on #16: a config with ``ks = [5]`` printed ``ndcg@10 -`` and the planned
    analysis failed on the unmeasured ndcg@10; now the analysed metric defaults to ndcg@<first k>
    and an analysis metric at an unmeasured k is refused at config time, naming the key."""
    from pyrec.experiment import validate_config

    base = {"dataset": "ml-100k", "ks": [5, 20], "configurations": [{"architecture": "baseline", "model": "pop"}]}
    assert validate_config(dict(base)).analysis.metric == "ndcg@5"
    assert validate_config({**base, "analysis": {"metric": "HR@20"}}).analysis.metric == "hit@20"
    with pytest.raises(ConfigError, match=r"analysis.metric 'ndcg@10' is at k = 10, but the experiment "
                                          r"measures ks = \[5, 20\]"):
        validate_config({**base, "analysis": {"metric": "ndcg@10"}}, source="exp.toml")
    from pyrec.experiment._summary import summary_metrics

    assert summary_metrics(validate_config(dict(base)))[:2] == ("ndcg@5", "recall@5")


def test_cutoffs_longer_than_the_catalogue_are_refused_before_any_run(tmp_path, monkeypatch):
    """Fresh-clone finding on #16: on a 7-item dataset every `pyrec evaluate` run failed late in the
    benchmark step (k = 10 > 7 items); now exit 2 before the folder is written, naming the key."""
    csv = tmp_path / "small.csv"
    csv.write_text("user,item,rating,timestamp\n" + "".join(
        f"{u},{i},5,{1000 + i}\n" for u in range(6) for i in range(7) if (u + i) % 3))
    (tmp_path / "exp.toml").write_text(f'dataset = "{csv}"\nks = [5]\nseeds = [0]\n'
                                       '[[configurations]]\narchitecture = "baseline"\nmodel = "pop"\n')
    out = _cli(["evaluate", "-c", "exp.toml", "--out", "res", "--no-stats"], tmp_path, monkeypatch)
    assert "bench.k = 10 is longer than the catalogue" in out and "(7 items)" in out
    assert not (tmp_path / "res").exists()


def test_recommend_names_unknown_users_and_train_refuses_k_above_the_catalogue(tmp_path, monkeypatch):
    """Fresh-clone findings: recommend() for a user index outside the split said 'non-finite score'
    (now the user index is named); `pyrec train` on an 8-item dataset reported NDCG@10 = 1.0 for a
    top-10 that ranks every item (now refused, naming ks)."""
    from pyrec.models import get_model
    from pyrec.testing import tiny_split

    model = get_model("pop").fit(tiny_split())
    with pytest.raises(ConfigError, match=r"'users' parameter .* user indices in \[0, 24\).*\[24, -1\]"):
        model.recommend([0, 24, -1], k=3)
    csv = tmp_path / "eight.csv"
    csv.write_text("user,item,rating,timestamp\n" + "".join(
        f"{u},{i},5,{1000 + i}\n" for u in range(6) for i in range(8) if (u + i) % 3))
    out = _cli(["train", "-m", "pop", "-d", str(csv), "-o", "run"], tmp_path, monkeypatch)
    assert "'ks' parameter" in out and "at most the 8 items" in out
