"""Own data end to end from the CLI: `pyrec data info`, `pyrec train -m hybrid` and `pyrec evaluate`
on small files in each format (CSV + text CSV via a description, RecBole atomic, JSON pair, Amazon
2018 with HTML-fragment titles and repeated metadata rows), with the bundled all-MiniLM-L6-v2 as
the text encoder and one epoch."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest
from _own_data import N_ROWS, write_amazon2018, write_csv, write_json_pair, write_recbole
from typer.testing import CliRunner

from pyrec.cli import app

runner = CliRunner()
pytestmark = pytest.mark.filterwarnings("ignore::pyrec.diagnostics.DataWarning")


def _rows(output: str) -> dict[str, str]:
    """``statistic -> value`` of the rich tables in ``output``."""
    out = {}
    for line in output.splitlines():
        cells = [c.strip() for c in re.split(r"[│┃]", line) if c.strip()]
        if len(cells) >= 2:
            out[cells[0]] = cells[1]
    return out


# format -> (write files, the path `data info` gets, expected rows)
CASES = {
    "csv": (write_csv, "shop.toml",
            {"users": "12", "items": "10", "interactions": str(N_ROWS), "items with text": "9",
             "items with empty text": "1", "order": "timestamp (Unix s)",
             "default min rating (train, evaluate)": "3"}),
    "recbole": (write_recbole, "shop.inter",
                {"users": "12", "items": "10", "interactions": str(N_ROWS), "items with text": "9",
                 "items with empty text": "1", "order": "timestamp (Unix s)",
                 "default min rating (train, evaluate)": "none (all kept)"}),
    "json-pair": (write_json_pair, "shop.inter.json",
                  {"users": "12", "items": "10", "interactions": str(N_ROWS), "items with text": "8",
                   "items with empty text": "1", "items without text": "1",
                   "items without title": "2", "users without items": "1",
                   "order": "sequence position (not a time)",
                   "default min rating (train, evaluate)": "none (all kept)"}),
}


@pytest.mark.parametrize("fmt", list(CASES))
def test_data_info_counts(tmp_path, fmt):
    write, name, expected = CASES[fmt]
    write(tmp_path)
    res = runner.invoke(app, ["data", "info", str(tmp_path / name), "--split", "ratio"])
    assert res.exit_code == 0, res.output
    got = _rows(res.output)
    assert {k: got.get(k) for k in expected} == expected
    assert got["ratio-0.8:0.1:0.1"] == "48"  # 12 users x 6: 4 train, 1 valid, 1 test each


def test_data_info_applies_min_rating_and_names_errors(tmp_path):
    write_csv(tmp_path)
    res = runner.invoke(app, ["data", "info", str(tmp_path / "shop.toml"), "--min-rating", "3",
                              "--split", "ratio"])
    assert res.exit_code == 0, res.output
    got = _rows(res.output)
    assert (got["interactions"], got["below threshold dropped"]) == ("42", "30")
    res = runner.invoke(app, ["data", "info", str(tmp_path / "missing.toml")])
    assert res.exit_code == 2 and "dataset description file not found" in res.output
    (tmp_path / "bad.toml").write_text('[interactions]\npath = "ratings.csv"\nuser = "user_id"\n'
                                       'item = "item_id"\norder = "timestamp"\norder_kind = "s"\n')
    res = runner.invoke(app, ["data", "info", str(tmp_path / "bad.toml")])
    assert res.exit_code == 2 and "key 'interactions.order_kind'" in res.output
    assert "Traceback" not in res.output


DESCRIPTIONS = {
    "csv": (write_csv, None, 3.0, (18, 12, 12)),  # ratings >= 3: 42 rows; 1 valid + 1 test per user
    "recbole": (write_recbole, 'format = "recbole"\n[interactions]\npath = "shop.inter"\n', None,
                (48, 12, 12)),
    "json-pair": (write_json_pair, '[interactions]\npath = "shop.inter.json"\n', None, (48, 12, 12)),
}


def test_train_hybrid_on_amazon2018_with_html_titles(tmp_path, monkeypatch):
    """Amazon 2018 files (HTML-fragment title, markup-only title, repeated metadata rows) through
    `pyrec data info` and `pyrec train -m hybrid`, with exact counts and the cleaned texts."""
    monkeypatch.setenv("PYREC_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)
    write_amazon2018(tmp_path / "data")
    res = runner.invoke(app, ["data", "info", "amazon2018:Shop", "--data-dir", "data", "--split", "ratio"])
    assert res.exit_code == 0, res.output
    got = _rows(res.output)
    assert (got["users"], got["items"], got["interactions"]) == ("12", "10", str(N_ROWS))
    assert (got["items title from description"], got["meta duplicate asins"]) == ("1", "3")
    assert got["ratio-0.8:0.1:0.1"] == "48"
    from pyrec.data import load_dataset

    with pytest.warns(Warning, match="3 of the 14 metadata rows repeat an asin"):
        data = load_dataset("amazon2018:Shop", "data")
    text = dict(zip(data.item_ids, data.item_text))
    assert (text["i1"], text["i3"]) == ("Toy & Co. Brand: Acme", "Plain mug")
    assert data.meta["items_title_from_description"] == 1 and data.meta["meta_duplicate_asins"] == 3
    res = runner.invoke(app, ["train", "-m", "hybrid", "-d", "amazon2018:Shop", "--data-dir", "data",
                              "--epochs", "1", "--no-progress", "--threads", "1", "--set", "embedding_size=8"])
    assert res.exit_code == 0, res.output
    got = _rows(res.output)
    assert (got["users · items"], got["train · valid · test"]) == ("12 · 10", "48 · 12 · 12")


@pytest.mark.parametrize("fmt", list(DESCRIPTIONS))
def test_train_hybrid_on_a_description(tmp_path, monkeypatch, fmt):
    monkeypatch.setenv("PYREC_CACHE_DIR", str(tmp_path / "cache"))
    write, desc_text, min_rating, (n_train, n_valid, n_test) = DESCRIPTIONS[fmt]
    write(tmp_path)
    desc = tmp_path / "shop.toml"
    if desc_text is not None:
        desc.write_text(f'name = "my-{fmt}"\n' + desc_text)
    monkeypatch.chdir(tmp_path)
    res = runner.invoke(app, ["train", "-m", "hybrid", "-d", str(desc), "--epochs", "1",
                              "--no-progress", "--threads", "1", "--set", "embedding_size=8"])
    assert res.exit_code == 0, res.output
    got = _rows(res.output)
    assert got["users · items"] == "12 · 10"
    assert got["train · valid · test"] == f"{n_train} · {n_valid} · {n_test}"
    assert got["min rating"] == ("none (all kept)" if min_rating is None else "3")
    out = tmp_path / "runs" / "hybrid-shop-ratio-s0"  # named by the file, not by its path
    cfg = json.loads((out / "config.json").read_text())
    assert (cfg["n_users"], cfg["n_items"], cfg["n_train"], cfg["min_rating"]) == (12, 10, n_train, min_rating)
    name = "my-shop" if fmt == "csv" else f"my-{fmt}"
    metrics = pd.read_parquet(out / "metrics.parquet")
    assert set(metrics["dataset"]) == {name}
    assert 0 <= metrics.set_index("metric").loc["ndcg@10", "value"] <= 1


def _quick_evaluate(tmp_path, monkeypatch, write, dataset_lines: str):
    """Write the data with ``write`` into ``tmp_path/data`` and run a quick `pyrec evaluate` config
    (pop + a 1-epoch hybrid, one seed) on it; checks both runs finished and returns
    ``(runs, per_user)`` tables."""
    monkeypatch.setenv("PYREC_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "data")
    (tmp_path / "exp.toml").write_text(
        f'name = "own"\n{dataset_lines}seeds = [0]\n'
        "[bench]\nlatency_requests = 5\nwarmup = 1\nthroughput_repeats = 1\ncold_start_repeats = 1\n"
        '[[configurations]]\narchitecture = "baseline"\nmodel = "pop"\n'
        '[[configurations]]\narchitecture = "hybrid"\n'
        "[models.hybrid]\nepochs = 1\nembedding_size = 8\n")
    res = runner.invoke(app, ["evaluate", "-c", "exp.toml", "--out", "res", "--no-stats"])
    assert res.exit_code == 0, res.output
    assert "2 runs finished now" in " ".join(res.output.split())
    runs = pd.read_parquet(tmp_path / "res" / "runs.parquet")
    assert set(runs["config"]) == {"pop@cpu", "hybrid@cpu"}
    return runs, pd.read_parquet(tmp_path / "res" / "per_user.parquet")


def test_evaluate_config_with_a_description(tmp_path, monkeypatch):
    runs, per_user = _quick_evaluate(tmp_path, monkeypatch, write_csv, 'dataset = "data/shop.toml"\n')
    resolved = (tmp_path / "res" / "config.resolved.toml").read_text()
    assert 'dataset = "data/shop.toml"' in resolved and "min_rating = 3.0" in resolved
    assert set(runs["dataset"]) == {"data/shop.toml"}  # the config's dataset, as for a name
    # every one of the 12 users has one test item (42 rows >= 3, 1 test row per user)
    assert per_user[per_user.metric == "ndcg"].groupby("run_id").size().tolist() == [12, 12]


# format -> (write files into a folder, the config's dataset and data_dir lines, test users)
EVALUATE = {
    "recbole": (write_recbole, 'dataset = "data/shop.inter"\n', 12),
    "json-pair": (write_json_pair, 'dataset = "data/shop.inter.json"\n', 12),
    "amazon2018": (write_amazon2018, 'dataset = "amazon2018:Shop"\ndata_dir = "data"\n', 12),
}


@pytest.mark.parametrize("fmt", list(EVALUATE))
def test_evaluate_quick_config_on_each_format(tmp_path, monkeypatch, fmt):
    """`pyrec evaluate` with a quick config (pop + a 1-epoch hybrid, one seed) on each format:
    12 users evaluated per run (one test item each under the 8:1:1 ratio split, all ratings kept)."""
    write, dataset, n_users = EVALUATE[fmt]
    _, per_user = _quick_evaluate(tmp_path, monkeypatch, write, dataset)
    # all 72 ratings kept (no default threshold for these formats): 1 test row for each user
    assert per_user[per_user.metric == "ndcg"].groupby("run_id").size().tolist() == [n_users, n_users]
