"""Benchmark of encoded (privacy-preserving) linkage against clear linkage (issue 18).

    flock -w 1800 /tmp/bench.lock python3 bench/pprl.py [--only world,febrl4,febrl4_one_to_one,historical,encode,link]
        [--households 1000] [--encode-households 49000] [--link-households 4900] [--workdir DIR]

- world: one generated world (seed 5), linked in clear and encoded through the real pipeline
  (intel encode -> intel ingest -> train + score -> clusters): pair precision / recall / F1 at
  the clustering threshold, and the planted look-alikes (twins, namesakes) merged.
- febrl4: FEBRL4 (dataset4a as police, dataset4b as health) written as a clear drop, then the
  same in clear and encoded: threshold clustering (the default mode), then one-to-one mode
  (``linkage/one_to_one.py``: each of 4a and 4b holds one record per person), with the defaults
  and with ``twin_weight = 0`` (what a hub linking two such registers sets, docs/bench-linkage.md).
- historical: historical_50k as a drop (``historical_drop``: dobs moved into the contract's
  range), clear and encoded; not in the default list (two link runs of 50k mentions).
- encode: ``encode_drop`` (read, row checks, encode, write, lookup) on a generated drop of about
  1M mentions.
- link: train + score + cluster (``linkage.run.link``, full) on a generated world of about 100k
  mentions, clear and encoded, in one process one after the other: the ratio is the figure.

One JSON object per measurement on stdout. Stores and drops live under --workdir (default: a
temporary folder, removed afterwards).
"""

from __future__ import annotations

import argparse
import copy
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import polars as pl
import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.config import load_config  # noqa: E402
from core.store import Store  # noqa: E402
from fixtures.world import generate_world  # noqa: E402
from ingest.drops import ingest_drop  # noqa: E402
from ingest.encode import encode_drop  # noqa: E402
from linkage.evaluate import evaluate_frames  # noqa: E402
from linkage.export import persons_frame  # noqa: E402
from linkage.run import link  # noqa: E402

# bench/linkage.py's loaders and accuracy run (imported by path: bench/ is not a package, and
# its name would shadow the linkage package)
import importlib.util  # noqa: E402

_spec = importlib.util.spec_from_file_location("bench_linkage", ROOT / "bench" / "linkage.py")
bench_linkage = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench_linkage)
DATA, PeakRSS, accuracy_run, out = bench_linkage.DATA, bench_linkage.PeakRSS, bench_linkage.accuracy_run, bench_linkage.out

KEY = "bench-only linkage key, 32+ bytes: not a real partners' key"


def key_file(workdir: Path) -> Path:
    path = workdir / "bench.key"
    path.write_text(KEY)
    return path


def both_ways(name: str, clear_drop: Path, truth: pl.DataFrame, workdir: Path,
              persons: pl.DataFrame | None = None) -> dict:
    enc = workdir / f"{name}_encoded"
    t = time.perf_counter()
    encode_drop(clear_drop, enc, key_file(workdir))
    encode_s = time.perf_counter() - t
    res = {}
    for kind, drop in (("clear", clear_drop), ("encoded", enc)):
        res[kind] = accuracy_run(f"{name}_{kind}", None, truth, workdir, drop=drop, persons=persons)
    c, e = res["clear"]["evaluation"], res["encoded"]["evaluation"]
    summary = {"bench": "pprl_accuracy", "dataset": name, "mentions": res["clear"]["mentions"],
               "encode_s": round(encode_s, 1),
               "clear": {k: round(c["pairwise"][k], 4) for k in ("precision", "recall", "f1")},
               "encoded": {k: round(e["pairwise"][k], 4) for k in ("precision", "recall", "f1")},
               "f1_gap": round(c["pairwise"]["f1"] - e["pairwise"]["f1"], 4),
               "f1_by_threshold": {kind: {t: v["pairwise"]["f1"] for t, v in res[kind]["sweep"].items()}
                                   for kind in res}}
    if persons is not None:
        summary["lookalikes_merged"] = {"clear": c["safety"], "encoded": e["safety"]}
    out(summary)
    return summary


def one_to_one_both_ways(name: str, clear_drop: Path, truth: pl.DataFrame, workdir: Path,
                         **linkage: float) -> dict:
    """A full link run in one-to-one mode (police x health) under [linkage] overrides, clear and
    encoded from the same clear drop, evaluated on the persons each writes."""
    enc = workdir / f"{name}_encoded_drop"
    if not enc.exists():
        encode_drop(clear_drop, enc, key_file(workdir))
    cfg = copy.deepcopy(load_config())
    cfg["linkage"].update(linkage)
    res: dict = {"bench": "pprl_one_to_one", "dataset": name, "linkage": linkage}
    for kind, drop in (("clear", clear_drop), ("encoded", enc)):
        with Store(workdir / f"{name}_o2o_{kind}_{len(linkage)}.duckdb") as store:
            ingest_drop(store, drop)
            t = time.perf_counter()
            report = link(store, config=cfg, retrain=True, one_to_one=["police", "health"])
            seconds = time.perf_counter() - t
            ev = evaluate_frames(persons_frame(store), truth)
        o2o = report["scoring"].get("one_to_one") or {}
        res[kind] = {"seconds": round(seconds, 1),
                     **{k: o2o.get(k) for k in ("matched_from_blocking", "matched_from_residual")},
                     **{k: round(ev["pairwise"][k], 4) for k in ("precision", "recall", "f1")}}
    res["f1_gap"] = round(res["clear"]["f1"] - res["encoded"]["f1"], 4)
    out(res)
    return res


def febrl4_drop(workdir: Path) -> tuple[Path, pl.DataFrame]:
    """FEBRL4 as a clear contract drop: dataset4a as police, dataset4b as health."""
    drop = workdir / "febrl4_drop"
    drop.mkdir()
    truth = []
    for name, source, role, event_type in (("dataset4a.csv", "police", "victim", "other"),
                                           ("dataset4b.csv", "health", "patient", "gp")):
        d = pl.read_csv(DATA / "febrl" / name, infer_schema_length=0)
        d = d.rename({c: c.strip() for c in d.columns}).with_columns(pl.all().str.strip_chars())
        dob = pl.col("date_of_birth").str.to_date("%Y%m%d", strict=False).dt.strftime("%Y-%m-%d")
        frame = d.select(
            pl.col("rec_id").alias("record_id"), (pl.lit("E-") + pl.col("rec_id")).alias("event_id"),
            pl.lit("2020-01-01").alias("event_date"), pl.lit(role).alias("role"), pl.lit(event_type).alias("event_type"),
            pl.col("given_name").alias("forename"), pl.col("surname"), dob.alias("dob"),
            pl.concat_str([pl.col("street_number"), pl.col("address_1"), pl.col("address_2"), pl.col("suburb")],
                          separator=" ", ignore_nulls=True).alias("address"),
            pl.col("postcode"))
        frame.write_csv(drop / f"{source}.csv")
        truth.append(d.select(pl.lit(source).alias("source"), pl.col("rec_id").alias("record_id"),
                              pl.col("rec_id").str.extract(r"rec-(\d+)-").alias("person")))
    return drop, pl.concat(truth)


def historical_drop(workdir: Path) -> tuple[Path, pl.DataFrame]:
    """historical_50k as a clear contract drop, records spread over the three sources by a hash of
    the id (as bench/linkage.py does). The contract refuses a dob before 1900 and every dob here is
    earlier (up to 1892), so dobs are moved 200 years later (1700-1892 -> 1900-2092; day and month
    as they are, a 29 February that does not exist in its new year is dropped) and earlier ones
    left out: clear and encoded read the same drop, so the comparison is fair, but the figures are
    not bench-linkage.md's (which loads the rows bypassing the contract)."""
    drop = workdir / "historical_drop"
    drop.mkdir()
    d = pl.read_parquet(DATA / "historical_figures_with_errors_50k.parquet")
    year = pl.col("dob").str.extract(r"^(\d{4})-", 1).cast(pl.Int64, strict=False)
    moved = pl.when(year >= 1700).then(
        pl.format("{}{}", (year + 200).cast(pl.String), pl.col("dob").str.slice(4))
        .str.to_date("%Y-%m-%d", strict=False).dt.strftime("%Y-%m-%d"))
    d = d.with_columns(moved.alias("dob"), (pl.col("unique_id").hash(seed=1) % 3).cast(pl.Int64).alias("_src"))
    truth = []
    for i, (source, role, event_type) in enumerate((("police", "other", "other"), ("social_care", "other", "other"),
                                                    ("health", "other", "gp"))):
        part = d.filter(pl.col("_src") == i)
        part.select(
            pl.col("unique_id").alias("record_id"), (pl.lit("E-") + pl.col("unique_id")).alias("event_id"),
            pl.lit("2026-01-01").alias("event_date"), pl.lit(role).alias("role"), pl.lit(event_type).alias("event_type"),
            pl.col("first_name").alias("forename"), pl.col("surname"), pl.col("dob"),
            pl.col("gender").replace_strict({"male": "M", "female": "F"}, default=None).alias("sex"),
            pl.col("birth_place").alias("address"), pl.col("postcode_fake").alias("postcode"),
        ).write_csv(drop / f"{source}.csv")
        truth.append(part.select(pl.lit(source).alias("source"), pl.col("unique_id").alias("record_id"),
                                 pl.col("cluster").alias("person")))
    return drop, pl.concat(truth)


def world_drop(households: int, seed: int, workdir: Path) -> tuple[Path, pl.DataFrame, pl.DataFrame]:
    w = workdir / f"world_{households}_{seed}"
    if not (w / "drop" / "manifest.json").exists():   # a --workdir kept from an earlier run is reused
        generate_world(w, households=households, seed=seed)
    truth = pl.read_csv(w / "truth" / "truth.csv", infer_schema_length=0)
    persons = pl.read_csv(w / "truth" / "persons.csv", infer_schema_length=0)
    return w / "drop", truth, persons


class PeakRSSWithWorkers(PeakRSS):
    """PeakRSS of this process and its children together (intel encode's worker processes)."""

    def _rss(self) -> int:
        procs = [self.proc, *self.proc.children(recursive=True)]
        total = 0
        for p in procs:
            try:
                total += p.memory_info().rss
            except psutil.Error:   # a worker that ended between listing and reading
                pass
        return total

    def _run(self):
        while not self._stop.wait(0.05):
            self.peak = max(self.peak, self._rss())


def encode_run(households: int, workdir: Path) -> dict:
    drop, _, _ = world_drop(households, 5, workdir)
    mentions = sum(pl.scan_csv(f, infer_schema=False).select(pl.len()).collect().item() for f in drop.glob("*.csv"))
    for left in ("encode_out", "encode_out.local"):   # from an earlier run in the same --workdir
        shutil.rmtree(workdir / left, ignore_errors=True)
    with PeakRSSWithWorkers() as mem:
        t = time.perf_counter()
        res = encode_drop(drop, workdir / "encode_out", key_file(workdir))
        seconds = time.perf_counter() - t
    r = {"bench": "pprl_encode", "households": households, "mentions": mentions, "encoded": res["encoded"],
         "seconds": round(seconds, 1), "mentions_per_s": round(mentions / seconds), "peak_rss_gib": mem.gib}
    out(r)
    return r


def link_run(households: int, workdir: Path) -> dict:
    drop, _, _ = world_drop(households, 5, workdir)
    enc = workdir / "link_encoded"
    encode_drop(drop, enc, key_file(workdir))
    config = load_config()
    res: dict = {"bench": "pprl_link", "households": households}
    for kind, d in (("clear", drop), ("encoded", enc)):
        with Store(workdir / f"link_{kind}.duckdb") as store, PeakRSS() as mem:
            ingest_drop(store, d)
            t = time.perf_counter()
            rep = link(store, retrain=True, full=True, config=config)
            res[kind] = {"mentions": int(store.scalar("SELECT count(*) FROM mentions")),
                         "link_s": round(time.perf_counter() - t, 1), "edges": rep.get("edges"),
                         "peak_rss_gib": mem.gib}
    res["ratio"] = round(res["encoded"]["link_s"] / res["clear"]["link_s"], 2)
    out(res)
    return res


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", default="world,febrl4,encode,link")
    ap.add_argument("--households", type=int, default=1000)
    ap.add_argument("--encode-households", type=int, default=49000)
    ap.add_argument("--link-households", type=int, default=4900)
    ap.add_argument("--workdir", default=None)
    args = ap.parse_args()
    only = set(args.only.split(","))
    workdir = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="bench-pprl-"))
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        if "world" in only:
            drop, truth, persons = world_drop(args.households, 5, workdir)
            both_ways("world", drop, truth, workdir, persons)
        if "febrl4" in only:
            drop, truth = febrl4_drop(workdir)
            both_ways("febrl4", drop, truth, workdir)
            # FEBRL replaces forenames outright, which the twin level reads as twins (as in
            # bench/linkage.py): the same with the twin level left out ([linkage] twin_weight = 0)
            cfg = workdir / "no_twin.toml"
            cfg.write_text("[linkage]\ntwin_weight = 0\n")
            old = os.environ.get("INTEL_CONFIG")
            os.environ["INTEL_CONFIG"] = str(cfg)
            try:
                both_ways("febrl4_twin_level_off", drop, truth, workdir)
            finally:
                os.environ.pop("INTEL_CONFIG", None) if old is None else os.environ.__setitem__("INTEL_CONFIG", old)
        if "febrl4" in only or "febrl4_one_to_one" in only:
            drop, truth = febrl4_drop(workdir) if "febrl4" not in only else (drop, truth)
            one_to_one_both_ways("febrl4", drop, truth, workdir)
            one_to_one_both_ways("febrl4", drop, truth, workdir, twin_weight=0.0)
        if "historical" in only:
            drop, truth = historical_drop(workdir)
            both_ways("historical_50k", drop, truth, workdir)
        if "encode" in only:
            encode_run(args.encode_households, workdir)
        if "link" in only:
            link_run(args.link_households, workdir)
    finally:
        if not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
