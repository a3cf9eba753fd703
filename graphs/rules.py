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
  distinct households (the harmed person's household at the time) within ``window_days`` (730),
  of as many distinct *families* (``count = "families"``, the default; graphs/families.py:
  one home that the agencies write three ways, or a parent near their own child's repeated harm,
  is one family). Evidence: the households, harmed persons, events, and how many households the
  person has been recorded at.
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
The rules over time and groups live beside this module: escalation in graphs/escalation.py,
networks in graphs/harm_networks.py; the findings frame in graphs/findings_frame.py.

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

from typing import Any

import networkx as nx
import polars as pl

from graphs.families import harm_families
from graphs.findings_frame import counted, days, empty_findings, finish_findings, uniq, window_hits

# -- repeat victim ---------------------------------------------------------------------------

def repeat_victim(harmed: pl.DataFrame, min_events: int = 3, window_days: int = 365) -> pl.DataFrame:
    """Persons harmed in ``min_events``+ distinct events within ``window_days``."""
    hits, peak = window_hits(harmed, ["person_id"], window_days, pl.len(), min_events)
    if hits.height == 0:
        return empty_findings()
    f = hits.group_by("person_id").agg(
        pl.col("date").min().alias("first_date"), pl.col("date").max().alias("last_date"),
        uniq("event_key").alias("events"), uniq(pl.col("mention_ids").list.explode(keep_nulls=False, empty_as_null=False)).alias("mention_ids"),
        uniq("household_key").alias("households"), uniq("source").alias("sources"),
        pl.col("severity").max().alias("max_severity"),
    ).join(peak, on="person_id")
    return finish_findings(f.with_columns(
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
                   min_households: int = 3, window_days: int = 730, count: str = "families",
                   m: pl.DataFrame | None = None) -> pl.DataFrame:
    """Persons near harm at ``min_households``+ distinct households within ``window_days``;
    with ``count = "families"`` the households must belong to as many distinct families
    (graphs.families.harm_families over ``m``, the prepared mentions frame: one home written
    three ways is one family)."""
    if count not in ("families", "households"):
        raise ValueError(f"harm_proximity count must be 'families' or 'households', not {count!r}")
    rows = near.filter(pl.col("household_key").is_not_null())
    unit = "household_key"
    if count == "families":
        rows = rows.join(harm_families(harmed if m is None else m, harmed, rows), on="harmed_person", how="left").with_columns(
            pl.coalesce(pl.col("family").cast(pl.Utf8), pl.format("p:{}", "harmed_person")).alias("family"))
        unit = "family"
    hits, peak = window_hits(rows, ["person_id"], window_days, pl.col(unit).n_unique(), min_households)
    if hits.height == 0:
        return empty_findings()
    hm = harmed.select(pl.col("person_id").alias("harmed_person"), "event_key", "mention_ids", "source", "severity")
    hits = hits.join(hm, on=["harmed_person", "event_key"], how="left")
    lived = spells.group_by("person_id").agg(pl.col("household_key").n_unique().alias("lived_at"))
    f = hits.group_by("person_id").agg(
        pl.col("date").min().alias("first_date"), pl.col("date").max().alias("last_date"),
        uniq("event_key").alias("events"), uniq(pl.col("mention_ids").list.explode(keep_nulls=False, empty_as_null=False)).alias("mention_ids"),
        uniq("household_key").alias("households"), uniq("harmed_person").alias("harmed_persons"),
        uniq("source").alias("sources"), pl.col("severity").max().alias("max_severity"),
    ).join(peak, on="person_id").join(lived, on="person_id", how="left").with_columns(
        pl.col("lived_at").fill_null(0))
    return finish_findings(f.with_columns(
        rule=pl.lit("harm_proximity"), subject=pl.lit("person"), measure=pl.col("peak"),
        threshold=pl.lit(min_households),
        persons=pl.concat_list([pl.col("person_id"), pl.col("harmed_persons")]).list.unique().list.sort(),
        details=pl.struct(pl.col("harmed_persons"), pl.col("lived_at").alias("households_lived_at")).struct.json_encode(),
        explanation=pl.format(
            "Near harm to {} at {} households between {} and {} (at most {} {} within {} days; "
            "the rule is {} or more). Recorded living at {}.",
            counted(pl.col("harmed_persons").list.len(), "person", "people"), pl.col("households").list.len(),
            pl.col("first_date"), pl.col("last_date"), pl.col("peak"),
            pl.lit("families" if count == "families" else "households"), pl.lit(window_days),
            pl.lit(min_households), counted(pl.col("lived_at"), "household", "households")),
    ))


# -- victim / offender overlap ------------------------------------------------------------------

def victim_offender_overlap(m: pl.DataFrame, harmed: pl.DataFrame, window_days: int = 1095) -> pl.DataFrame:
    """Persons harmed in one event and an offender in another, less than ``window_days`` apart."""
    off = m.filter(pl.col("offender")).group_by(["person_id", "event_key"]).agg(
        pl.col("date").min().alias("date_off"), pl.col("mention_id").alias("mention_ids_off"),
        pl.col("source").first().alias("source_off"))
    pairs = harmed.join(off, on="person_id", how="inner").filter(
        (pl.col("event_key") != pl.col("event_key_right"))
        & (days(pl.col("date") - pl.col("date_off")).abs() < window_days))
    if pairs.height == 0:
        return empty_findings()
    f = pairs.group_by("person_id").agg(
        uniq("event_key").alias("harm_events"), uniq("event_key_right").alias("offender_events"),
        pl.min_horizontal(pl.col("date").min(), pl.col("date_off").min()).alias("first_date"),
        pl.max_horizontal(pl.col("date").max(), pl.col("date_off").max()).alias("last_date"),
        uniq(pl.concat_list([pl.col("mention_ids"), pl.col("mention_ids_off")]).list.explode(keep_nulls=False, empty_as_null=False)).alias("mention_ids"),
        uniq("household_key").alias("households"),
        uniq(pl.concat_list([pl.col("source"), pl.col("source_off")]).list.explode(keep_nulls=False, empty_as_null=False)).alias("sources"),
        pl.col("severity").max().alias("max_severity"),
    )
    return finish_findings(f.with_columns(
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
        (pl.col("victim") < pl.col("victim2")) & (days(pl.col("date") - pl.col("date2")).abs() < window_days))
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
        uniq("event_key").alias("events"),
        uniq(pl.concat_list(["mention_id", "perp_mention"]).list.explode(keep_nulls=False, empty_as_null=False)).alias("mention_ids"),
        uniq("household_key").alias("households"), uniq("victim").alias("victims"),
        uniq("source").alias("sources"), pl.col("severity").max().alias("max_severity"),
    ).rename({"perp": "person_id"})
    return finish_findings(f.with_columns(
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
