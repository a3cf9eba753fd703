"""A drop's rows, checked and normalised (pure: polars frames in, frames out): the contract's
row rules (a row that breaks one goes to quarantine with its reason), the warnings worth
reporting, and the mentions, events and quarantine rows a usable row becomes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import polars as pl

from ingest import contract
from ingest import encoded_contract
from ingest import normalise as norm
from ingest.reading import SourceFile

EARLIEST_DATE = datetime(1900, 1, 1)   # an earlier date is a typo, not a date


def _rule_checks(source: str, encoded: bool = False) -> list[tuple[str, pl.Expr]]:
    """(column, expression giving a reason or null) for every row rule of a source."""
    def present(c: str) -> pl.Expr:
        return norm.blank_to_null(pl.col(c)).is_not_null()

    def enum(c: str, allowed: tuple[str, ...]) -> tuple[str, pl.Expr]:
        value = norm.blank_to_null(pl.col(c))
        return c, pl.when(value.is_not_null() & ~value.is_in(list(allowed))).then(
            pl.format(f"{c} '{{}}' is not one of: {', '.join(allowed)}", value))

    checks: list[tuple[str, pl.Expr]] = []
    for c in (*contract.COMMON_COLUMNS, *contract.SOURCE_COLUMNS[source]):
        limit = contract.MAX_LENGTHS.get(c, contract.DEFAULT_MAX_LENGTH)
        length = pl.col(c).str.len_chars()
        checks.append((c, pl.when(length > limit).then(
            pl.format(f"{c} is {{}} characters long; the contract allows at most {limit}", length))))
    for c in contract.REQUIRED_COLUMNS:
        checks.append((c, pl.when(~present(c)).then(pl.lit(f"{c} is required"))))
    checks.append(enum("role", contract.ROLES[source]))
    checks.append(enum("event_type", contract.EVENT_TYPES[source]))
    checks.append(enum("sex", contract.SEXES))
    checks.append(enum("restriction", contract.RESTRICTIONS))
    event_date = norm.iso_datetime(pl.col("event_date"))
    checks.append(("event_date", pl.when(present("event_date") & event_date.is_null()).then(
        pl.format("event_date '{}' is not an ISO 8601 date or date-time", pl.col("event_date")))))
    checks.append(("event_date", pl.when(event_date < EARLIEST_DATE).then(
        pl.format("event_date '{}' is before 1900", pl.col("event_date")))))
    dob = norm.iso_date(pl.col("dob"))
    checks.append(("dob", pl.when(present("dob") & dob.is_null()).then(
        pl.format("dob '{}' is not an ISO date (YYYY-MM-DD)", pl.col("dob")))))
    checks.append(("dob", pl.when(dob < EARLIEST_DATE.date()).then(pl.format("dob '{}' is before 1900", pl.col("dob")))))
    # A name counts as an identifier only if it has a letter in it ("-" or "?" is not a name).
    identifiers = pl.sum_horizontal([
        (dob.is_not_null() if c == "dob" else pl.col(c).str.contains(r"\p{L}")
         if c in ("forename", "surname") else present(c)).cast(pl.Int8)
        for c in contract.IDENTIFIER_COLUMNS]) if not encoded else pl.sum_horizontal(
        [present(c).cast(pl.Int8) for c in encoded_contract.IDENTIFIER_COLUMNS])
    checks.append(("forename,surname,dob,person_ref", pl.when(identifiers < contract.MIN_IDENTIFIERS).then(
        pl.lit("fewer than two of forename, surname, dob, person_ref: the row cannot be linked to a person"))))
    for column, allowed in contract.SOURCE_COLUMNS[source].items():
        if isinstance(allowed, tuple):
            checks.append(enum(column, allowed))
        elif allowed == "datetime":
            parsed = norm.iso_datetime(pl.col(column))
            checks.append((column, pl.when(present(column) & parsed.is_null()).then(
                pl.format(f"{column} '{{}}' is not an ISO 8601 date-time", pl.col(column)))))
        elif allowed == "bool":
            checks.append((column, pl.when(~norm.is_boolean_text(pl.col(column))).then(
                pl.format(f"{column} '{{}}' is not true or false", pl.col(column)))))
    if source == "police":
        dash = norm.blank_to_null(pl.col("dash_risk"))
        checks.append(("dash_risk", pl.when(dash.is_not_null() & (pl.col("event_type") != "domestic_abuse")).then(
            pl.lit("dash_risk is graded for domestic_abuse events only"))))
    return checks


def row_warnings(file: SourceFile) -> dict[str, int]:
    """Counts of rows that load but carry a value that cannot be right.

    A dob after the event is a keying error (often day and month swapped on a newborn's
    record); the row is still that person's involvement in the event, so it loads — the
    linkage model weighs a day-month swap — and the hub is told how many there were.
    """
    dob = norm.iso_date(pl.col("dob"))
    event_date = norm.iso_datetime(pl.col("event_date"))
    after = file.frame.select((dob > event_date.dt.date()).fill_null(False).sum()).item()
    return {"dob after event_date": int(after)} if after else {}


def check_rows(file: SourceFile) -> pl.DataFrame:
    """Every rule broken by every row: columns _row, column_name, reason (empty if all pass)."""
    frame = file.frame
    checks = _rule_checks(file.source, file.encoded)
    # Lazy, so the parsed dates shared by several rules are computed once (common subexpressions).
    reasons = frame.lazy().select(
        pl.col("_row"),
        *[expr.alias(f"_check_{i}") for i, (_, expr) in enumerate(checks)],
    ).collect()
    long = reasons.unpivot(index="_row", variable_name="_check", value_name="reason").drop_nulls("reason")
    column_of = {f"_check_{i}": column for i, (column, _) in enumerate(checks)}
    long = long.with_columns(pl.col("_check").replace_strict(column_of).alias("column_name")).drop("_check")
    # Duplicate record_id within the file: every copy is quarantined, since we cannot know which is right.
    record_id = norm.blank_to_null(pl.col("record_id"))
    dups = frame.filter(record_id.is_not_null() & record_id.is_duplicated()).select(
        "_row", pl.lit("record_id").alias("column_name"),
        pl.format("duplicate record_id '{}' within the file (rows {})", pl.col("record_id"),
                  pl.col("_row").cast(pl.String).implode().over("record_id").list.join(", ")).alias("reason"))
    return pl.concat([long.select("_row", "column_name", "reason"), dups]).sort("_row", "column_name")


# --- normalising (pure) ---------------------------------------------------------------------

def normalise_mentions(file: SourceFile, rows: pl.DataFrame, provenance: dict[str, Any]) -> pl.DataFrame:
    """Valid rows in the shape of the ``mentions`` table (raw kept beside normalised)."""
    source = file.source
    b = norm.blank_to_null
    # Names, addresses and postcodes repeat a great deal (a family, a street): normalise each
    # distinct value once and join the results back, instead of running the regexes per row.
    rows = normalise_distinct(rows, {"forename": norm.name, "middle_names": norm.name, "surname": norm.name,
                                      "address": norm.address, "postcode": norm.postcode})
    out = rows.select(
        pl.format(f"{source}:{{}}", b(pl.col("record_id"))).alias("mention_id"),
        pl.lit(source).alias("source"),
        b(pl.col("record_id")).alias("record_id"),
        pl.format(f"{source}:{{}}", b(pl.col("event_id"))).alias("event_key"),
        b(pl.col("event_id")).alias("event_id"),
        norm.iso_datetime(pl.col("event_date")).alias("event_date"),
        b(pl.col("role")).alias("role"),
        b(pl.col("event_type")).alias("event_type"),
        b(pl.col("person_ref")).alias("person_ref"),
        pl.col("_norm_forename").alias("forename"),
        pl.col("_norm_middle_names").alias("middle_names"),
        pl.col("_norm_surname").alias("surname"),
        norm.iso_date(pl.col("dob")).alias("dob"),
        norm.sex(pl.col("sex")).alias("sex"),
        pl.col("_norm_address").alias("address"),
        pl.col("_norm_postcode").alias("postcode"),
        norm.uprn(pl.col("uprn")).alias("uprn"),
        b(pl.col("borough")).alias("borough"),
        b(pl.col("restriction")).fill_null("none").alias("restriction"),
        b(pl.col("forename")).alias("forename_raw"),
        b(pl.col("middle_names")).alias("middle_names_raw"),
        b(pl.col("surname")).alias("surname_raw"),
        b(pl.col("dob")).alias("dob_raw"),
        b(pl.col("sex")).alias("sex_raw"),
        b(pl.col("address")).alias("address_raw"),
        b(pl.col("postcode")).alias("postcode_raw"),
        pl.col("event_date").alias("event_date_raw"),
        pl.col("_row").cast(pl.Int64).alias("row_number"),
    )
    out = out.with_columns(household_key_expr().alias("household_key"))
    if file.encoded:   # identifiers are NULL above: the household and person_ref are keyed tokens
        out = out.with_columns(
            pl.when(b(rows["tok_uprn"]).is_not_null()).then(pl.format("uprn:{}", b(rows["tok_uprn"])))
            .otherwise(pl.format("addr:{}", b(rows["tok_household"]))).alias("household_key"),
            b(rows["tok_person_ref"]).alias("person_ref"))
    return out.with_columns(
        pl.lit(provenance["drop_id"]).alias("drop_id"),
        pl.lit(file.path.name).alias("file_name"),
        pl.lit(file.sha256).alias("file_sha256"),
        pl.lit(provenance["ingested_at"]).alias("ingested_at"),
    )


def normalise_distinct(rows: pl.DataFrame, functions: dict[str, Any]) -> pl.DataFrame:
    """``rows`` with a ``_norm_<column>`` for each column, computed once per distinct value."""
    normalised = {}
    for column, fn in functions.items():
        distinct = rows.select(pl.col(column).unique()).with_columns(fn(pl.col(column)).alias(f"_norm_{column}"))
        # one column looked up (rows in their order), not the whole frame joined and copied
        normalised[f"_norm_{column}"] = rows.select(column).join(
            distinct, on=column, how="left", nulls_equal=True, maintain_order="left")[f"_norm_{column}"]
    return rows.with_columns(**normalised)


def household_key_expr() -> pl.Expr:
    """The UPRN where given, else the normalised address with its postcode; a postcode alone is
    not a household (a postcode covers about 15 addresses)."""
    return (
        pl.when(pl.col("uprn").is_not_null()).then(pl.format("uprn:{}", pl.col("uprn")))
        .when(pl.col("address").is_not_null() & pl.col("postcode").is_not_null())
        .then(pl.format("addr:{}|{}", pl.col("address"), pl.col("postcode")))
        .otherwise(None)
    )


def normalise_events(file: SourceFile, rows: pl.DataFrame, provenance: dict[str, Any]) -> pl.DataFrame:
    """One row per event of the file: the first valid row of the event gives its fields."""
    b = norm.blank_to_null
    source_columns = contract.SOURCE_COLUMNS[file.source]
    fields: list[pl.Expr] = []
    for column in contract.ALL_SOURCE_COLUMNS:
        kind = source_columns.get(column, "absent")
        if kind == "absent":
            dtype = pl.Boolean if column == "safeguarding_concern" else pl.Datetime("us") if column == "decision_date" else pl.String
            fields.append(pl.lit(None, dtype=dtype).alias(column))
        elif kind == "datetime":
            fields.append(norm.iso_datetime(pl.col(column)).alias(column))
        elif kind == "bool":
            fields.append(norm.boolean(pl.col(column)).alias(column))
        elif column in ("location_postcode",):   # an encoded drop sends its district only
            fields.append((b(pl.col(column)) if file.encoded else norm.postcode(pl.col(column))).alias(column))
        elif column in ("location_uprn",):
            fields.append(norm.uprn(pl.col(column)).alias(column))
        else:
            fields.append(b(pl.col(column)).alias(column))
    events = rows.select(
        pl.format(f"{file.source}:{{}}", b(pl.col("event_id"))).alias("event_key"),
        pl.lit(file.source).alias("source"),
        b(pl.col("event_id")).alias("event_id"),
        b(pl.col("event_type")).alias("event_type"),
        norm.iso_datetime(pl.col("event_date")).alias("event_date"),
        *fields,
        pl.col("_row").cast(pl.Int64).alias("row_number"),
    ).unique("event_key", keep="first", maintain_order=True)
    return events.with_columns(
        pl.lit(provenance["drop_id"]).alias("drop_id"),
        pl.lit(file.path.name).alias("file_name"),
        pl.lit(file.sha256).alias("file_sha256"),
        pl.lit(provenance["ingested_at"]).alias("ingested_at"),
    )


def quarantine_rows(file: SourceFile, problems: pl.DataFrame, provenance: dict[str, Any]) -> pl.DataFrame:
    # a value over its length limit is kept cut to the limit (a 1 MB "name" is not stored whole)
    cut = [pl.col(c).str.slice(0, contract.MAX_LENGTHS.get(c, contract.DEFAULT_MAX_LENGTH)
                               if c in contract.COMMON_COLUMNS or c in contract.SOURCE_COLUMNS[file.source] else 4096)
           for c in file.frame.columns if c != "_row"]
    raw = file.frame.filter(pl.col("_row").is_in(problems["_row"].unique().implode())).select(
        "_row", pl.struct(cut).struct.json_encode().alias("raw_row"))
    return problems.join(raw, on="_row", how="left").select(
        pl.lit(provenance["drop_id"]).alias("drop_id"),
        pl.lit(file.path.name).alias("file_name"),
        pl.lit(file.sha256).alias("file_sha256"),
        pl.col("_row").cast(pl.Int64).alias("row_number"),
        "column_name", "reason", "raw_row",
        pl.lit(provenance["ingested_at"]).alias("ingested_at"),
    )
