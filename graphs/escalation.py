"""The escalation rule (described in graphs/rules.py): harm notifications of a child or a
household rising in frequency or in severity."""

from __future__ import annotations

import polars as pl

from graphs.findings_frame import days, empty_findings, finish_findings, person_dob, uniq

# -- escalation ---------------------------------------------------------------------------------
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
        frames.append(finish_findings(f))
    return pl.concat(frames) if frames else empty_findings()
