"""pyrec.data: dataset registry, loaders, preprocessing and splits.

Loaders read the publishers' own files (MovieLens 100K/1M, Amazon Review Data 2018, the UniSRec
release), common public formats (RecBole atomic files, the ``.inter.json``/``.item.json`` pair of
LLM-recommendation work), generic CSV/Parquet, and a user's own files named by a dataset
description (``.toml``, :mod:`pyrec.data.description`) into one :class:`InteractionData`; :func:`load_dataset` adds
de-duplication, an implicit-feedback threshold and k-core filtering; :func:`split_data` makes
seeded ratio / leave-one-out / global temporal splits and :func:`check_split` verifies them.
"""

from pyrec.data._types import InteractionData, Split
from pyrec.data.download import download_dataset
from pyrec.data.preprocess import binarize, compact, count_duplicates, dedup, kcore_filter
from pyrec.data.registry import (
    DATASETS,
    DatasetSpec,
    dataset_label,
    default_min_rating,
    get_spec,
    load_dataset,
    resolve_data_dir,
)
from pyrec.data.split import PROTOCOLS, check_split, split_data
from pyrec.data.table import load_table

__all__ = [
    "InteractionData",
    "Split",
    "load_dataset",
    "split_data",
    "check_split",
    "load_table",
    "DATASETS",
    "DatasetSpec",
    "default_min_rating",
    "dataset_label",
    "get_spec",
    "resolve_data_dir",
    "download_dataset",
    "binarize",
    "dedup",
    "kcore_filter",
    "compact",
    "count_duplicates",
    "PROTOCOLS",
]
