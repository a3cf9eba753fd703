"""A person's household over time, derived from their mentions (pure: frames in, frames out).

**Household on a date.** A person's dated households (their mentions with a household; mentions
without one — no UPRN and no address+postcode — are ignored; several households on one day: the
one with most of their mentions that day, then the smallest key) are collapsed into runs of the
same household, which give *spells* ``[start, end)``: NULL ``start`` for the person's first spell
(before their first record they are taken to live where first recorded) and NULL ``end`` for the
last (they live at their last recorded household until recorded elsewhere). Where a spell starts
is the ``boundary`` (``[analytics.households] boundary``):

- ``midpoint`` (the default): a move is placed half way between the last record at the old
  household and the first at the new one, so the household on date D is the household of the
  person's record *nearest in time* to D (a tie goes to the later record);
- ``at_record``: a move happens on the day of the first record at the new household, so the
  household on D is that of the record nearest to D *at or before* D, else the nearest after D.

On the generated world (bench/analytics.py) ``midpoint`` finds more of the planted harm-proximity
cases (a man is often first recorded at a new home weeks after moving in) at the same precision.

**Old addresses.** A record at a household the person had left, between two records at their
current one, counts as the current one (``smooth_old_addresses``).

**One key per home.** Before any of this, every mention's household is its *dwelling*
(graphs.dwellings): agencies write one house many ways, and a change of key that is not a change
of dwelling is not a move.

For a harmed person *in a given event*, "their household at the time" is the household on their
own mention in that event when the agency gave one, else their household on the event date
(graphs.harm.harmed_records; with ``event_majority`` the event's majority household).
"""

from __future__ import annotations

import polars as pl

SPELL_COLUMNS = ("person_id", "household_key", "start", "end", "first_seen", "last_seen", "n_mentions")


def daily_households(mentions: pl.DataFrame) -> pl.DataFrame:
    """One household per (person, day) they were recorded with one: ``person_id, date, household_key, n``."""
    m = mentions.filter(pl.col("household_key").is_not_null() & pl.col("person_id").is_not_null())
    return (
        m.group_by(["person_id", "date", "household_key"]).len("n")
        .group_by(["person_id", "date"])
        .agg(pl.col("household_key").sort_by(["n", "household_key"], descending=[True, False]).first(),
             pl.col("n").sum())
    )


def household_spells(mentions: pl.DataFrame, daily: pl.DataFrame | None = None,
                     boundary: str = "midpoint") -> pl.DataFrame:
    """Spells ``person_id, household_key, start, end, first_seen, last_seen, n_mentions``.

    ``mentions`` needs ``person_id``, ``date`` (pl.Date) and ``household_key`` (nullable).
    ``start``/``end`` bound the spell (``start <= D < end``; NULL = unbounded).
    """
    daily = (daily_households(mentions) if daily is None else daily).sort(["person_id", "date"])
    daily = daily.with_columns(
        run=(
            (pl.col("household_key") != pl.col("household_key").shift(1))
            | (pl.col("person_id") != pl.col("person_id").shift(1))
        ).fill_null(True).cum_sum()
    )
    spells = (
        daily.group_by(["person_id", "run"]).agg(
            pl.col("household_key").first(),
            pl.col("date").min().alias("first_seen"),
            pl.col("date").max().alias("last_seen"),
            pl.col("n").sum().alias("n_mentions"),
        ).sort(["person_id", "first_seen"])
    )
    first_of_person = pl.col("person_id") != pl.col("person_id").shift(1)
    last_of_person = pl.col("person_id") != pl.col("person_id").shift(-1)
    if boundary == "midpoint":  # the move is put half way between the last record there and the first here
        gap = (pl.col("first_seen") - pl.col("last_seen").shift(1)).dt.total_days()
        move = pl.col("last_seen").shift(1) + pl.duration(days=(gap + 1) // 2)
    elif boundary == "at_record":
        move = pl.col("first_seen")
    else:
        raise ValueError(f"household boundary must be 'at_record' or 'midpoint', not {boundary!r}")
    spells = spells.with_columns(
        start=pl.when(first_of_person.fill_null(True)).then(None).otherwise(move),
    ).with_columns(
        end=pl.when(last_of_person.fill_null(True)).then(None).otherwise(pl.col("start").shift(-1)),
    )
    return spells.select(SPELL_COLUMNS)


def spells_across_moves(spells: pl.DataFrame, max_gap_days: int, lead_days: int = 0) -> pl.DataFrame:
    """``spells`` with each spell widened over the gaps at its ends: back to the day after the
    person's last record at their previous household, forward to their first record at the next,
    where that gap is at most ``max_gap_days``. Between the last record at the old home and the
    first at the new one nobody knows on which side of the move the person was; the midpoint is
    a guess, and a stale or second address written once shifts it (the man at the family's home
    the week before the harm, his next record a month later at another address). Widened spells
    overlap: a person can be at two households on one day. ``max_gap_days <= 0``: as they are.
    With ``lead_days``, a spell after a move also starts at least that many days before its first
    record (people are often first recorded at a new home weeks after moving in, while a stale
    record of the old home, written after the move, holds the old spell open)."""
    if max_gap_days <= 0 or spells.height == 0:
        return spells
    s = spells.sort(["person_id", "first_seen"])
    same_prev = pl.col("person_id").shift(1) == pl.col("person_id")
    same_next = pl.col("person_id").shift(-1) == pl.col("person_id")
    prev_last = pl.when(same_prev).then(pl.col("last_seen").shift(1))
    next_first = pl.when(same_next).then(pl.col("first_seen").shift(-1))
    back = (pl.col("first_seen") - prev_last).dt.total_days() <= max_gap_days
    ahead = (next_first - pl.col("last_seen")).dt.total_days() <= max_gap_days
    start = (pl.when(pl.col("start").is_not_null() & back.fill_null(False))
             .then(prev_last + pl.duration(days=1)).otherwise(pl.col("start")))
    if lead_days > 0:
        start = pl.when(start.is_not_null()).then(
            pl.min_horizontal(start, pl.col("first_seen") - pl.duration(days=lead_days))).otherwise(start)
    return s.with_columns(
        start=start,
        end=pl.when(pl.col("end").is_not_null() & ahead.fill_null(False)).then(next_first).otherwise(pl.col("end")),
    ).select(SPELL_COLUMNS)


def household_on_date(spells: pl.DataFrame, queries: pl.DataFrame) -> pl.DataFrame:
    """``queries`` (``person_id``, ``date`` and any other columns) with ``household_key`` added
    (NULL for a person never recorded at a household). Row order is not kept."""
    q = queries.drop("household_key", strict=False).with_row_index("_q")
    hit = (
        q.select("_q", "person_id", "date")
        .join(spells.select("person_id", "household_key", "start", "end"), on="person_id", how="inner")
        .filter(
            (pl.col("start").is_null() | (pl.col("start") <= pl.col("date")))
            & (pl.col("end").is_null() | (pl.col("date") < pl.col("end")))
        )
        .select("_q", "household_key")
    )
    return q.join(hit, on="_q", how="left").drop("_q")


def residents_on(spells: pl.DataFrame, places: pl.DataFrame, *, person_col: str = "resident") -> pl.DataFrame:
    """``places`` (``household_key``, ``date`` and any other columns) joined to every person
    living there on that date (by their spells), named ``person_col``."""
    return (
        places.join(
            spells.select(pl.col("person_id").alias(person_col), "household_key", "start", "end"),
            on="household_key", how="inner",
        )
        .filter(
            (pl.col("start").is_null() | (pl.col("start") <= pl.col("date")))
            & (pl.col("end").is_null() | (pl.col("date") < pl.col("end")))
        )
        .drop("start", "end")
    )


def person_households(mentions: pl.DataFrame) -> pl.DataFrame:
    """Person–household edges: the dates the person was recorded there.

    ``person_id, household_key, first_seen, last_seen, n_mentions, dates`` (sorted distinct days).
    """
    m = mentions.filter(pl.col("household_key").is_not_null() & pl.col("person_id").is_not_null())
    return m.group_by(["person_id", "household_key"]).agg(
        pl.col("date").min().alias("first_seen"),
        pl.col("date").max().alias("last_seen"),
        pl.len().alias("n_mentions"),
        pl.col("date").unique().sort().alias("dates"),
    ).sort(["person_id", "first_seen"])


def smooth_old_addresses(mentions: pl.DataFrame, daily: pl.DataFrame | None = None,
                         return_daily: bool = False) -> pl.DataFrame | tuple[pl.DataFrame, pl.DataFrame]:
    """Agencies often record a person at an address they have left. A person's record at
    household X on day D is taken to be an *old address* when X is one of their households from
    before, and neither their nearest recorded household before D (Y) nor the nearest after D is X:
    the record's household becomes Y. Both neighbours must exist, so a real move back (to X and
    staying: the next record is at X again, or there is none) is kept. Y, X, Y (the person is
    between two records at Y) and Y, X, Z (the person moved on from Y to Z, with an agency
    still writing the X they left before Y) are both old addresses. Marks such rows
    ``old_address``."""
    daily = (daily_households(mentions) if daily is None else daily).sort(["person_id", "date"])
    same = pl.col("person_id").shift(1) == pl.col("person_id")
    nxt = pl.col("person_id").shift(-1) == pl.col("person_id")
    d = daily.with_columns(
        prev=pl.when(same).then(pl.col("household_key").shift(1)),
        next=pl.when(nxt).then(pl.col("household_key").shift(-1)),
        seen_before=pl.col("household_key").cum_count().over(["person_id", "household_key"]) > 1,
    )
    old = d.filter((pl.col("prev") != pl.col("household_key")) & (pl.col("next") != pl.col("household_key"))
                   & pl.col("seen_before")).select("person_id", "date", pl.col("household_key").alias("_old"),
                                                  pl.col("prev").alias("_now"))
    hit = pl.col("household_key") == pl.col("_old")
    out = (mentions.join(old, on=["person_id", "date"], how="left")
           .with_columns(household_key=pl.when(hit).then(pl.col("_now")).otherwise(pl.col("household_key")),
                         old_address=hit.fill_null(False))
           .drop("_old", "_now"))
    if not return_daily:
        return out
    fixed = (daily.join(old, on=["person_id", "date"], how="left")
             .with_columns(household_key=pl.coalesce("_now", "household_key")).drop("_old", "_now"))
    return out, fixed
