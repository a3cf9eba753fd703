"""The findings frame every rule returns (one row per finding, :data:`FINDING_COLUMNS`), and the
pieces the rules share to build one: counting things inside windows of days, the finishing
cast to the frame's schema, and counts in words ('1 event', '3 events')."""

from __future__ import annotations

import polars as pl

FINDING_COLUMNS = (
    "rule", "subject", "person_id", "household_key", "first_date", "last_date", "measure",
    "threshold", "explanation", "events", "mention_ids", "households", "persons", "sources",
    "max_severity", "details",
)

TEXT_LIST = pl.List(pl.Utf8)
FINDING_SCHEMA = {
    "rule": pl.Utf8, "subject": pl.Utf8, "person_id": pl.Utf8, "household_key": pl.Utf8,
    "first_date": pl.Date, "last_date": pl.Date, "measure": pl.Int64, "threshold": pl.Int64,
    "explanation": pl.Utf8, "events": TEXT_LIST, "mention_ids": TEXT_LIST, "households": TEXT_LIST,
    "persons": TEXT_LIST, "sources": TEXT_LIST, "max_severity": pl.Int32, "details": pl.Utf8,
}


def empty_findings() -> pl.DataFrame:
    return pl.DataFrame(schema=FINDING_SCHEMA)


def finish_findings(df: pl.DataFrame) -> pl.DataFrame:
    for col, dtype in FINDING_SCHEMA.items():
        if col not in df.columns:
            df = df.with_columns(pl.lit(None, dtype=dtype).alias(col))
    return df.select([pl.col(c).cast(t) for c, t in FINDING_SCHEMA.items()])


def uniq(col: str | pl.Expr) -> pl.Expr:
    e = pl.col(col) if isinstance(col, str) else col
    return e.drop_nulls().unique().sort()


def days(a: pl.Expr) -> pl.Expr:
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
        .filter(pl.col("_end").is_not_null() & (days(pl.col("_end") - pl.col("date")) < window_days))
        .drop("_end")
    )
    return hits, peak


def counted(n: pl.Expr, one: str, many: str) -> pl.Expr:
    """``n`` with its noun in the right number: '1 event', '3 events'."""
    return pl.format("{} {}", n, pl.when(n == 1).then(pl.lit(one)).otherwise(pl.lit(many)))


def person_dob(m: pl.DataFrame) -> pl.DataFrame:
    """Each person's date of birth: the most frequent one on their mentions (then the earliest)."""
    return (m.filter(pl.col("dob").is_not_null()).group_by(["person_id", "dob"]).len()
            .sort(["person_id", "len", "dob"], descending=[False, True, False])
            .unique("person_id", keep="first", maintain_order=True).select("person_id", "dob"))
