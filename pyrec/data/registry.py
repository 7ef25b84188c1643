"""The dataset registry, data-folder resolution and :func:`load_dataset`.

Where data comes from (first match wins): the explicit ``data_dir`` argument (``--data-dir``),
then ``$PYREC_DATA_DIR``, then ``~/.cache/pyrec/datasets``. Nothing is ever downloaded
implicitly; :func:`pyrec.data.download_dataset` (``pyrec data download NAME``) does that on request.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from pyrec.data._types import InteractionData
from pyrec.diagnostics import DataError

__all__ = [
    "DatasetSpec",
    "RemoteFile",
    "DATASETS",
    "resolve_data_dir",
    "get_spec",
    "load_dataset",
    "default_min_rating",
    "file_format",
    "dataset_label",
]

DEFAULT_CACHE = Path("~/.cache/pyrec/datasets")


@dataclass(frozen=True)
class RemoteFile:
    """One file of an official distribution.

    Attributes:
        url: the publisher's URL.
        sha256: expected SHA-256 of the downloaded file (hex), or None where none is pinned.
        md5: the publisher's own MD5 (GroupLens publishes ``<zip>.md5``), checked as well.
        extract_sha256: for a zip, expected SHA-256 of members (path inside the zip -> hex).
    """

    url: str
    sha256: str | None = None
    md5: str | None = None
    extract_sha256: dict = field(default_factory=dict)


@dataclass(frozen=True)
class DatasetSpec:
    """A registered dataset: its folder under the data dir, its loader and its source.

    Attributes:
        name: registry name, e.g. ``"ml-100k"``.
        folder: sub-folder of the data dir holding the raw files.
        kind: ``"ml-100k"``, ``"ml-1m"``, ``"amazon2018"`` or ``"unisrec"``.
        arg: loader argument (Amazon category ``"Gift_Cards"``, UniSRec name ``"Scientific"``).
        files: the raw files the loader needs (relative to ``folder``).
        citation: what to cite.
        homepage: where a human gets the data.
        remote: files :func:`download_dataset` fetches (empty: manual download only).
        min_rating: the dataset's default rating threshold (keep ratings >= it) in
            ``pyrec train`` / ``pyrec evaluate``, or None (keep every interaction).
    """

    name: str
    folder: str
    kind: str
    arg: str = ""
    files: tuple[str, ...] = ()
    citation: str = ""
    homepage: str = ""
    remote: tuple[RemoteFile, ...] = ()
    min_rating: float | None = None


_ML = "https://files.grouplens.org/datasets/movielens"
_ML_CITE = (
    "F. Maxwell Harper and Joseph A. Konstan. 2015. The MovieLens Datasets: History and Context. "
    "ACM TiiS 5(4), Article 19. DOI 10.1145/2827872"
)
_AMZ = "https://mcauleylab.ucsd.edu/public_datasets/data/amazon_v2"
_AMZ_CITE = (
    "Jianmo Ni, Jiacheng Li, Julian McAuley. Justifying recommendations using distantly-labeled "
    "reviews and fine-grained aspects. EMNLP-IJCNLP 2019"
)

#: the registered datasets by name
DATASETS: dict[str, DatasetSpec] = {
    "ml-100k": DatasetSpec(
        "ml-100k", "ml-100k", "ml-100k", files=("u.data", "u.item"),
        citation=_ML_CITE, homepage="https://grouplens.org/datasets/movielens/100k/",
        min_rating=3.0,  # ratings >= 3 as positives, the study's protocol (as RecBole's)
        remote=(RemoteFile(
            f"{_ML}/ml-100k.zip", md5="0e33842e24a9c977be4e0107933c0723",
            extract_sha256={  # sha256 of the members, as listed in ../shared/datasets/README.md
                "ml-100k/u.data":
                    "06416e597f82b7342361e41163890c81036900f418ad91315590814211dca490",
                "ml-100k/u.item":
                    "553841ebc7de3a0fd0d6b62a204ea30c1e651aacfb2814c7a6584ac52f2c5701",
                "ml-100k/u.user":
                    "f120e114da2e8cf314fd28f99417c94ae9ddf1cb6db8ce0e4b5995d40e90e62c",
            },
        ),),
    ),
    "ml-1m": DatasetSpec(
        "ml-1m", "ml-1m", "ml-1m", files=("ratings.dat", "movies.dat"),
        citation=_ML_CITE, homepage="https://grouplens.org/datasets/movielens/1m/",
        min_rating=3.0,
        remote=(RemoteFile(f"{_ML}/ml-1m.zip", md5="c4d9eecfca2ab87c1945afe126590906"),),
    ),
    "amazon-gift_cards": DatasetSpec(
        "amazon-gift_cards", "amazon-gift_cards", "amazon2018", "Gift_Cards",
        files=("Gift_Cards_5.json.gz", "meta_Gift_Cards.json.gz"),
        citation=_AMZ_CITE, homepage="https://nijianmo.github.io/amazon/index.html",
        remote=(
            RemoteFile(
                f"{_AMZ}/categoryFilesSmall/Gift_Cards_5.json.gz",
                sha256="41e1f0e50d3c1c9d7d949fb6315944c8bde51ea6b7429a29fdd0d02cbc07ef25",
            ),
            RemoteFile(
                f"{_AMZ}/metaFiles2/meta_Gift_Cards.json.gz",
                sha256="07fd154b7275ab9b1537e3802913508c7a5f84ed00f73201cd3fa18b2b51b342",
            ),
        ),
    ),
    "amazon-scientific": DatasetSpec(
        "amazon-scientific", "amazon-scientific", "unisrec", "Scientific",
        files=tuple(f"Scientific.{s}" for s in
                    ("text", "item2index", "train.inter", "valid.inter", "test.inter")),
        citation="Yupeng Hou et al. Towards Universal Sequence Representation Learning for "
        "Recommender Systems. KDD 2022; and " + _AMZ_CITE,
        homepage="https://github.com/RUCAIBox/UniSRec (dataset release linked from its README)",
    ),
}  # fmt: skip


def resolve_data_dir(data_dir: str | Path | None = None) -> Path:
    """The data folder: ``data_dir``, else ``$PYREC_DATA_DIR``, else ``~/.cache/pyrec/datasets``.

    The folder need not exist (the caller reports a missing dataset).
    """
    if data_dir is not None and str(data_dir) != "":
        return Path(data_dir).expanduser()
    env = os.environ.get("PYREC_DATA_DIR")
    if env:
        return Path(env).expanduser()
    return DEFAULT_CACHE.expanduser()


def get_spec(name: str) -> DatasetSpec:
    """Registry entry for ``name``; also ``amazon2018:<Category>`` and ``unisrec:<Name>``.

    Raises:
        DataError: unknown name (lists the registered ones).
    """
    if name in DATASETS:
        return DATASETS[name]
    kind, _, arg = name.partition(":")
    if kind == "amazon2018" and arg:
        return DatasetSpec(
            f"amazon-{arg.lower()}", f"amazon-{arg.lower()}", "amazon2018", arg,
            files=(f"{arg}_5.json.gz", f"meta_{arg}.json.gz"), citation=_AMZ_CITE,
            homepage="https://nijianmo.github.io/amazon/index.html",
            remote=(RemoteFile(f"{_AMZ}/categoryFilesSmall/{arg}_5.json.gz"),
                    RemoteFile(f"{_AMZ}/metaFiles2/meta_{arg}.json.gz")),
        )  # fmt: skip
    if kind == "unisrec" and arg:
        return DatasetSpec(
            f"amazon-{arg.lower()}", f"amazon-{arg.lower()}", "unisrec", arg,
            files=tuple(f"{arg}.{s}" for s in ("text", "item2index", "train.inter",
                                                "valid.inter", "test.inter")),
            homepage=DATASETS["amazon-scientific"].homepage,
        )  # fmt: skip
    raise DataError(
        f"Unknown dataset {name!r}. Expected one of {sorted(DATASETS)}, 'amazon2018:<Category>', "
        "'unisrec:<Name>', or a path to a dataset description (.toml), a .csv/.tsv/.parquet "
        "file, RecBole atomic files (.inter) or an .inter.json/.item.json pair."
    )


def dataset_folder(spec: DatasetSpec, data_dir: str | Path | None = None) -> Path:
    """The folder holding ``spec``'s raw files; raises :class:`DataError` saying where it looked
    and how to get the data when a file is missing."""
    root = resolve_data_dir(data_dir)
    folder = root / spec.folder
    missing = [f for f in spec.files if not (folder / f).is_file()]
    if missing:
        how = (
            f"run `pyrec data download {spec.name}`"
            if spec.remote
            else f"download it from {spec.homepage}"
        )
        source = (
            "--data-dir" if data_dir else "$PYREC_DATA_DIR" if os.environ.get("PYREC_DATA_DIR")
            else "the default cache"
        )  # fmt: skip
        raise DataError(
            f"Dataset {spec.name!r} not found: looked in {folder} (data dir from {source}); "
            f"missing {missing}. To get it, {how} (or place the files there, or point "
            "--data-dir / $PYREC_DATA_DIR at the folder that contains "
            f"'{spec.folder}/')."
        )
    return folder


_TABLE_SUFFIXES = (".csv", ".tsv", ".txt", ".parquet", ".pq")


def file_format(name: str | Path) -> str | None:
    """What a dataset argument that is a file path holds, from its name; None for a registry name.

    Returns:
        ``"description"`` (``.toml``, :mod:`pyrec.data.description`), ``"json-pair"``
        (``.inter.json``, :mod:`pyrec.data.jsonpair`), ``"recbole"`` (``.inter``,
        :mod:`pyrec.data.recbole`), ``"table"`` (``.csv``/``.tsv``/``.txt``/``.parquet``/``.pq``)
        or None.
    """
    n = str(name).lower()
    if n.endswith(".toml"):
        return "description"
    if n.endswith(".inter.json"):
        return "json-pair"
    if n.endswith(".inter"):
        return "recbole"
    if Path(n).suffix in _TABLE_SUFFIXES:
        return "table"
    return None


def dataset_label(name: str) -> str:
    """A dataset argument as a folder-name part: a registry name with ``:`` replaced by ``_``, a
    path's file name without its format suffix (``data/shop.toml`` -> ``shop``)."""
    if file_format(name) is None:
        return str(name).replace(":", "_")
    base = Path(name).name
    for suffix in (".inter.json", ".inter", ".toml"):
        if base.lower().endswith(suffix):
            return base[: -len(suffix)]
    return Path(base).stem


def default_min_rating(name: str | Path) -> float | None:
    """The dataset's default rating threshold: a registered dataset's ``DatasetSpec.min_rating``
    (3 for MovieLens 100K/1M, None for the Amazon sets), a description file's
    ``interactions.min_rating``, None for any other file.

    Raises:
        DataError: an unknown name, or a description file that does not exist.
        ConfigError: an invalid description file.
    """
    kind = file_format(name)
    if kind == "description":
        from pyrec.data.description import read_description

        return read_description(name).interactions.min_rating
    if kind is not None:
        return None
    return get_spec(str(name)).min_rating


def _load_raw(name: str, data_dir) -> InteractionData:
    kind = file_format(name)
    p = Path(name)
    if kind == "description":
        from pyrec.data.description import load_description

        return load_description(p)
    if kind == "recbole":
        from pyrec.data.recbole import load_recbole

        return load_recbole(p)
    if kind == "json-pair":
        from pyrec.data.jsonpair import load_json_pair

        return load_json_pair(p)
    if str(name).lower().endswith((".item", ".item.json")):
        raise DataError(
            f"{name}: this is an item file; pass the interactions file beside it "
            f"({'.inter.json' if str(name).lower().endswith('.json') else '.inter'}), which "
            "reads it, or a dataset description (.toml) naming both."
        )
    if kind == "table":
        from pyrec.data.table import load_table, read_table

        cols = [str(c) for c in read_table(p, []).columns]

        def pick(*names):
            return next((c for c in names if c in cols), None)

        user = pick("user_id", "user", "userId", "UserID")
        item = pick("item_id", "item", "itemId", "movieId", "MovieID", "asin")
        if user is None or item is None:
            raise DataError(
                f"{p}: cannot find user/item columns among {cols}; expected e.g. 'user_id' and "
                "'item_id', or name them in a dataset description (.toml, see "
                "pyrec.data.description), or call pyrec.data.load_table(path, user_col, "
                "item_col, ...)."
            )
        return load_table(
            p, user, item, pick("rating", "Rating"), pick("timestamp", "Timestamp", "time")
        )
    spec = get_spec(name)
    folder = dataset_folder(spec, data_dir)
    if spec.kind == "ml-100k":
        from pyrec.data.movielens_100k import load_ml100k

        return load_ml100k(folder, spec.name)
    if spec.kind == "ml-1m":
        from pyrec.data.movielens_1m import load_ml1m

        return load_ml1m(folder, spec.name)
    if spec.kind == "amazon2018":
        from pyrec.data.amazon2018 import load_amazon2018

        return load_amazon2018(folder, spec.arg, spec.name)
    from pyrec.data.unisrec import load_unisrec

    return load_unisrec(folder, spec.arg, spec.name)


def load_dataset(
    name: str,
    data_dir: str | Path | None = None,
    *,
    min_rating: float | None = None,
    dedup: bool = True,
    kcore: int | None = None,
) -> InteractionData:
    """Load a registered dataset (or a CSV/Parquet path) and preprocess it.

    Steps, in order: read the raw files; drop repeated (user, item) pairs keeping the latest
    (``dedup``); keep ratings ``>= min_rating`` (implicit feedback); iterative ``kcore`` filter.

    Args:
        name: ``"ml-100k"``, ``"ml-1m"``, ``"amazon-gift_cards"``, ``"amazon-scientific"``,
            ``"amazon2018:<Category>"``, ``"unisrec:<Name>"``, or a path (see
            :func:`file_format`): a dataset description ``.toml``
            (:mod:`pyrec.data.description`: your own files, columns and item text), RecBole
            atomic files ``<name>.inter`` (+ ``<name>.item`` beside it), an
            ``<name>.inter.json`` (+ ``<name>.item.json``) pair, or a ``.csv``/``.parquet``
            table with columns like ``user_id``, ``item_id`` (``rating``, ``timestamp``
            optional).
        data_dir: folder holding ``<dataset folder>/``; default ``$PYREC_DATA_DIR``, then
            ``~/.cache/pyrec/datasets``.
        min_rating: rating threshold (inclusive) for implicit feedback, e.g. 4; None keeps all
            (the dataset's own default, :func:`default_min_rating`, is applied by ``pyrec
            train`` / ``pyrec evaluate``, not here).
        dedup: drop repeated pairs (keep latest).
        kcore: minimum interactions per user and per item, or None.

    Returns:
        InteractionData. ``meta`` records ``raw_rows``, ``duplicates_dropped``, ``min_rating``,
        ``below_threshold_dropped``, ``kcore`` and ``kcore_removed_*``.
        ML-100K: 100,000 rows, 943 users, 1,682 items (55,375 rows with ``min_rating=4``).

    Raises:
        DataError: unknown name, missing files (says where it looked and how to get them),
            malformed files, a missing column (naming it and the file).
        ConfigError: bad ``min_rating`` or ``kcore``; an invalid dataset description (naming
            the file and the key).
    """
    from pyrec.data import preprocess as pp

    data = _load_raw(name, data_dir)
    data.meta["raw_rows"] = len(data)
    data.meta["raw_duplicate_rows"] = pp.count_duplicates(data)
    if dedup:
        data = pp.dedup(data)
    else:
        data.meta["duplicates_dropped"] = 0
    if min_rating is not None:
        data = pp.binarize(data, min_rating)
    if kcore is not None:
        data = pp.kcore_filter(data, kcore)
    return data
