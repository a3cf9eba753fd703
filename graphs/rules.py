"""The analytics rules, whole-population and vectorised (polars), pure: frames in, frames out.

Each rule takes the prepared mentions frame (graphs.harm.prepare), the harmed records and/or the
near-harm records, and its parameters (``[rules.<name>]`` in core/defaults/30_analytics.toml),
and returns a *findings frame* with :data:`FINDING_COLUMNS`: one row per finding, with the reason
(``explanation``) and the evidence (events, mention ids, households, people).

Windows: "N things within W days" means N things whose dates fit in a window of W consecutive
calendar days (last date - first date < W days). Counted "events" are distinct ``event_key``s.

- **repeat_victim** — a person harmed in ``min_events`` (3) or more distinct events within
  ``window_days`` (365), any agencies. Measure: the most such events in one window.
- **harm_proximity** — a person near harm (graphs.harm) at ``min_households`` (3) or more
  distinct households (the harmed person's household at the time) within ``window_days`` (730).
  Evidence: the households, harmed persons, events, and how many households the person has
  been recorded at.
- **victim_offender_overlap** — a person harmed in one event and in an offender role
  (``offender_roles``: suspect, alleged_perpetrator) in another, the two less than
  ``window_days`` (1095) apart.
- **serial_perpetrator** — a person in an offender role in events of ``event_types``
  (domestic_abuse) against ``min_victims`` (2) or more victims (persons harmed in those events,
  roles ``victim_roles`` if set) who are pairwise not connected: no household in common (any of
  their recorded households), no event together other than one he is in, and not harmed in the
  same incident with him (one incident is one relationship); the events against each pair less
  than ``window_days`` (1095) apart. A victim recorded at no household at all cannot be shown to
  be unconnected and is left out.
- **escalation** — for a child (harmed while under 18 by date of birth, or in a child role when no
  date of birth is known) and for a household (the harmed person's household at the time), its
  harm notifications are *rising in frequency*: at least ``min_recent`` (4) in the ``recent_days``
  (183) to some notification, at least ``min_prior`` (1) in the ``recent_days`` before those, and
  recent >= ``ratio`` (2) x prior; or *rising in severity*: three consecutive graded notifications
  (graphs.harm severity score: DASH risk, RAG, presentation) within ``window_days`` (365) whose
  scores never fall and rise by at least ``min_rise`` (2) overall.
- **networks** — connected groups of people tied through harm events: the bipartite graph
  person–harm event, where a person is tied to a harm event they were harmed in or in (and, when
  ``tie_via_household``, one they were near by living at the harmed person's household that day;
  off by default: it ties whole families together and floods the hub with family "networks").
  Components by scipy (vectorised); betweenness by networkx per component (estimated from
  ``betweenness_sample`` sources above ``max_members`` people).
  A component with at least ``min_members`` (5) people and ``min_households`` (3) households
  (the harmed persons' households) is a finding when (``require_pattern``) it holds co-offenders
  (two or more people in offender roles in one harm event) or an adult tied to harmed children of
  two or more households; its members, size, households, the co-offenders, adults tied to children in several
  households, and the people who bridge it (betweenness centrality, networkx on the component).
"""

from __future__ import annotations

import json
from typing import Any

import networkx as nx
import numpy as np
import polars as pl
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

FINDING_COLUMNS = (
    "rule", "subject", "person_id", "household_key", "first_date", "last_date", "measure",
    "threshold", "explanation", "events", "mention_ids", "households", "persons", "sources",
    "max_severity", "details",
)

_LIST = pl.List(pl.Utf8)
FINDING_SCHEMA = {
    "rule": pl.Utf8, "subject": pl.Utf8, "person_id": pl.Utf8, "household_key": pl.Utf8,
    "first_date": pl.Date, "last_date": pl.Date, "measure": pl.Int64, "threshold": pl.Int64,
    "explanation": pl.Utf8, "events": _LIST, "mention_ids": _LIST, "households": _LIST,
    "persons": _LIST, "sources": _LIST, "max_severity": pl.Int32, "details": pl.Utf8,
}


def empty_findings() -> pl.DataFrame:
    return pl.DataFrame(schema=FINDING_SCHEMA)


def _finish(df: pl.DataFrame) -> pl.DataFrame:
    for col, dtype in FINDING_SCHEMA.items():
        if col not in df.columns:
            df = df.with_columns(pl.lit(None, dtype=dtype).alias(col))
    return df.select([pl.col(c).cast(t) for c, t in FINDING_SCHEMA.items()])


def _uniq(col: str | pl.Expr) -> pl.Expr:
    e = pl.col(col) if isinstance(col, str) else col
    return e.drop_nulls().unique().sort()


def _days(a: pl.Expr) -> pl.Expr:
    return a.dt.total_days()


def window_hits(df: pl.DataFrame, by: list[str], window_days: int, count_expr: pl.Expr,
                min_count: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Rows of ``df`` (``by`` + ``date``) inside some window of ``window_days`` consecutive days
    where ``count_expr`` reaches ``min_count``; and per group the peak count (``peak``)."""
    if df.height == 0:
        return df.head(0), pl.DataFrame(schema={**{b: df.schema[b] for b in by}, "peak": pl.Int64})
    df = df.sort(by + ["date"])
    rolled = df.rolling(index_column="date", period=f"{window_days}d", closed="right", group_by=by).agg(
        count_expr.cast(pl.Int64).alias("n"))
    ends = (rolled.filter(pl.col("n") >= min_count).group_by(by + ["date"]).agg(pl.col("n").max())
            .rename({"date": "_end"}).sort("_end"))
    peak = ends.group_by(by).agg(pl.col("n").max().alias("peak"))
    hits = (
        df.sort("date").join_asof(ends.select(by + ["_end"]), left_on="date", right_on="_end", by=by,
                                  strategy="forward", check_sortedness=False)
        .filter(pl.col("_end").is_not_null() & (_days(pl.col("_end") - pl.col("date")) < window_days))
        .drop("_end")
    )
    return hits, peak


def counted(n: pl.Expr, one: str, many: str) -> pl.Expr:
    """``n`` with its noun in the right number: '1 event', '3 events'."""
    return pl.format("{} {}", n, pl.when(n == 1).then(pl.lit(one)).otherwise(pl.lit(many)))


# -- repeat victim ---------------------------------------------------------------------------

def repeat_victim(harmed: pl.DataFrame, min_events: int = 3, window_days: int = 365) -> pl.DataFrame:
    """Persons harmed in ``min_events``+ distinct events within ``window_days``."""
    hits, peak = window_hits(harmed, ["person_id"], window_days, pl.len(), min_events)
    if hits.height == 0:
        return empty_findings()
    f = hits.group_by("person_id").agg(
        pl.col("date").min().alias("first_date"), pl.col("date").max().alias("last_date"),
        _uniq("event_key").alias("events"), _uniq(pl.col("mention_ids").list.explode(keep_nulls=False, empty_as_null=False)).alias("mention_ids"),
        _uniq("household_key").alias("households"), _uniq("source").alias("sources"),
        pl.col("severity").max().alias("max_severity"),
    ).join(peak, on="person_id")
    return _finish(f.with_columns(
        rule=pl.lit("repeat_victim"), subject=pl.lit("person"), measure=pl.col("peak"),
        threshold=pl.lit(min_events), persons=pl.concat_list([pl.col("person_id")]),
        explanation=pl.format(
            "Harmed in {} distinct events between {} and {} (at most {} within {} days; the rule is {} or more), "
            "reported by {}.",
            pl.col("events").list.len(), pl.col("first_date"), pl.col("last_date"), pl.col("peak"),
            pl.lit(window_days), pl.lit(min_events), pl.col("sources").list.join(", ")),
    ))


def notification_counts(m: pl.DataFrame, harmed: pl.DataFrame, as_of: Any, window_days: int = 365) -> pl.DataFrame:
    """Per-person and per-household notification counts over the ``window_days`` to ``as_of``:
    ``subject_kind, subject_key, window_start, window_end, notifications, harm_notifications,
    police, social_care, health`` (distinct events; households by the household on each mention)."""
    start = pl.lit(as_of).cast(pl.Date) - pl.duration(days=window_days - 1)
    end = pl.lit(as_of).cast(pl.Date)
    recent = m.filter((pl.col("date") >= start) & (pl.col("date") <= end))
    harm_keys = harmed.filter((pl.col("date") >= start) & (pl.col("date") <= end))
    out = []
    for kind, key, h in (("person", "person_id", harm_keys.select("person_id", "event_key")),
                         ("household", "household_key", harm_keys.select("household_key", "event_key"))):
        ev = recent.filter(pl.col(key).is_not_null()).select(key, "event_key", "source").unique()
        hk = h.drop_nulls().unique().with_columns(_h=pl.lit(True))
        c = ev.join(hk, on=[key, "event_key"], how="left").group_by(key).agg(
            pl.len().alias("notifications"), pl.col("_h").fill_null(False).sum().alias("harm_notifications"),
            *[(pl.col("source") == s).sum().alias(s) for s in ("police", "social_care", "health")],
        )
        out.append(c.rename({key: "subject_key"}).with_columns(subject_kind=pl.lit(kind)))
    res = pl.concat(out, how="diagonal_relaxed") if out else pl.DataFrame()
    return res.with_columns(window_start=start, window_end=end).select(
        "subject_kind", "subject_key", "window_start", "window_end", "notifications", "harm_notifications",
        "police", "social_care", "health")


# -- harm proximity ---------------------------------------------------------------------------

def harm_proximity(near: pl.DataFrame, harmed: pl.DataFrame, spells: pl.DataFrame,
                   min_households: int = 3, window_days: int = 730) -> pl.DataFrame:
    """Persons near harm at ``min_households``+ distinct households within ``window_days``."""
    rows = near.filter(pl.col("household_key").is_not_null())
    hits, peak = window_hits(rows, ["person_id"], window_days, pl.col("household_key").n_unique(), min_households)
    if hits.height == 0:
        return empty_findings()
    hm = harmed.select(pl.col("person_id").alias("harmed_person"), "event_key", "mention_ids", "source", "severity")
    hits = hits.join(hm, on=["harmed_person", "event_key"], how="left")
    lived = spells.group_by("person_id").agg(pl.col("household_key").n_unique().alias("lived_at"))
    f = hits.group_by("person_id").agg(
        pl.col("date").min().alias("first_date"), pl.col("date").max().alias("last_date"),
        _uniq("event_key").alias("events"), _uniq(pl.col("mention_ids").list.explode(keep_nulls=False, empty_as_null=False)).alias("mention_ids"),
        _uniq("household_key").alias("households"), _uniq("harmed_person").alias("harmed_persons"),
        _uniq("source").alias("sources"), pl.col("severity").max().alias("max_severity"),
    ).join(peak, on="person_id").join(lived, on="person_id", how="left").with_columns(
        pl.col("lived_at").fill_null(0))
    return _finish(f.with_columns(
        rule=pl.lit("harm_proximity"), subject=pl.lit("person"), measure=pl.col("peak"),
        threshold=pl.lit(min_households),
        persons=pl.concat_list([pl.col("person_id"), pl.col("harmed_persons")]).list.unique().list.sort(),
        details=pl.struct(pl.col("harmed_persons"), pl.col("lived_at").alias("households_lived_at")).struct.json_encode(),
        explanation=pl.format(
            "Near harm to {} at {} households between {} and {} (at most {} households within {} days; "
            "the rule is {} or more). Recorded living at {}.",
            counted(pl.col("harmed_persons").list.len(), "person", "people"), pl.col("households").list.len(),
            pl.col("first_date"), pl.col("last_date"), pl.col("peak"), pl.lit(window_days), pl.lit(min_households),
            counted(pl.col("lived_at"), "household", "households")),
    ))


# -- victim / offender overlap ------------------------------------------------------------------

def victim_offender_overlap(m: pl.DataFrame, harmed: pl.DataFrame, window_days: int = 1095) -> pl.DataFrame:
    """Persons harmed in one event and an offender in another, less than ``window_days`` apart."""
    off = m.filter(pl.col("offender")).group_by(["person_id", "event_key"]).agg(
        pl.col("date").min().alias("date_off"), pl.col("mention_id").alias("mention_ids_off"),
        pl.col("source").first().alias("source_off"))
    pairs = harmed.join(off, on="person_id", how="inner").filter(
        (pl.col("event_key") != pl.col("event_key_right"))
        & (_days(pl.col("date") - pl.col("date_off")).abs() < window_days))
    if pairs.height == 0:
        return empty_findings()
    f = pairs.group_by("person_id").agg(
        _uniq("event_key").alias("harm_events"), _uniq("event_key_right").alias("offender_events"),
        pl.min_horizontal(pl.col("date").min(), pl.col("date_off").min()).alias("first_date"),
        pl.max_horizontal(pl.col("date").max(), pl.col("date_off").max()).alias("last_date"),
        _uniq(pl.concat_list([pl.col("mention_ids"), pl.col("mention_ids_off")]).list.explode(keep_nulls=False, empty_as_null=False)).alias("mention_ids"),
        _uniq("household_key").alias("households"),
        _uniq(pl.concat_list([pl.col("source"), pl.col("source_off")]).list.explode(keep_nulls=False, empty_as_null=False)).alias("sources"),
        pl.col("severity").max().alias("max_severity"),
    )
    return _finish(f.with_columns(
        rule=pl.lit("victim_offender_overlap"), subject=pl.lit("person"),
        events=pl.concat_list(["harm_events", "offender_events"]).list.unique().list.sort(),
        measure=pl.col("harm_events").list.len() + pl.col("offender_events").list.len(),
        threshold=pl.lit(2), persons=pl.concat_list([pl.col("person_id")]),
        details=pl.struct("harm_events", "offender_events").struct.json_encode(),
        explanation=pl.format(
            "Harmed in {} ({}) and suspect or alleged perpetrator in {} ({}), less than {} days apart.",
            counted(pl.col("harm_events").list.len(), "event", "events"), pl.col("harm_events").list.join(", "),
            counted(pl.col("offender_events").list.len(), "event", "events"), pl.col("offender_events").list.join(", "),
            pl.lit(window_days)),
    ))


# -- serial perpetrator -------------------------------------------------------------------------

def serial_perpetrator(m: pl.DataFrame, min_victims: int = 2, window_days: int = 1095,
                       event_types: list[str] | tuple[str, ...] = ("domestic_abuse",),
                       victim_roles: list[str] | tuple[str, ...] | None = None) -> pl.DataFrame:
    """Offenders in ``event_types`` events against ``min_victims``+ pairwise-unconnected victims."""
    typed = pl.col("event_type").is_in(list(event_types))
    off = m.filter(pl.col("offender") & typed).select(
        pl.col("person_id").alias("perp"), "event_key", "date").unique(["perp", "event_key"])
    vic_rows = m.filter(pl.col("harmed") & typed)
    if victim_roles:
        vic_rows = vic_rows.filter(pl.col("role").is_in(list(victim_roles)))
    vic = vic_rows.select(pl.col("person_id").alias("victim"), "event_key", "mention_id", "household_key",
                          "source", "severity")
    pv = off.join(vic, on="event_key").filter(pl.col("perp") != pl.col("victim"))
    if pv.height == 0:
        return empty_findings()
    pve = pv.group_by(["perp", "victim", "event_key"]).agg(pl.col("date").first())
    pairs = pve.join(pve, on="perp", suffix="2").filter(
        (pl.col("victim") < pl.col("victim2")) & (_days(pl.col("date") - pl.col("date2")).abs() < window_days))
    pairs_u = pairs.select("perp", "victim", "victim2").unique()
    # connection 1: a household in common
    ph = m.filter(pl.col("household_key").is_not_null()).select("person_id", "household_key").unique()
    shared_h = (pairs_u.join(ph.rename({"person_id": "victim"}), on="victim")
                .join(ph.rename({"person_id": "victim2"}), on=["victim2", "household_key"])
                .select("perp", "victim", "victim2").unique())
    # connection 2: an event together that the perpetrator is not in
    pe = m.select("person_id", "event_key").unique()
    together = (pairs_u.join(pe.rename({"person_id": "victim"}), on="victim")
                .join(pe.rename({"person_id": "victim2"}), on=["victim2", "event_key"]))
    together = together.join(pe.rename({"person_id": "perp"}), on=["perp", "event_key"], how="anti")
    # connection 3: harmed in the same incident with him (one relationship, not two)
    same = pairs.filter(pl.col("event_key") == pl.col("event_key2")).select("perp", "victim", "victim2").unique()
    connected = pl.concat([shared_h, together.select("perp", "victim", "victim2").unique(), same]).unique()
    # a victim recorded at no household cannot be shown to be unconnected: left out
    housed = ph.select("person_id").unique()
    free = (pairs_u.join(connected, on=["perp", "victim", "victim2"], how="anti")
            .join(housed.rename({"person_id": "victim"}), on="victim", how="semi")
            .join(housed.rename({"person_id": "victim2"}), on="victim2", how="semi"))
    if free.height == 0:
        return empty_findings()
    # the largest set of pairwise-unconnected victims per perpetrator (networkx on tiny graphs)
    sizes: dict[str, list[str]] = {}
    for perp, grp in free.group_by("perp"):
        g = nx.Graph()
        g.add_edges_from(zip(grp["victim"].to_list(), grp["victim2"].to_list()))
        best = max(nx.find_cliques(g), key=lambda c: (len(c), sorted(c)))
        if len(best) >= min_victims:
            sizes[perp[0]] = sorted(best)
    if not sizes:
        return empty_findings()
    chosen = pl.DataFrame({"perp": list(sizes), "victims": list(sizes.values())})
    ev = pv.join(chosen.explode("victims").rename({"victims": "victim"}), on=["perp", "victim"])
    off_mentions = m.filter(pl.col("offender") & typed).select(
        pl.col("person_id").alias("perp"), "event_key", pl.col("mention_id").alias("perp_mention"))
    ev = ev.join(off_mentions, on=["perp", "event_key"], how="left")
    f = ev.group_by("perp").agg(
        pl.col("date").min().alias("first_date"), pl.col("date").max().alias("last_date"),
        _uniq("event_key").alias("events"),
        _uniq(pl.concat_list(["mention_id", "perp_mention"]).list.explode(keep_nulls=False, empty_as_null=False)).alias("mention_ids"),
        _uniq("household_key").alias("households"), _uniq("victim").alias("victims"),
        _uniq("source").alias("sources"), pl.col("severity").max().alias("max_severity"),
    ).rename({"perp": "person_id"})
    return _finish(f.with_columns(
        rule=pl.lit("serial_perpetrator"), subject=pl.lit("person"), measure=pl.col("victims").list.len(),
        threshold=pl.lit(min_victims),
        persons=pl.concat_list([pl.col("person_id"), pl.col("victims")]).list.unique().list.sort(),
        details=pl.struct("victims").struct.json_encode(),
        explanation=pl.format(
            "Suspect or alleged perpetrator in {} {} events against {} victims who share no household and no "
            "event without him ({}), between {} and {} (the rule is {} or more within {} days).",
            pl.col("events").list.len(), pl.lit("/".join(event_types)), pl.col("victims").list.len(),
            pl.col("victims").list.join(", "), pl.col("first_date"), pl.col("last_date"), pl.lit(min_victims),
            pl.lit(window_days)),
    ))


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
                   & (_days(pl.col("date") - pl.col("_start")) < window_days))
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
            _uniq("event_key").alias("events"), _uniq(pl.col("mention_ids").list.explode(keep_nulls=False, empty_as_null=False)).alias("mention_ids"),
            _uniq("household_key").alias("households"), _uniq("source").alias("sources"),
            _uniq(persons).alias("persons"), pl.col("severity").max().alias("max_severity"),
            _uniq("why").alias("reasons"),
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
        frames.append(_finish(f))
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
        pl.col("date").min(), _uniq("household_key").alias("hh"), pl.col("source").first(),
        pl.col("severity").max())
    stats = ties.join(ev_info, on="event_key").group_by("component").agg(
        _uniq("person_id").alias("persons"), _uniq(pl.col("hh").list.explode(keep_nulls=False, empty_as_null=False)).alias("households"),
        _uniq("event_key").alias("events"), pl.col("date").min().alias("first_date"),
        pl.col("date").max().alias("last_date"), _uniq("source").alias("sources"),
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
          .group_by("component").agg(_uniq(pl.col("person_id").list.explode(keep_nulls=False, empty_as_null=False)).alias("co_offenders")))
    # adults tied to children harmed at two or more households
    kids = (harmed.join(dob, on="person_id", how="left")
            .filter(pl.col("dob").is_not_null() & ((_days(pl.col("date") - pl.col("dob")) / 365.25) < child_age))
            .select(pl.col("person_id").alias("child"), "event_key", "household_key"))
    adults = t.join(dob, on="person_id", how="left").join(
        harmed.select("event_key", "date").unique("event_key"), on="event_key").filter(
        pl.col("dob").is_not_null() & ((_days(pl.col("date") - pl.col("dob")) / 365.25) >= child_age))
    around = (adults.join(kids, on="event_key").filter(pl.col("child") != pl.col("person_id"))
              .group_by(["component", "person_id"]).agg(pl.col("household_key").drop_nulls().n_unique().alias("nh"))
              .filter(pl.col("nh") >= 2).group_by("component").agg(_uniq("person_id").alias("adults_around_children")))
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
    extra = pl.DataFrame(rows, schema={"component": stats.schema["component"], "bridges": _LIST,
                                       "co_offenders": _LIST, "adults_around_children": _LIST,
                                       "details": pl.Utf8})
    f = stats.join(extra, on="component", how="left")
    return _finish(f.with_columns(
        rule=pl.lit("networks"), subject=pl.lit("group"), person_id=pl.col("persons").list.first(),
        measure=pl.col("persons").list.len(), threshold=pl.lit(min_members), mention_ids=pl.lit([], _LIST),
        explanation=pl.format(
            "A group of {} people tied through {} harm events at {} households between {} and {}; "
            "co-offenders: {}; adults around children in several households: {}; bridging people: {}.",
            pl.col("persons").list.len(), pl.col("events").list.len(), pl.col("households").list.len(),
            pl.col("first_date"), pl.col("last_date"),
            pl.when(pl.col("co_offenders").list.len() > 0).then(pl.col("co_offenders").list.join(", ")).otherwise(pl.lit("none")),
            pl.when(pl.col("adults_around_children").list.len() > 0).then(pl.col("adults_around_children").list.join(", ")).otherwise(pl.lit("none")),
            pl.when(pl.col("bridges").list.len() > 0).then(pl.col("bridges").list.join(", ")).otherwise(pl.lit("none"))),
    ))
