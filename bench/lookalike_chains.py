"""Why look-alikes were merged: the chain of accepted links that joins two planted people in one person.

For a world kept by ``bench/linkage_worlds.py --workdir DIR`` (DIR/<noise>-<seed> holds the world,
DIR/<noise>-<seed>.duckdb the linked store), every planted look-alike group (twin pairs, namesake
groups, triplets, a father and son of one name) whose people share a predicted person is taken
apart: within that person, the links at or above the identity threshold form a graph; the
strongest path (the one whose weakest link is strongest) from a mention of one true person to a
mention of the other is printed, record by record (source, event, names, dob, postcode, true
person) with each link's probability, and the link where the true person changes is marked.
That is the link clustering should have refused, and the records around it say why it did not.

Reproduce: ``python3 bench/lookalike_chains.py DIR/hard-61 [DIR/hard-62 ...]`` (one JSON line
per merged group; ``--text`` prints the chains for reading; ``--recluster`` takes the persons this
checkout's clustering makes from the stored links, to try a clustering change without relinking).
"""

from __future__ import annotations

import argparse
import heapq
import json
import sys
from pathlib import Path

import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.config import load_config  # noqa: E402
from core.store import Store  # noqa: E402
from bench.linkage import reclustered as recluster_frame  # noqa: E402
from linkage.agency_ids import agency_id_links  # noqa: E402
from linkage.run import identity_threshold  # noqa: E402

FIELDS = "mention_id, event_key, forename, surname, dob, postcode, address, person_ref"


def groups(persons: pl.DataFrame) -> list[tuple[str, str, list[str]]]:
    """(kind, group id, true persons) for every planted look-alike group of the world."""
    out: list[tuple[str, str, list[str]]] = []
    twins = persons.filter(pl.col("is_twin") == "true")
    seen = set()
    for p, q in twins.select("person", "twin_of").iter_rows():
        key = tuple(sorted((p, q)))
        if key not in seen:
            seen.add(key)
            out.append(("twins", key[0], list(key)))
    for col, kind in (("namesake_group", "namesakes"), ("lookalike_group", None)):
        if col not in persons.columns:
            continue
        for g, members in persons.filter(pl.col(col).fill_null("") != "").group_by(col).agg("person").iter_rows():
            k = kind or ("triplets" if g.startswith("TR") else "father_son" if g.startswith("JS") else g)
            out.append((k, g, sorted(members)))
    return out


def strongest_path(adj: dict[str, list[tuple[str, float]]], starts: set[str], goals: set[str]) -> list[tuple[str, float]]:
    """The path from any of ``starts`` to any of ``goals`` maximising its weakest link (widest path)."""
    best = {s: 2.0 for s in starts}
    prev: dict[str, tuple[str, float]] = {}
    heap = [(-2.0, s) for s in sorted(starts)]
    while heap:
        w, x = heapq.heappop(heap)
        w = -w
        if w < best.get(x, -1):
            continue
        if x in goals:
            path = [(x, 0.0)]
            while x in prev:
                x, p = prev[x]
                path.append((x, p))
            return path[::-1]
        for y, p in adj.get(x, ()):
            v = min(w, p)
            if v > best.get(y, -1):
                best[y] = v
                prev[y] = (x, p)
                heapq.heappush(heap, (-v, y))
    return []


def reclustered(store: Store, threshold: float) -> dict[str, str]:
    """mention -> person as this checkout's clustering makes them from the stored links (the
    stored persons are the code's that linked the world)."""
    return recluster_frame(store, threshold)[1].cluster_of


def chains(world_dir: Path, recluster: bool = False) -> list[dict]:
    store_path = world_dir.parent / f"{world_dir.name}.duckdb"
    persons = pl.read_csv(world_dir / "truth" / "persons.csv", infer_schema_length=0)
    truth = pl.read_csv(world_dir / "truth" / "truth.csv", infer_schema=False).select(
        pl.format("{}:{}", "source", "record_id").alias("mention_id"), "person")
    true_of = dict(truth.iter_rows())
    config = load_config()
    threshold = identity_threshold(config)
    out = []
    with Store(store_path, read_only=True) as store:
        if recluster:
            person_of = reclustered(store, threshold)
        else:
            person_of = dict(store.df("SELECT mention_id, person_id FROM person_mentions").iter_rows())
        by_true: dict[str, set[str]] = {}
        for m, t in true_of.items():
            by_true.setdefault(t, set()).add(m)
        for kind, gid, members in groups(persons):
            preds: dict[str, set[str]] = {}
            for t in members:
                for m in by_true.get(t, ()):
                    preds.setdefault(person_of.get(m), set()).add(t)
            shared = [p for p, ts in preds.items() if p and len(ts) > 1]
            for pid in shared:
                ms = sorted(m for m, p in person_of.items() if p == pid)
                rows = store.df(f"SELECT {FIELDS} FROM mentions WHERE mention_id IN (SELECT unnest(?))", [ms])
                info = {r["mention_id"]: r for r in rows.iter_rows(named=True)}
                edges = store.df("SELECT mention_a, mention_b, max(match_probability) AS match_probability FROM link_edges "
                                 "WHERE match_probability >= ? AND mention_a IN (SELECT unnest(?)) "
                                 "AND mention_b IN (SELECT unnest(?)) GROUP BY ALL", [threshold, ms, ms])
                ids = agency_id_links(store, config, scope=ms)   # clustering takes these too
                edges = pl.concat([edges.cast(ids.schema), ids.filter(pl.col("mention_a").is_in(ms) & pl.col("mention_b").is_in(ms))])
                adj: dict[str, list[tuple[str, float]]] = {}
                for a, b, p in edges.iter_rows():
                    adj.setdefault(a, []).append((b, p))
                    adj.setdefault(b, []).append((a, p))
                ts = sorted(preds[pid])
                a_side = {m for m in ms if true_of.get(m) == ts[0]}
                b_side = {m for m in ms if true_of.get(m) in ts[1:]}
                path = strongest_path(adj, a_side, b_side)
                chain = []
                for m, p in path:
                    r = info.get(m, {})
                    chain.append({"mention": m, "true": true_of.get(m), "event": r.get("event_key"),
                                  "forename": r.get("forename"), "surname": r.get("surname"),
                                  "dob": str(r.get("dob")), "postcode": r.get("postcode"),
                                  "address": r.get("address"), "ref": r.get("person_ref"),
                                  "link_to_next": round(p, 8) if p else None})
                out.append({"world": world_dir.name, "kind": kind, "group": gid, "true_persons": ts,
                            "person_id": pid, "mentions": len(ms),
                            "mentions_by_true": {t: sum(true_of.get(m) == t for m in ms) for t in ts}, "chain": chain})
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("worlds", nargs="+")
    ap.add_argument("--text", action="store_true")
    ap.add_argument("--recluster", action="store_true",
                    help="persons as this checkout clusters the stored links, not as stored")
    args = ap.parse_args()
    for w in args.worlds:
        for c in chains(Path(w), args.recluster):
            if not args.text:
                print(json.dumps(c, default=str))
                continue
            print(f"== {c['world']} {c['kind']} {c['group']} {c['true_persons']} in {c['person_id']} "
                  f"({c['mentions']} mentions: {c['mentions_by_true']})")
            for r in c["chain"]:
                print(f"   {r['true']:8} {r['mention']:22} {r['event']:28} {r['forename']!s:12} {r['surname']!s:12} "
                      f"{r['dob']:10} {r['postcode']!s:9} {str(r['address'])[:28]:28} ref={r['ref']}"
                      + (f"\n      -- {r['link_to_next']}" if r["link_to_next"] is not None else ""))


if __name__ == "__main__":
    main()
