"""Benchmark of the linkage model: accuracy on public data with ground truth, speed and memory.

    python3 bench/linkage.py [--quick] [--only febrl4,historical,world,scale,incremental,overhead,blocking]
                             [--sizes 100000,1000000] [--workdir DIR]

Prints one JSON object per measurement (and a summary) on stdout. Writes nothing into the repo:
stores live under --workdir (default: a temporary folder, removed afterwards).

Data sets (read from ../shared/data, never copied):
- FEBRL4: dataset4a (police) against dataset4b (health); truth rec-N-org ~ rec-N-dup-0.
- historical_50k: Splink's data set; records spread over the three sources by a hash of the id.
- world: fixtures.world.generate_world (the project's synthetic safeguarding world), once it exists.
- scale: copies of historical_50k with perturbed ids to reach 100k / 1M mentions (for speed only).

Accuracy: pairwise precision / recall / F1 of clusters at the clustering threshold ([identity]
threshold, default 0.95), clusters made with linkage.clusters.cluster_mentions (identity's
constrained agglomeration) over link_edges, evaluated with linkage.evaluate.evaluate_frames.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import resource
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

import polars as pl
import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from intel.config import load_config  # noqa: E402
from intel.store import Store  # noqa: E402
from linkage import features as F  # noqa: E402
from linkage.model import load_or_train  # noqa: E402
from linkage.scoring import score_all, score_mentions  # noqa: E402

DATA = Path(os.environ.get("SHARED_DATA", ROOT.parent / "shared" / "data"))
if not DATA.exists():
    DATA = Path("/work/shared/data")
UK_POSTCODE = re.compile(r"^([A-Z]{1,2}[0-9][A-Z0-9]?)\s*([0-9][A-Z]{2})$")


def out(obj: dict) -> None:
    print(json.dumps(obj, default=str), flush=True)


class PeakRSS:
    """Peak resident memory of this process (sampled every 50 ms) while in the block."""

    def __enter__(self):
        self.proc = psutil.Process()
        self.peak = self.proc.memory_info().rss
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()
        return self

    def _run(self):
        while not self._stop.wait(0.05):
            self.peak = max(self.peak, self.proc.memory_info().rss)

    def __exit__(self, *exc):
        self._stop.set()
        self._t.join()
        self.peak = max(self.peak, self.proc.memory_info().rss)

    @property
    def gib(self) -> float:
        return round(self.peak / 2**30, 2)


def uk_postcode(raw: str | None) -> str | None:
    if raw is None:
        return None
    m = UK_POSTCODE.match(raw.strip().upper())
    return f"{m.group(1)} {m.group(2)}" if m else None


# --- loaders: benchmark data -> mentions rows ----------------------------------------------------

def febrl4() -> tuple[pl.DataFrame, pl.DataFrame]:
    def read(name: str, source: str) -> pl.DataFrame:
        d = pl.read_csv(DATA / "febrl" / name, infer_schema_length=0)
        d = d.rename({c: c.strip() for c in d.columns}).with_columns(pl.all().str.strip_chars())
        dob = pl.col("date_of_birth").str.to_date("%Y%m%d", strict=False)
        addr = pl.concat_str([pl.col("street_number"), pl.col("address_1"), pl.col("address_2"), pl.col("suburb")],
                             separator=" ", ignore_nulls=True)
        return pl.DataFrame({
            "source": [source] * d.height,
            "record_id": d["rec_id"],
            "forename": d["given_name"].str.to_lowercase(),
            "surname": d["surname"].str.to_lowercase(),
            "dob": d.select(dob).to_series(),
            "address": d.select(addr.str.to_lowercase().str.replace_all(r"[^a-z0-9 ]", "")
                                .str.replace_all(r"\s+", " ").str.strip_chars()).to_series(),
            "postcode_raw": d["postcode"],
            "person": d["rec_id"].str.extract(r"rec-(\d+)-"),
        })
    rows = pl.concat([read("dataset4a.csv", "police"), read("dataset4b.csv", "health")])
    rows = rows.with_columns(pl.when(pl.col(c) == "").then(None).otherwise(pl.col(c)).alias(c)
                             for c in ("forename", "surname", "address", "postcode_raw"))
    return rows.drop("person"), rows.select("source", "record_id", "person")


def historical() -> tuple[pl.DataFrame, pl.DataFrame]:
    d = pl.read_parquet(DATA / "historical_figures_with_errors_50k.parquet")
    sources = pl.Series(["police", "social_care", "health"])
    src = (d["unique_id"].hash(seed=1) % 3).cast(pl.Int64)
    rows = pl.DataFrame({
        "source": [sources[i] for i in src.to_list()],
        "record_id": d["unique_id"],
        "forename": d["first_name"],
        "surname": d["surname"],
        "dob": d["dob"].str.to_date("%Y-%m-%d", strict=False),
        "sex": d["gender"].replace_strict({"male": "M", "female": "F"}, default=None),
        "postcode": [uk_postcode(p) for p in d["postcode_fake"].to_list()],
        "postcode_raw": d["postcode_fake"],
        "address": d["birth_place"],
    })
    truth = pl.DataFrame({"source": rows["source"], "record_id": rows["record_id"], "person": d["cluster"]})
    return rows, truth


def world(households: int, seed: int, workdir: Path) -> tuple[Path, pl.DataFrame] | None:
    try:
        from fixtures.world import generate_world
    except ImportError:
        return None
    w = workdir / f"world_{households}_{seed}"
    generate_world(w, households=households, seed=seed)
    truth = pl.read_csv(w / "truth" / "truth.csv", infer_schema_length=0)
    return w / "drop", truth


def load_rows(store: Store, rows: pl.DataFrame) -> int:
    return store.insert_df("mentions", F.mentions_frame(rows))


def scaled(rows: pl.DataFrame, n: int) -> pl.DataFrame:
    """Copies of ``rows`` with distinct record ids (and a shifted dob year per copy, so copies are
    other people) until ``n`` rows."""
    parts, k = [], 0
    while sum(p.height for p in parts) < n:
        parts.append(rows.with_columns(
            (pl.col("record_id") + f"~{k}").alias("record_id"),
            (pl.col("dob").dt.offset_by(f"{k * 7}d") if k else pl.col("dob")).alias("dob")))
        k += 1
    return pl.concat(parts).head(n)


# --- evaluation -----------------------------------------------------------------------------------

def threshold() -> float:
    return float(load_config().get("identity", {}).get("threshold", 0.95))


def evaluate(store: Store, truth: pl.DataFrame, thr: float) -> dict:
    from linkage.clusters import cluster_mentions
    from linkage.evaluate import evaluate_frames

    ids = store.df("SELECT mention_id FROM mentions")["mention_id"].to_list()
    edges = store.df("SELECT mention_a, mention_b, match_probability FROM link_edges WHERE match_probability >= ?",
                     [thr])
    c = cluster_mentions(ids, edges, thr)
    pred = pl.DataFrame({"mention_id": list(c.cluster_of.keys()), "person_id": list(c.cluster_of.values())})
    pred = pred.with_columns(pl.col("mention_id").str.split_exact(":", 1).struct.rename_fields(["source", "record_id"])
                             ).unnest("mention_id")
    res = evaluate_frames(pred, truth)
    # pairwise on edges alone (before clustering), for comparison with published edge-level figures
    e = edges.with_columns(pl.col("mention_a").str.split_exact(":", 1).struct.rename_fields(["sa", "ra"]),
                           pl.col("mention_b").str.split_exact(":", 1).struct.rename_fields(["sb", "rb"])
                           ).unnest("mention_a").unnest("mention_b")
    t = truth.select(pl.col("source").cast(pl.Utf8), pl.col("record_id").cast(pl.Utf8), pl.col("person").cast(pl.Utf8))
    e = (e.join(t.rename({"source": "sa", "record_id": "ra", "person": "pa"}), on=["sa", "ra"])
          .join(t.rename({"source": "sb", "record_id": "rb", "person": "pb"}), on=["sb", "rb"]))
    tp = e.filter(pl.col("pa") == pl.col("pb")).height
    true_pairs = int(t.group_by("person").len().select((pl.col("len") * (pl.col("len") - 1) / 2).sum()).item())
    p_e = tp / e.height if e.height else 1.0
    r_e = tp / true_pairs if true_pairs else 1.0
    res["edges_at_threshold"] = {"precision": round(p_e, 4), "recall": round(r_e, 4),
                                 "f1": round(2 * p_e * r_e / (p_e + r_e), 4) if p_e + r_e else 0.0}
    return res


def accuracy_run(name: str, rows: pl.DataFrame | None, truth: pl.DataFrame, workdir: Path,
                 drop: Path | None = None) -> dict:
    db = workdir / f"{name}.duckdb"
    with Store(db) as store, PeakRSS() as mem:
        if drop is not None:
            from intel.ingest import ingest_drop
            ingest_drop(store, drop)
        else:
            load_rows(store, rows)
        n = int(store.scalar("SELECT count(*) FROM mentions"))
        t = time.perf_counter()
        model = load_or_train(store, retrain=True)
        t_train = time.perf_counter() - t
        t = time.perf_counter()
        rep = score_all(store, model)
        t_score = time.perf_counter() - t
        thr = threshold()
        t = time.perf_counter()
        ev = evaluate(store, truth, thr)
        t_eval = time.perf_counter() - t
    res = {"bench": "accuracy", "dataset": name, "mentions": n, "threshold": thr, "edges": rep["edges"],
           "train_s": round(t_train, 1), "score_s": round(t_score, 1), "cluster_eval_s": round(t_eval, 1),
           "peak_rss_gib": mem.gib, "evaluation": ev, "prior": model.training.get("prior")}
    out(res)
    return res
