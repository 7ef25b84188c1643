"""One small synthetic dataset written in each own-data format: CSV + text CSV with a dataset
description, RecBole atomic files, and the ``.inter.json``/``.item.json`` pair.

Interactions (the same in every format): users ``u00``..``u11`` (12), items ``i0``..``i9`` (10);
user ``u`` has items ``(u + k) % 10`` for ``k = 0..5`` (6 each, 72 distinct pairs), rating
``1 + (u + k) % 5`` and time ``1000 + 10 k + u`` (Unix s). Ratings >= 3 keep, per user, 3 of the
first 5 residues plus the 6th when ``u % 5 >= 2``: 6 users x 4 + 6 users x 3 = 42 rows (30 below).
"""

from __future__ import annotations

import json
from pathlib import Path

N_USERS, N_ITEMS, PER_USER = 12, 10, 6
N_ROWS = N_USERS * PER_USER  # 72
N_AT_LEAST_3 = 42


def rows():
    """``(user, item, rating, time)`` of the 72 interactions, user by user, oldest first."""
    return [
        (f"u{u:02d}", f"i{(u + k) % N_ITEMS}", 1 + (u + k) % 5, 1000 + 10 * k + u)
        for u in range(N_USERS)
        for k in range(PER_USER)
    ]


def write_csv(folder: Path, *, description: str | None = None) -> Path:
    """``ratings.csv`` + ``items.csv`` + ``shop.toml``; returns the description's path.

    Item text (title, genres, description): ``i1`` is ``"Toy & Co. Animation. Fun & games"``
    (tags and entities in the raw cells); ``i3`` has only markup (empty text); ``i99`` has no
    interactions. So 9 items with text, 1 empty, 1 unused text row.
    """
    folder.mkdir(parents=True, exist_ok=True)
    lines = ["user_id,item_id,rating,timestamp"] + [f"{u},{i},{r},{t}" for u, i, r, t in rows()]
    (folder / "ratings.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    items = ["item_id,title,genres,description"]
    for i in range(N_ITEMS):
        if i == 1:
            items.append('i1,<b>Toy</b> &amp; Co,Animation,"<p>Fun &amp;   games</p>"')
        elif i == 3:
            items.append("i3,,,<br/>")
        else:
            items.append(f"i{i},Item {i},Genre {i % 3},")
    items.append("i99,Unused,,")
    (folder / "items.csv").write_text("\n".join(items) + "\n", encoding="utf-8")
    desc = folder / "shop.toml"
    desc.write_text(
        description
        if description is not None
        else 'name = "my-shop"\n'
        "[interactions]\n"
        'path = "ratings.csv"\nuser = "user_id"\nitem = "item_id"\nrating = "rating"\n'
        'order = "timestamp"\norder_kind = "timestamp"\nmin_rating = 3\n'
        "[item_text]\n"
        'path = "items.csv"\nitem = "item_id"\nfields = ["title", "genres", "description"]\n'
        'separator = ". "\n',
        encoding="utf-8",
    )
    return desc


def write_recbole(folder: Path, name: str = "shop") -> Path:
    """``<name>.inter`` + ``<name>.item`` (RecBole atomic files); returns the ``.inter`` path.

    Text = the ``token_seq`` fields ``title`` and ``categories`` (``brand`` is a ``token``):
    ``i1`` -> ``"Toy & Co Deluxe. Toys Dolls"``; ``i3`` empty; ``i99`` unused.
    """
    folder.mkdir(parents=True, exist_ok=True)
    lines = ["user_id:token\titem_id:token\trating:float\ttimestamp:float"]
    lines += [f"{u}\t{i}\t{r}\t{t}.0" for u, i, r, t in rows()]
    inter = folder / f"{name}.inter"
    inter.write_text("\n".join(lines) + "\n", encoding="utf-8")
    items = ["item_id:token\ttitle:token_seq\tbrand:token\tcategories:token_seq"]
    for i in range(N_ITEMS):
        if i == 1:
            items.append('i1\tToy &amp; Co <i>Deluxe</i>\tAcme\tToys Dolls')
        elif i == 3:
            items.append("i3\t\tAcme\t")
        else:
            items.append(f'i{i}\t"Item" {i}\tBrand{i}\tCat{i % 2}')
    items.append("i99\tUnused\tAcme\tNone")
    (folder / f"{name}.item").write_text("\n".join(items) + "\n", encoding="utf-8")
    return inter


def write_json_pair(folder: Path, name: str = "shop") -> Path:
    """``<name>.inter.json`` + ``<name>.item.json``; returns the ``.inter.json`` path.

    Each user's list is its items oldest first, plus a user ``u_none`` with an empty list.
    Items: ``i1`` -> ``"Toy & Co. Acme. Toys > Dolls. Fun"``; ``i3`` empty title and text;
    ``i5`` empty title, text from its description; ``i9`` absent from ``.item.json``. So 8
    items with text, 1 empty, 1 without a record, 2 without a title.
    """
    folder.mkdir(parents=True, exist_ok=True)
    seqs: dict[str, list[str]] = {}
    for u, i, _, _ in rows():
        seqs.setdefault(u, []).append(i)
    seqs["u_none"] = []
    inter = folder / f"{name}.inter.json"
    inter.write_text(json.dumps(seqs), encoding="utf-8")
    items: dict[str, dict] = {}
    for i in range(N_ITEMS - 1):
        items[f"i{i}"] = {"title": f"Item {i}", "brand": "", "categories": [["Shop", f"C{i % 2}"]],
                          "description": ""}
    items["i1"] = {"title": "Toy &amp; Co", "brand": "Acme", "categories": [["Toys", "Toys", "Dolls"]],
                   "description": "<p>Fun</p>"}
    items["i3"] = {"title": "", "description": "<br>"}
    items["i5"] = {"title": "", "description": "Only a description"}
    (folder / f"{name}.item.json").write_text(json.dumps(items), encoding="utf-8")
    return inter


def write_amazon2018(folder: Path, category: str = "Shop") -> Path:
    """Amazon Review Data (2018) files of category ``category`` in ``folder/amazon-<category>``:
    ``<category>_5.json.gz`` (the 72 reviews, ``overall`` = rating) and ``meta_<category>.json.gz``;
    returns the data folder to pass as ``--data-dir`` (name ``amazon2018:<category>``).

    Metadata, as 2018 categories ship it: ``i1``'s title is an HTML fragment cut off inside a tag
    (``'Toy &amp; Co <span class="a'`` -> ``"Toy & Co"``); ``i3``'s title is only markup, so its
    description stands in (``"Plain mug"``); ``i1`` has a second row and ``z0`` (never reviewed)
    three rows: 3 repeated metadata rows. So 10 items with text, none empty.
    """
    import gzip

    root = folder / f"amazon-{category.lower()}"
    root.mkdir(parents=True, exist_ok=True)

    def write(name: str, records: list[dict]) -> None:
        with gzip.open(root / name, "wt", encoding="utf-8") as f:
            f.writelines(json.dumps(r) + "\n" for r in records)

    write(f"{category}_5.json.gz", [{"reviewerID": u, "asin": i, "overall": float(r), "unixReviewTime": t}
                                    for u, i, r, t in rows()])
    meta = [{"asin": f"i{i}", "title": f"Item {i}", "category": ["Shop", f"C{i % 2}"]} for i in range(N_ITEMS)]
    meta[1] = {"asin": "i1", "title": 'Toy &amp; Co <span class="a', "brand": "Acme"}
    meta[3] = {"asin": "i3", "title": '<div class="x"></div>', "description": ["<p>Plain mug</p>"]}
    meta += [{"asin": "i1", "title": "Toy again"}] + [{"asin": "z0", "title": f"Unreviewed {n}"} for n in range(3)]
    write(f"meta_{category}.json.gz", meta)
    return folder
