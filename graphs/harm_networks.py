"""The networks rule (described in graphs/rules.py): connected groups of people tied through
harm events, with their co-offenders, adults tied to children of several households, and the
people who bridge them."""

from __future__ import annotations

import json

import networkx as nx
import numpy as np
import polars as pl
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from graphs.findings_frame import TEXT_LIST, days, empty_findings, finish_findings, person_dob, uniq

# -- networks -----------------------------------------------------------------------------------
def components(pairs: pl.DataFrame, left: str, right: str) -> pl.DataFrame:
    """Connected components of the bipartite graph given as ``left``–``right`` pairs (scipy,
    vectorised): ``left`` -> ``component`` (an int)."""

    lk = pairs[left].unique().sort()
    rk = pairs[right].unique().sort()
    lmap = pl.DataFrame({left: lk, "_li": np.arange(lk.len())})
    rmap = pl.DataFrame({right: rk, "_ri": np.arange(rk.len()) + lk.len()})
    p = pairs.join(lmap, on=left).join(rmap, on=right)
    n = lk.len() + rk.len()
    a = coo_matrix((np.ones(p.height, dtype=np.int8), (p["_li"].to_numpy(), p["_ri"].to_numpy())), shape=(n, n))
    _, labels = connected_components(a, directed=False)
    return lmap.with_columns(component=pl.Series(labels[: lk.len()])).select(left, "component")


def networks(m: pl.DataFrame, harmed: pl.DataFrame, near: pl.DataFrame, min_members: int = 5,
             min_households: int = 3, tie_via_household: bool = False, max_members: int = 100,
             betweenness_sample: int = 100, top_bridges: int = 3, child_age: int = 18,
             require_pattern: bool = True) -> pl.DataFrame:
    """Connected groups of people tied through harm events (see the module docstring)."""
    ties = [harmed.select("person_id", "event_key")]
    nr = near if tie_via_household else near.filter(pl.col("via") == "event")
    ties.append(nr.select("person_id", "event_key"))
    ties = pl.concat(ties).unique()
    if ties.height == 0:
        return empty_findings()
    comp = components(ties, "person_id", "event_key")
    ties = ties.join(comp, on="person_id")
    ev_info = harmed.group_by("event_key").agg(
        pl.col("date").min(), uniq("household_key").alias("hh"), pl.col("source").first(),
        pl.col("severity").max())
    stats = ties.join(ev_info, on="event_key").group_by("component").agg(
        uniq("person_id").alias("persons"), uniq(pl.col("hh").list.explode(keep_nulls=False, empty_as_null=False)).alias("households"),
        uniq("event_key").alias("events"), pl.col("date").min().alias("first_date"),
        pl.col("date").max().alias("last_date"), uniq("source").alias("sources"),
        pl.col("severity").max().alias("max_severity"),
    ).filter((pl.col("persons").list.len() >= min_members) & (pl.col("households").list.len() >= min_households))
    if stats.height == 0:
        return empty_findings()
    keep = stats.select("component")
    t = ties.join(keep, on="component")
    offenders = m.filter(pl.col("offender")).select("person_id", "event_key").unique()
    dob = person_dob(m)
    co = (t.join(offenders, on=["person_id", "event_key"]).group_by(["component", "event_key"])
          .agg(pl.col("person_id")).filter(pl.col("person_id").list.len() >= 2)
          .group_by("component").agg(uniq(pl.col("person_id").list.explode(keep_nulls=False, empty_as_null=False)).alias("co_offenders")))
    # adults tied to children harmed at two or more households
    kids = (harmed.join(dob, on="person_id", how="left")
            .filter(pl.col("dob").is_not_null() & ((days(pl.col("date") - pl.col("dob")) / 365.25) < child_age))
            .select(pl.col("person_id").alias("child"), "event_key", "household_key"))
    adults = t.join(dob, on="person_id", how="left").join(
        harmed.select("event_key", "date").unique("event_key"), on="event_key").filter(
        pl.col("dob").is_not_null() & ((days(pl.col("date") - pl.col("dob")) / 365.25) >= child_age))
    around = (adults.join(kids, on="event_key").filter(pl.col("child") != pl.col("person_id"))
              .group_by(["component", "person_id"]).agg(pl.col("household_key").drop_nulls().n_unique().alias("nh"))
              .filter(pl.col("nh") >= 2).group_by("component").agg(uniq("person_id").alias("adults_around_children")))
    if require_pattern:
        patterned = pl.concat([co.select("component"), around.select("component")]).unique()
        stats = stats.join(patterned, on="component")
        t = t.join(patterned, on="component")
        if stats.height == 0:
            return empty_findings()
    # person-person edges per event (a clique, a star from the first member when large), built
    # vectorised, then one networkx graph per component for betweenness
    members = t.group_by(["component", "event_key"]).agg(pl.col("person_id").sort())
    clique = members.filter(pl.col("person_id").list.len() <= 12)
    pairs = (clique.with_columns(b=pl.col("person_id")).explode("person_id").explode("b")
             .filter(pl.col("person_id") < pl.col("b")))
    star = (members.filter(pl.col("person_id").list.len() > 12)
            .with_columns(hub=pl.col("person_id").list.first()).explode("person_id")
            .filter(pl.col("person_id") != pl.col("hub")).select("component", "event_key",
                                                                  pl.col("hub").alias("b"), "person_id"))
    edges = pl.concat([pairs.select("component", "person_id", "b"), star.select("component", "person_id", "b")]).unique()
    by_comp = {k[0]: v for k, v in edges.partition_by("component", as_dict=True).items()}
    nodes_by_comp = {k[0]: v for k, v in t.select("component", "person_id").unique().partition_by(
        "component", as_dict=True).items()}
    rows = []
    for cid, nodes in nodes_by_comp.items():
        g = nx.Graph()
        g.add_nodes_from(nodes["person_id"].to_list())
        e = by_comp.get(cid)
        if e is not None:
            g.add_edges_from(zip(e["person_id"].to_list(), e["b"].to_list()))
        n = g.number_of_nodes()
        if n > max_members:
            bc = nx.betweenness_centrality(g, k=min(betweenness_sample, n), seed=1)
        else:
            bc = nx.betweenness_centrality(g)
        bridges = [p for p, v in sorted(bc.items(), key=lambda kv: (-kv[1], kv[0])) if v > 0][:top_bridges]
        rows.append({"component": cid, "bridges": bridges,
                     "betweenness": {p: round(bc[p], 4) for p in bridges}})
    co_d = dict(zip(co["component"].to_list(), co["co_offenders"].to_list()))
    ar_d = dict(zip(around["component"].to_list(), around["adults_around_children"].to_list()))
    for r in rows:
        c = r["component"]
        r["co_offenders"] = co_d.get(c, [])
        r["adults_around_children"] = ar_d.get(c, [])
        r["details"] = json.dumps({"bridges": r["bridges"], "betweenness": r["betweenness"],
                                   "co_offenders": r["co_offenders"],
                                   "adults_around_children": r["adults_around_children"]})
        del r["betweenness"]
    extra = pl.DataFrame(rows, schema={"component": stats.schema["component"], "bridges": TEXT_LIST,
                                       "co_offenders": TEXT_LIST, "adults_around_children": TEXT_LIST,
                                       "details": pl.Utf8})
    f = stats.join(extra, on="component", how="left")
    return finish_findings(f.with_columns(
        rule=pl.lit("networks"), subject=pl.lit("group"), person_id=pl.col("persons").list.first(),
        measure=pl.col("persons").list.len(), threshold=pl.lit(min_members), mention_ids=pl.lit([], TEXT_LIST),
        explanation=pl.format(
            "A group of {} people tied through {} harm events at {} households between {} and {}; "
            "co-offenders: {}; adults around children in several households: {}; bridging people: {}.",
            pl.col("persons").list.len(), pl.col("events").list.len(), pl.col("households").list.len(),
            pl.col("first_date"), pl.col("last_date"),
            pl.when(pl.col("co_offenders").list.len() > 0).then(pl.col("co_offenders").list.join(", ")).otherwise(pl.lit("none")),
            pl.when(pl.col("adults_around_children").list.len() > 0).then(pl.col("adults_around_children").list.join(", ")).otherwise(pl.lit("none")),
            pl.when(pl.col("bridges").list.len() > 0).then(pl.col("bridges").list.join(", ")).otherwise(pl.lit("none"))),
    ))
