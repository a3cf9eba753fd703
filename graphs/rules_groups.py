"""The rules over households and groups (pure: frames in, findings out): **escalation** (a child's,
or a household's, harm notifications rising) and **networks** (groups tied through harm), with the
shared finding shape and helpers of graphs.rules. Each rule's definition is in graphs/rules.py's
module docstring."""

from __future__ import annotations

import json

import networkx as nx
import numpy as np
import polars as pl
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from graphs.rules import LIST, days, empty_findings, finish, uniq


# -- escalation ---------------------------------------------------------------------------------

def person_dob(m: pl.DataFrame) -> pl.DataFrame:
    """Each person's date of birth: the most frequent one on their mentions (then the earliest)."""
    return (m.filter(pl.col("dob").is_not_null()).group_by(["person_id", "dob"]).len()
            .sort(["person_id", "len", "dob"], descending=[False, True, False])
            .unique("person_id", keep="first", maintain_order=True).select("person_id", "dob"))


def _escalating(notes: pl.DataFrame, recent_days: int, min_recent: int, min_prior: int, ratio: float,
                window_days: int, min_rise: int) -> pl.DataFrame:
    """``notes`` (``subject, event_key, date, severity``) -> evidence rows with ``kind``."""
    notes = notes.sort(["subject", "date", "event_key"])
    r1 = notes.rolling(index_column="date", period=f"{recent_days}d", closed="right", group_by="subject").agg(
        pl.len().alias("recent"))
    r2 = notes.rolling(index_column="date", period=f"{2 * recent_days}d", closed="right", group_by="subject").agg(
        pl.len().alias("both"))
    freq = (r1.with_columns(prior=r2["both"] - r1["recent"]).unique(["subject", "date"])
            .filter((pl.col("recent") >= min_recent) & (pl.col("prior") >= min_prior)
                    & (pl.col("recent") >= ratio * pl.col("prior")))
            .select("subject", pl.col("date").alias("_end"),
                    (pl.col("date") - pl.duration(days=2 * recent_days - 1)).alias("_start"),
                    pl.format("frequency rising: {} harm notifications in the {} days to {}, against {} in the {} days before",
                              "recent", pl.lit(recent_days), "date", "prior", pl.lit(recent_days)).alias("why")))
    g = notes.filter(pl.col("severity").is_not_null()).sort(["subject", "date", "event_key"])
    s0, s1 = pl.col("severity").shift(2).over("subject"), pl.col("severity").shift(1).over("subject")
    d0 = pl.col("date").shift(2).over("subject")
    sev = (g.with_columns(s0=s0, s1=s1, _start=d0)
           .filter(pl.col("s0").is_not_null() & (pl.col("s0") <= pl.col("s1")) & (pl.col("s1") <= pl.col("severity"))
                   & ((pl.col("severity") - pl.col("s0")) >= min_rise)
                   & (days(pl.col("date") - pl.col("_start")) < window_days))
           .select("subject", pl.col("date").alias("_end"), "_start",
                   pl.format("severity rising: {} -> {} -> {} between {} and {}", "s0", "s1", "severity", "_start",
                             "date").alias("why")))
    anchors = pl.concat([freq, sev])
    if anchors.height == 0:
        return notes.head(0).with_columns(why=pl.lit(None, pl.Utf8))
    ev = notes.join(anchors, on="subject").filter((pl.col("date") >= pl.col("_start")) & (pl.col("date") <= pl.col("_end")))
    return ev.drop("_start", "_end")


def escalation(m: pl.DataFrame, harmed: pl.DataFrame, recent_days: int = 183, min_recent: int = 4,
               min_prior: int = 1, ratio: float = 2.0, window_days: int = 365, min_rise: int = 2,
               child_age: int = 18, child_roles: list[str] | tuple[str, ...] = ("child_present", "subject_child", "sibling"),
               subjects: list[str] | tuple[str, ...] = ("child", "household")) -> pl.DataFrame:
    """Children's and households' harm notifications rising in frequency or severity."""
    out = []
    if "child" in subjects:
        roles = m.filter(pl.col("harmed")).group_by(["person_id", "event_key"]).agg(
            pl.col("role").is_in(list(child_roles)).any().alias("child_role"))
        h = harmed.join(person_dob(m), on="person_id", how="left").join(roles, on=["person_id", "event_key"], how="left")
        age = (pl.col("date").dt.year() - pl.col("dob").dt.year()) - (
            (pl.col("date").dt.month() * 100 + pl.col("date").dt.day())
            < (pl.col("dob").dt.month() * 100 + pl.col("dob").dt.day())).cast(pl.Int32)
        child = h.filter(pl.when(pl.col("dob").is_not_null()).then(age < child_age).otherwise(pl.col("child_role")))
        notes = child.select(pl.col("person_id").alias("subject"), "event_key", "date", "severity", "mention_ids",
                             "household_key", "source")
        ev = _escalating(notes, recent_days, min_recent, min_prior, ratio, window_days, min_rise)
        out.append(ev.with_columns(kind=pl.lit("person")))
    if "household" in subjects:
        hh = harmed.filter(pl.col("household_key").is_not_null()).group_by(["household_key", "event_key"]).agg(
            pl.col("date").min(), pl.col("severity").max(), pl.col("mention_ids").list.explode(keep_nulls=False, empty_as_null=False),
            pl.col("source").first(), pl.col("person_id").alias("harmed_persons"))
        notes = hh.select(pl.col("household_key").alias("subject"), "event_key", "date", "severity", "mention_ids",
                          "household_key", "source", "harmed_persons")
        ev = _escalating(notes, recent_days, min_recent, min_prior, ratio, window_days, min_rise)
        out.append(ev.with_columns(kind=pl.lit("household")))
    frames = []
    for ev in out:
        if ev.height == 0:
            continue
        kind = ev["kind"][0]
        persons = (pl.col("harmed_persons").list.explode(keep_nulls=False, empty_as_null=False) if "harmed_persons" in ev.columns else pl.col("subject"))
        f = ev.group_by("subject").agg(
            pl.col("date").min().alias("first_date"), pl.col("date").max().alias("last_date"),
            uniq("event_key").alias("events"), uniq(pl.col("mention_ids").list.explode(keep_nulls=False, empty_as_null=False)).alias("mention_ids"),
            uniq("household_key").alias("households"), uniq("source").alias("sources"),
            uniq(persons).alias("persons"), pl.col("severity").max().alias("max_severity"),
            uniq("why").alias("reasons"),
        )
        f = f.with_columns(
            rule=pl.lit("escalation"), subject=pl.lit("child" if kind == "person" else "household"),
            person_id=pl.col("subject") if kind == "person" else pl.lit(None, pl.Utf8),
            household_key=pl.lit(None, pl.Utf8) if kind == "person" else pl.col("subject"),
            measure=pl.col("events").list.len(), threshold=pl.lit(min_recent),
            details=pl.struct("reasons").struct.json_encode(),
            explanation=pl.format("{} harm notifications escalating: {}.",
                                  pl.lit("A child's" if kind == "person" else "A household's"),
                                  pl.col("reasons").list.join("; ")),
        )
        frames.append(finish(f))
    return pl.concat(frames) if frames else empty_findings()


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
    extra = pl.DataFrame(rows, schema={"component": stats.schema["component"], "bridges": LIST,
                                       "co_offenders": LIST, "adults_around_children": LIST,
                                       "details": pl.Utf8})
    f = stats.join(extra, on="component", how="left")
    return finish(f.with_columns(
        rule=pl.lit("networks"), subject=pl.lit("group"), person_id=pl.col("persons").list.first(),
        measure=pl.col("persons").list.len(), threshold=pl.lit(min_members), mention_ids=pl.lit([], LIST),
        explanation=pl.format(
            "A group of {} people tied through {} harm events at {} households between {} and {}; "
            "co-offenders: {}; adults around children in several households: {}; bridging people: {}.",
            pl.col("persons").list.len(), pl.col("events").list.len(), pl.col("households").list.len(),
            pl.col("first_date"), pl.col("last_date"),
            pl.when(pl.col("co_offenders").list.len() > 0).then(pl.col("co_offenders").list.join(", ")).otherwise(pl.lit("none")),
            pl.when(pl.col("adults_around_children").list.len() > 0).then(pl.col("adults_around_children").list.join(", ")).otherwise(pl.lit("none")),
            pl.when(pl.col("bridges").list.len() > 0).then(pl.col("bridges").list.join(", ")).otherwise(pl.lit("none"))),
    ))
