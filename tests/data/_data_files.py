"""Small files in the real MovieLens / Amazon / UniSRec formats, for malformed-input tests."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

GENRE_FLAGS_DRAMA = "|".join("1" if g == 8 else "0" for g in range(19))
GENRE_FLAGS_UNKNOWN = "|".join("1" if g == 0 else "0" for g in range(19))


def write_ml100k(
    folder: Path,
    data_lines: list[str] | None = None,
    item_lines: list[str] | None = None,
    user_lines: list[str] | None = None,
) -> Path:
    """A tiny ML-100K folder: u.data (tab), u.item (|, latin-1), u.user (|)."""
    folder.mkdir(parents=True, exist_ok=True)
    if data_lines is None:
        data_lines = [
            "1\t1\t5\t881250949",
            "1\t2\t3\t881250950",
            "2\t1\t4\t881250951",
            "2\t3\t2\t881250952",
            "3\t267\t4\t881250953",
        ]
    if item_lines is None:
        item_lines = [
            f"1|Misérables, Les (1995)|01-Jan-1995||http://x|{GENRE_FLAGS_DRAMA}",
            f"2|Invitation, The (Zaproszenie) (1986)|01-Jan-1986||http://y|{GENRE_FLAGS_DRAMA}",
            f"3|Toy Story (1995)|01-Jan-1995||http://z|{GENRE_FLAGS_DRAMA}",
            f"267|unknown||||{GENRE_FLAGS_UNKNOWN}",
        ]
    if user_lines is None:
        user_lines = ["1|24|M|technician|85711", "2|53|F|other|94043", "3|23|M|writer|32067"]
    (folder / "u.data").write_text("".join(f"{ln}\n" for ln in data_lines), encoding="ascii")
    (folder / "u.item").write_bytes("".join(f"{ln}\n" for ln in item_lines).encode("latin-1"))
    (folder / "u.user").write_text("".join(f"{ln}\n" for ln in user_lines), encoding="ascii")
    return folder


def write_ml1m(folder: Path, ratings: list[str] | None = None) -> Path:
    """A tiny ML-1M folder with ``::``-separated ratings.dat, movies.dat (latin-1), users.dat."""
    folder.mkdir(parents=True, exist_ok=True)
    ratings = ratings or [
        "1::1193::5::978300760",
        "1::661::3::978302109",
        "2::1193::4::978298413",
        "2::3408::4::978300275",
    ]
    movies = [
        "1193::One Flew Over the Cuckoo's Nest (1975)::Drama",
        "661::James and the Giant Peach (1996)::Animation|Children's|Musical",
        "3408::Misérables, Les (1998)::Drama",
    ]
    users = ["1::F::1::10::48067", "2::M::56::16::70072"]
    (folder / "ratings.dat").write_text("".join(f"{ln}\n" for ln in ratings), encoding="ascii")
    (folder / "movies.dat").write_bytes("".join(f"{ln}\n" for ln in movies).encode("latin-1"))
    (folder / "users.dat").write_text("".join(f"{ln}\n" for ln in users), encoding="ascii")
    return folder


def write_gz_jsonl(path: Path, records: list[dict]) -> Path:
    """A gzip'd JSON-lines file (Amazon 2018 format)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wt", encoding="utf-8") as f:
        for r in records:
            f.write(json.dumps(r) + "\n")
    return path


def write_unisrec(folder: Path, name: str, seqs: dict[int, list[int]], asins: list[str]) -> Path:
    """UniSRec-release files for full sequences (item indices), built as the release builds them."""
    folder.mkdir(parents=True, exist_ok=True)
    head = "user_id:token\titem_id_list:token_seq\titem_id:token\n"
    train, valid, test = [head], [head], [head]
    for u, s in seqs.items():
        for t in range(len(s) - 3, 0, -1):  # longest first
            train.append(f"{u}\t{' '.join(map(str, s[max(0, t - 50) : t]))}\t{s[t]}\n")
        valid.append(f"{u}\t{' '.join(map(str, s[max(0, len(s) - 52) : len(s) - 2]))}\t{s[-2]}\n")
        test.append(f"{u}\t{' '.join(map(str, s[max(0, len(s) - 51) : len(s) - 1]))}\t{s[-1]}\n")
    for part, rows in (("train", train), ("valid", valid), ("test", test)):
        (folder / f"{name}.{part}.inter").write_text("".join(rows), encoding="utf-8")
    (folder / f"{name}.item2index").write_text(
        "".join(f"{a}\t{i}\n" for i, a in enumerate(asins)), encoding="utf-8"
    )
    (folder / f"{name}.user2index").write_text(
        "".join(f"U{u}\t{u}\n" for u in seqs), encoding="utf-8"
    )
    (folder / f"{name}.text").write_text(
        "item_id:token\ttext:token_seq\n" + "".join(f"{a}\tText of {a}. \n" for a in asins),
        encoding="utf-8",
    )
    return folder
