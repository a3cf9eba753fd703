"""Normalisation of identifiers, as polars expressions (vectorised: 1M rows in about a second).

Raw values are always kept beside these; normalisation only makes values comparable. Each
function takes and returns a ``pl.Expr`` over a String column, missing stays missing.
"""

from __future__ import annotations

import polars as pl

# Common street-type abbreviations, so "12 Acacia Rd" and "12 acacia road" are one household.
_ADDRESS_ABBREVIATIONS = {
    "rd": "road", "st": "street", "ave": "avenue", "av": "avenue", "ln": "lane", "cl": "close",
    "ct": "court", "cres": "crescent", "dr": "drive", "gdns": "gardens", "gr": "grove",
    "pl": "place", "sq": "square", "ter": "terrace", "terr": "terrace", "hse": "house",
    "wk": "walk", "pk": "park", "flt": "flat",
}

# UK postcode: outward code (area letters, district digit(s), optional letter) + inward code.
_POSTCODE_RE = r"^([A-Z]{1,2}[0-9][A-Z0-9]?)([0-9][A-Z]{2})$"

_TRUE = ("true", "t", "yes", "y", "1")
_FALSE = ("false", "f", "no", "n", "0")


def blank_to_null(expr: pl.Expr) -> pl.Expr:
    """Trimmed; an empty string means missing (the contract's rule)."""
    trimmed = expr.str.strip_chars()
    return pl.when(trimmed == "").then(None).otherwise(trimmed)


def _ascii_fold(expr: pl.Expr) -> pl.Expr:
    # NFKD splits accented letters into letter + combining mark; dropping non-ASCII then folds
    # "Zoë" to "zoe" and "José" to "jose".
    return expr.str.normalize("NFKD").str.replace_all(r"[^\x00-\x7F]", "")


def name(expr: pl.Expr) -> pl.Expr:
    """Lower-case ASCII; apostrophes and dots dropped (O'Brien -> obrien); other punctuation to
    spaces; hyphens kept without surrounding spaces (Smith - Jones -> smith-jones)."""
    out = _ascii_fold(blank_to_null(expr)).str.to_lowercase()
    out = out.str.replace_all(r"['`.]", "")
    out = out.str.replace_all(r"\s*-\s*", "-")
    out = out.str.replace_all(r"[^a-z\- ]", " ")
    out = out.str.replace_all(r"\s+", " ").str.strip_chars(" -")
    return pl.when(out == "").then(None).otherwise(out)


def address(expr: pl.Expr) -> pl.Expr:
    """Lower-case ASCII words with common abbreviations expanded; punctuation removed."""
    out = _ascii_fold(blank_to_null(expr)).str.to_lowercase()
    out = out.str.replace_all(r"[^a-z0-9 ]", " ").str.replace_all(r"\s+", " ").str.strip_chars()
    for short, long in _ADDRESS_ABBREVIATIONS.items():
        out = out.str.replace_all(rf"\b{short}\b", long)
    return pl.when(out == "").then(None).otherwise(out)


def postcode(expr: pl.Expr) -> pl.Expr:
    """Canonical ``AA9 9AA`` (upper case, one space before the inward code); None if it is not
    a UK postcode. The raw value is kept, so nothing is lost when it does not parse."""
    compact = blank_to_null(expr).str.to_uppercase().str.replace_all(r"[^A-Z0-9]", "")
    return pl.when(compact.str.contains(_POSTCODE_RE)).then(
        compact.str.replace(_POSTCODE_RE, "$1 $2")
    ).otherwise(None)


def uprn(expr: pl.Expr) -> pl.Expr:
    """Digits only, leading zeros dropped (UPRNs are integers; some systems zero-pad them)."""
    digits = blank_to_null(expr).str.replace_all(r"[^0-9]", "").str.strip_chars_start("0")
    return pl.when(digits == "").then(None).otherwise(digits)


def sex(expr: pl.Expr) -> pl.Expr:
    """Upper-case single letter; validity is checked by the contract rules, not here."""
    return blank_to_null(expr).str.to_uppercase()


def boolean(expr: pl.Expr) -> pl.Expr:
    """true/false/yes/no/1/0 (any case) to Boolean; anything else to null."""
    low = blank_to_null(expr).str.to_lowercase()
    return pl.when(low.is_in(_TRUE)).then(True).when(low.is_in(_FALSE)).then(False).otherwise(None)


def is_boolean_text(expr: pl.Expr) -> pl.Expr:
    low = blank_to_null(expr).str.to_lowercase()
    return low.is_null() | low.is_in(_TRUE + _FALSE)


def iso_date(expr: pl.Expr) -> pl.Expr:
    """An ISO 8601 date (``YYYY-MM-DD``; a date-time is accepted and its date kept)."""
    text = blank_to_null(expr)
    return text.str.slice(0, 10).str.to_date("%Y-%m-%d", strict=False)


def iso_datetime(expr: pl.Expr) -> pl.Expr:
    """An ISO 8601 date or date-time (``T`` or space; seconds, fractions and a zone optional).

    A zone designator is dropped: agencies send local (UK) times and the hub works in them.
    """
    text = blank_to_null(expr).str.replace(r"(Z|[+-]\d\d:?\d\d)$", "").str.replace("T", " ")
    text = text.str.replace(r"\.\d+$", "")
    return pl.coalesce(
        text.str.to_datetime("%Y-%m-%d %H:%M:%S", strict=False),
        text.str.to_datetime("%Y-%m-%d %H:%M", strict=False),
        pl.when(text.str.len_chars() == 10).then(text.str.to_datetime("%Y-%m-%d", strict=False)),
    )
