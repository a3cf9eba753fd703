"""Harm, near harm and event severity, from the configuration (pure: frames in, frames out).

The *mentions frame* every rule takes has one row per (resolved person, event) involvement:
``mention_id, event_key, source, event_type, role, date (pl.Date), person_id, household_key,
dob, dash_risk, initial_rag, final_rag, presentation, safeguarding_concern``.

**Harm** (``[harm.*]`` in the config, the default is extracts.md "What counts as harm"): a row is
*harmed* when, for police, the event type and role are listed; for social care, the role is listed
and the final RAG or the event type is listed; for health, the role is listed, the presentation is
listed and (if required) ``safeguarding_concern`` is true.

**Near harm**: every *other* person in a harm event, and every person living (by their spells,
graphs.households) at a harmed person's household on the event date (and, as configured, by their
home spells, on either side of a move, or by a record naming only the home's street:
graphs.street_near).

**Severity score** of an event (``[analytics.severity]``): police DASH risk, social care final RAG
(initial RAG when no final), health presentation, mapped to 0-3 by the config; NULL when the
event carries no graded field.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from graphs.dwellings import with_dwellings
from graphs.households import household_on_date, residents_on, smooth_old_addresses
from graphs.street_near import near_by_street

MENTION_COLUMNS = (
    "mention_id", "event_key", "source", "event_type", "role", "date", "person_id", "household_key",
    "dob", "dash_risk", "initial_rag", "final_rag", "presentation", "safeguarding_concern",
)

DEFAULT_SEVERITY = {
    "dash_risk": {"standard": 1, "medium": 2, "high": 3},
    "rag": {"blue": 0, "green": 1, "amber": 2, "red": 3},
    "presentation": {
        "neglect_concern": 1, "injury": 2, "assault": 2, "self_harm": 2,
        "head_injury": 3, "fracture": 3, "burn": 3, "overdose": 3,
    },
    "severe_score": 3,
}


def _in(col: str, values: Any) -> pl.Expr:
    return pl.col(col).is_in(list(values or []))


def harm_expr(harm: dict[str, Any]) -> pl.Expr:
    """A boolean expression: this row is a person harmed by this event."""
    police = harm.get("police", {})
    sc = harm.get("social_care", {})
    health = harm.get("health", {})
    e_police = (pl.col("source") == "police") & _in("event_type", police.get("event_types")) & _in("role", police.get("roles"))
    e_sc = (pl.col("source") == "social_care") & _in("role", sc.get("roles")) & (
        _in("final_rag", sc.get("final_rags")) | _in("event_type", sc.get("event_types"))
    )
    e_health = (pl.col("source") == "health") & _in("role", health.get("roles")) & _in("presentation", health.get("presentations"))
    if health.get("requires_safeguarding_concern", True):
        e_health = e_health & pl.col("safeguarding_concern").fill_null(False)
    return (e_police | e_sc | e_health).fill_null(False)


def severity_expr(severity: dict[str, Any] | None = None) -> pl.Expr:
    """The event's severity score 0-3 (NULL when ungraded)."""
    s = {**DEFAULT_SEVERITY, **(severity or {})}

    def mapped(col: str, mapping: dict[str, int]) -> pl.Expr:
        return pl.col(col).replace_strict(mapping, default=None, return_dtype=pl.Int32)

    rag = pl.coalesce(mapped("final_rag", s["rag"]), mapped("initial_rag", s["rag"]))
    return (
        pl.when(pl.col("source") == "police").then(mapped("dash_risk", s["dash_risk"]))
        .when(pl.col("source") == "social_care").then(rag)
        .when(pl.col("source") == "health").then(mapped("presentation", s["presentation"]))
        .otherwise(None).cast(pl.Int32)
    )


def prepare(mentions: pl.DataFrame, harm: dict[str, Any], severity: dict[str, Any] | None = None,
            offender_roles: tuple[str, ...] | list[str] = ("suspect", "alleged_perpetrator"),
            resolve_households: bool = True, smooth_old: bool = True) -> pl.DataFrame:
    """The mentions frame with ``harmed``, ``offender`` and ``severity`` columns; rows without a
    person dropped; household keys resolved to dwellings (graphs.dwellings) unless told not to."""
    m = with_dwellings(mentions) if resolve_households else mentions
    for col in MENTION_COLUMNS:
        if col not in m.columns:
            m = m.with_columns(pl.lit(None).alias(col))
    m = m.with_columns(
        pl.col("date").cast(pl.Date), pl.col("dob").cast(pl.Date),
        *[pl.col(c).cast(pl.Utf8) for c in ("mention_id", "event_key", "source", "event_type", "role", "person_id")],
        pl.col("safeguarding_concern").cast(pl.Boolean),
        *[pl.col(c).cast(pl.Utf8) for c in ("dash_risk", "initial_rag", "final_rag", "presentation", "household_key")],
    )
    m = m.filter(pl.col("person_id").is_not_null())
    if smooth_old:
        m = smooth_old_addresses(m)
    return m.with_columns(
        harmed=harm_expr(harm),
        offender=pl.col("role").is_in(list(offender_roles)),
        severity=severity_expr(severity),
    )


def harmed_records(m: pl.DataFrame, spells: pl.DataFrame, event_majority: bool = True) -> pl.DataFrame:
    """One row per (harmed person, harm event): ``person_id, event_key, date, source, severity,
    household_key`` (their own mention's household, else their household on the date, else the
    household most of the event's other records give: a child known only from a police call-out
    without an address was where the adults recorded at the call-out live; with
    ``event_majority``, when more than half of the event's harmed persons are at one household,
    that household for all of them: one child's record carrying an old address does not make a
    second household), ``mention_ids``."""
    h = (
        m.filter(pl.col("harmed"))
        .group_by(["person_id", "event_key"])
        .agg(
            pl.col("date").min(), pl.col("source").first(), pl.col("severity").max(),
            pl.col("household_key").drop_nulls().first().alias("own_household"),
            pl.col("mention_id").sort().alias("mention_ids"),
        )
    )
    looked_up = household_on_date(spells, h.select("person_id", "event_key", "date")).rename({"household_key": "derived"})
    h = (
        h.join(looked_up.select("person_id", "event_key", "derived"), on=["person_id", "event_key"], how="left")
        .with_columns(household_key=pl.coalesce("own_household", "derived"))
        .drop("own_household", "derived")
    )
    at_event = (m.filter(pl.col("household_key").is_not_null()).group_by(["event_key", "household_key"]).len("n")
                .sort(["event_key", "n", "household_key"], descending=[False, True, False])
                .unique("event_key", keep="first", maintain_order=True)
                .select("event_key", pl.col("household_key").alias("_at_event")))
    h = h.join(at_event, on="event_key", how="left").with_columns(
        household_key=pl.coalesce("household_key", "_at_event")).drop("_at_event")
    if event_majority:
        votes = (h.filter(pl.col("household_key").is_not_null()).group_by(["event_key", "household_key"]).len("n")
                 .with_columns(total=pl.col("n").sum().over("event_key"))
                 .filter(pl.col("n") * 2 > pl.col("total"))
                 .select("event_key", pl.col("household_key").alias("_major")))
        h = h.join(votes, on="event_key", how="left").with_columns(
            household_key=pl.coalesce("_major", "household_key")).drop("_major")
    return h


def near_harm(m: pl.DataFrame, harmed: pl.DataFrame, spells: pl.DataFrame,
              home: pl.DataFrame | None = None, residents_by_home: bool = False,
              moving: pl.DataFrame | None = None, street_days: int = 0) -> pl.DataFrame:
    """One row per (person near harm, harm event, harmed person): ``person_id, event_key, date,
    harmed_person, household_key`` (the harmed person's household at the time), ``via``
    ('event' = in the event, 'household' = living there on the date).

    With ``home`` (graphs.families.home_spells: everyone's spells from their records that name
    one home: a UPRN or an address with a number), the harmed person's *home* on the date by those
    spells counts as well as the household the harm was placed at (the child's record in the harm
    event may carry a street without a number, or a stale or second address); such rows'
    ``household_key`` is the home. Who lives there on the date: with ``residents_by_home``, by
    each person's home spells (where they have any record naming one home; else by all their
    records): a street without a number, which dwelling resolution may have put in a neighbour's
    house, does not move a man in with the family next door; without it, by all their records or
    by their home spells.

    With ``moving`` (graphs.households.spells_across_moves: spells widened over the gap between
    the last record at one household and the first at the next), a person who may still have
    lived there, or may already have, counts too, after everyone living there by the spells.

    With ``street_days``, a person whose record naming only the street (no number) of the harmed
    person's home, and not their own home's street, is within that many days of the harm counts
    last (graphs.street_near, ``via`` 'street')."""
    base = harmed.select(
        "event_key", "date", pl.col("person_id").alias("harmed_person"), "household_key",
    )
    homes = base.head(0)
    if home is not None and base.height:
        homes = (household_on_date(home, base.select(pl.col("harmed_person").alias("person_id"), "event_key", "date",
                                                     pl.col("household_key").alias("_placed")))
                 .filter(pl.col("household_key").is_not_null()
                         & (pl.col("_placed").is_null() | (pl.col("household_key") != pl.col("_placed"))))
                 .select("event_key", "date", pl.col("person_id").alias("harmed_person"), "household_key"))
    in_event = (
        m.select("person_id", "event_key").unique()
        .join(base, on="event_key", how="inner")
        .filter(pl.col("person_id") != pl.col("harmed_person"))
        .with_columns(via=pl.lit("event"), _rank=pl.lit(0))
    )

    def living(places: pl.DataFrame, rank: int, by: pl.DataFrame) -> pl.DataFrame:
        return (residents_on(by, places.filter(pl.col("household_key").is_not_null()), person_col="person_id")
                .filter(pl.col("person_id") != pl.col("harmed_person"))
                .with_columns(via=pl.lit("household"), _rank=pl.lit(rank)))

    cols = ["person_id", "event_key", "date", "harmed_person", "household_key", "via", "_rank"]
    parts = [in_event.select(cols), living(base, 1, spells).select(cols)]
    if home is not None and residents_by_home:   # by the records naming one home, where a person has any
        lives = pl.concat([home.select(spells.columns),
                           spells.join(home.select("person_id").unique(), on="person_id", how="anti")])
        parts = [in_event.select(cols), living(base, 1, lives).select(cols), living(homes, 2, lives).select(cols)]
    elif home is not None:   # by all their records, or by those naming one home
        parts += [living(homes, 2, spells).select(cols), living(base, 3, home).select(cols),
                  living(homes, 4, home).select(cols)]
    if moving is not None:   # on either side of a move whose day the records leave open
        parts += [living(base, 5, moving).select(cols), living(homes, 6, moving).select(cols)]
    if street_days > 0:   # a record naming only the street of the harmed family's home
        parts.append(near_by_street(m, pl.concat([base, homes]), street_days)
                     .with_columns(via=pl.lit("street"), _rank=pl.lit(7)).select(cols))
    both = pl.concat(parts)
    # one row per (person, event, harmed person): 'event' wins over 'household', the household
    # the harm was placed at over the harmed person's home
    return (both.sort("_rank", maintain_order=True)
            .unique(["person_id", "event_key", "harmed_person"], keep="first", maintain_order=True).drop("_rank"))
