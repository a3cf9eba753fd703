"""What issue 14's clustering rules cost a full link run at 1M mentions: the clustering inputs and the clustering.

A linked world (about 15k mentions, ``bench/linkage_worlds.py --workdir DIR``) is copied COPIES
times as other people (mention, record, event and agency ids suffixed per copy, dob shifted 7
days a copy; its links >= 0.8 copied with it, into the store's ``link_edges`` too) into a store of
about 1M mentions. Then, in one process and interleaved:

- the third pass: main's inputs before it (cannot-link "same_event" + "generation", no agency-id
  links) against the inputs since (+ "named_twins", + agency-id links), each clustered with
  ``cluster_mentions``: the time to build each input and to cluster;
- the fourth pass: the same inputs clustered by ``cluster_mentions`` against
  ``linkage.generations.cluster_apart_generations`` (undated records between a father and son
  cut, and the scope clustered again).

The copies repeat one world's names at its postcodes 66 times, so the "generation" self-join
(forename, surname and postcode) is far larger than a real 1M world's: its time is an upper bound.

Reproduce: ``python3 bench/lookalike_cost.py DIR/hard-61.duckdb --copies 66 --workdir /tmp/x``
"""

from __future__ import annotations

import argparse
import copy
import sys
import time
from pathlib import Path

import duckdb
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.config import load_config  # noqa: E402
from core.store import Store  # noqa: E402
from linkage.agency_ids import agency_id_links  # noqa: E402
from linkage.cannot_link import cannot_link_pairs  # noqa: E402
from linkage.clusters import cluster_mentions  # noqa: E402
from linkage.generations import cluster_apart_generations  # noqa: E402
from linkage.run import trusted_refs  # noqa: E402

SUFFIXED = ("mention_id", "record_id", "event_key", "event_id", "person_ref")


def build(world_store: Path, copies: int, workdir: Path) -> tuple[Path, pl.DataFrame]:
    """The copied store (made once) and the copied links."""
    workdir.mkdir(parents=True, exist_ok=True)
    path, parquet = workdir / "copied.duckdb", workdir / "mentions.parquet"
    src = duckdb.connect(str(world_store), read_only=True)
    links = src.sql("SELECT mention_a, mention_b, match_probability FROM link_edges WHERE match_probability >= 0.8").pl()
    if not path.exists():
        src.execute(f"COPY (SELECT * FROM mentions) TO '{parquet}'")
    src.close()
    if not path.exists():
        with Store(path) as s:
            cols = [r["column_name"] for r in s.rows(
                "SELECT column_name FROM information_schema.columns WHERE table_name = 'mentions' ORDER BY ordinal_position")]
            sel = [f"CASE WHEN {c} IS NULL THEN NULL ELSE {c} || '~' || k END AS {c}" if c in SUFFIXED
                   else "dob + (k * 7)::INTEGER AS dob" if c == "dob" else c for c in cols]
            s.execute(f"INSERT INTO mentions SELECT {', '.join(sel)} FROM read_parquet('{parquet}'), range({copies}) t(k)")
    edges = pl.concat([links.with_columns(pl.col("mention_a") + f"~{k}", pl.col("mention_b") + f"~{k}")
                       for k in range(copies)])
    with Store(path) as s:
        if not s.df("SELECT count(*) AS n FROM link_edges")["n"][0]:
            s.register("_copied", edges)
            s.execute("INSERT INTO link_edges SELECT mention_a, mention_b, match_probability, 0.0, 'copied', "
                      "now()::TIMESTAMP FROM _copied")
            s.unregister("_copied")
    return path, edges.filter(pl.col("match_probability") >= 0.999)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("world_store")
    ap.add_argument("--copies", type=int, default=66)
    ap.add_argument("--workdir", default="/tmp/lookalike_cost")
    args = ap.parse_args()
    path, edges = build(Path(args.world_store), args.copies, Path(args.workdir))
    new = load_config()
    old = copy.deepcopy(new)
    old["identity"]["cannot_link"] = ["same_event", "generation"]
    old["identity"]["agency_id_links"] = False
    sides = {"main": old, "branch": new, "generations": new}
    t: dict[str, list[float]] = {f"{k}_{w}": [] for k in sides for w in ("inputs", "cluster")}
    with Store(path, read_only=True) as s:
        ids = [r["mention_id"] for r in s.rows("SELECT mention_id FROM mentions")]
        refs = trusted_refs(s, new)
        for _ in range(2):
            for k, cfg in sides.items():
                a = time.perf_counter()
                ties, cl = agency_id_links(s, cfg), cannot_link_pairs(s, cfg)
                e = pl.concat([edges, ties.cast(edges.schema)])
                t[f"{k}_inputs"].append(time.perf_counter() - a)
                a = time.perf_counter()
                if k == "generations":
                    c = cluster_apart_generations(s, ids, edges, ties, 0.999, 0.8, trusted_refs=refs, cannot_link=cl)
                else:
                    c = cluster_mentions(ids, e, 0.999, trusted_refs=refs, cannot_link=cl)
                t[f"{k}_cluster"].append(time.perf_counter() - a)
                print(k, f"links {e.height} cannot-link {cl.height} persons {len(set(c.cluster_of.values()))} "
                      f"contested {len(c.contested)} inputs {t[k + '_inputs'][-1]:.2f} s "
                      f"cluster {t[k + '_cluster'][-1]:.2f} s", flush=True)
    best = {k: min(v) for k, v in t.items()}
    print(f"{len(ids)} mentions; best of 2: inputs main {best['main_inputs']:.2f} s, branch {best['branch_inputs']:.2f} s; "
          f"cluster main {best['main_cluster']:.2f} s, third pass {best['branch_cluster']:.2f} s "
          f"(ratio {best['branch_cluster'] / best['main_cluster']:.2f}), fourth pass {best['generations_cluster']:.2f} s "
          f"(against the third: {best['generations_cluster'] / best['branch_cluster']:.2f})")


if __name__ == "__main__":
    main()
