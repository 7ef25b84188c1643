"""`pyrec data` commands: ``info``, ``download`` and ``list``.

Heavy libraries (numpy, pandas, pyrec.data) are imported inside the commands so ``pyrec --help``
stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from pyrec.cli._errors import fail
from pyrec.data.split import PROTOCOLS as _SPLITS  # the split protocols pyrec.data owns

data_app = typer.Typer(
    name="data",
    help="Datasets: inspect (info), fetch with a SHA-256 check (download), list the registry.",
    no_args_is_help=True,
)



@data_app.command("info")
def info(
    name: str = typer.Argument(
        ...,
        help="Dataset name (see `pyrec data list`) or a path: a dataset description (.toml), a "
        "CSV/Parquet table, RecBole atomic files (.inter) or an .inter.json/.item.json pair.",
    ),
    data_dir: Optional[Path] = typer.Option(
        None,
        "--data-dir",
        help="Folder holding the dataset folders (default $PYREC_DATA_DIR, "
        "then ~/.cache/pyrec/datasets).",
    ),
    min_rating: Optional[float] = typer.Option(
        None, "--min-rating", help="Implicit feedback: keep ratings >= this value (e.g. 4)."
    ),
    kcore: Optional[int] = typer.Option(None, "--kcore", help="k-core filter (min interactions)."),
    no_dedup: bool = typer.Option(False, "--no-dedup", help="Keep repeated (user, item) pairs."),
    split: list[str] = typer.Option(
        ["ratio", "loo", "temporal"],
        "--split",
        help=f"Split protocol(s) to size: {', '.join(_SPLITS)} (repeatable).",
    ),
    seed: int = typer.Option(0, "--seed", help="Seed of the ratio split."),
) -> None:
    """Print users, items, interactions, density and split sizes of a dataset."""
    from rich.console import Console
    from rich.table import Table

    from pyrec.data import check_split, default_min_rating, load_dataset, split_data
    from pyrec.diagnostics import PyrecError

    console = Console()
    for s in split:
        if s not in _SPLITS:
            fail(
                ValueError(
                    f"The '--split' option must be one of {list(_SPLITS)}. Got {s!r} instead."
                )
            )
    try:
        data = load_dataset(name, data_dir, min_rating=min_rating, dedup=not no_dedup, kcore=kcore)
        default_threshold = default_min_rating(name)
    except PyrecError as e:
        fail(e)
    t = Table(title=f"{data.name}", show_header=True)
    t.add_column("statistic")
    t.add_column("value", justify="right")
    t.add_row("users", f"{data.n_users:,}")
    t.add_row("items", f"{data.n_items:,}")
    t.add_row("interactions", f"{data.n_interactions:,}")
    t.add_row("density", f"{data.density:.4%}")
    for key in (
        "raw_rows", "duplicates_dropped", "min_rating", "below_threshold_dropped", "kcore",
        "kcore_removed_interactions", "items_without_text", "items_with_empty_text",
        "items_without_title", "items_title_from_description", "meta_duplicate_asins",
        "users_without_items",
    ):  # fmt: skip
        if data.meta.get(key) is not None:
            v = data.meta[key]
            t.add_row(key.replace("_", " "), f"{v:,}" if isinstance(v, int) else str(v))
    with_text = sum(1 for x in data.item_text if x)
    t.add_row("items with text", f"{with_text:,}")
    unit = data.meta.get("timestamp_unit")
    order = {"s": "timestamp (Unix s)", "position": "sequence position (not a time)",
             "row": "file order (no order column)"}.get(unit)  # fmt: skip
    if order:
        t.add_row("order", order)
    t.add_row("default min rating (train, evaluate)",
              "none (all kept)" if default_threshold is None else f"{default_threshold:g}")  # fmt: skip
    console.print(t)

    st = Table(title="splits", show_header=True)
    for col in ("protocol", "train", "valid", "test", "users train-only / note"):
        st.add_column(
            col, justify="left" if col in ("protocol", "users train-only / note") else "right"
        )
    for s in split:
        try:
            sp = split_data(data, s, seed=seed)
            check_split(sp)
        except PyrecError as e:
            st.add_row(s, "-", "-", "-", f"not available: {e}")
            continue
        i = sp.info
        note = (
            f"{i['users_train_only']:,}" if "users_train_only" in i
            else f"cut-offs {i['cutoff_valid']} / {i['cutoff_test']}; "
            f"{i['test_users_without_train']:,} test users without train" if s == "temporal"
            else f"{i.get('users_without_valid', 0):,} users without valid"
        )  # fmt: skip
        st.add_row(sp.name, f"{i['n_train']:,}", f"{i['n_valid']:,}", f"{i['n_test']:,}", note)
    console.print(st)


@data_app.command("download")
def download(
    name: str = typer.Argument(..., help="Registered dataset name, e.g. ml-100k."),
    dest: Optional[Path] = typer.Option(
        None,
        "--dest",
        help="Data dir to download into (default $PYREC_DATA_DIR, then ~/.cache/pyrec/datasets).",
    ),
    allow_unverified: bool = typer.Option(
        False, "--allow-unverified", help="Accept files that have no pinned checksum."
    ),
) -> None:
    """Fetch a dataset from its official source, verifying its checksum (needs internet)."""
    from pyrec.data import download_dataset
    from pyrec.diagnostics import PyrecError

    try:
        folder = download_dataset(name, dest, allow_unverified=allow_unverified)
    except PyrecError as e:
        fail(e)
    typer.echo(f"{name}: files in {folder}")


@data_app.command("list")
def list_datasets() -> None:
    """List the registered datasets and where each is looked for."""
    from rich.console import Console
    from rich.table import Table

    from pyrec.data import DATASETS, resolve_data_dir

    root = resolve_data_dir()
    t = Table(title=f"datasets (data dir: {root})")
    for col in ("name", "folder", "present", "download"):
        t.add_column(col)
    for spec in DATASETS.values():
        present = all((root / spec.folder / f).is_file() for f in spec.files)
        t.add_row(spec.name, spec.folder, "yes" if present else "no",
                  "yes" if spec.remote else "manual")  # fmt: skip
    Console().print(t)


def register(app: typer.Typer) -> None:
    """Add the ``data`` command group to the `pyrec` app."""
    app.add_typer(data_app, name="data")
