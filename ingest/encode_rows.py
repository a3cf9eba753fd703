"""The encoded columns of an agency's checked rows: what ``intel encode`` writes for each record.

Each encoded column is one rule (``SPECS``): which normalised identifier it reads, an optional
step on one value (its Soundex code, first letter, year ...), and the keyed field that encodes
the result (a Bloom filter, a keyed token, or the birth year's neighbourhood filter).

Names, dates and addresses repeat a great deal, so every rule runs once per *distinct* value of
its input, remembered across the drop's files (``Encoder``), and the encodings are joined back
onto the rows. Two engines encode the distinct values and must give the same text:

- ``fast`` (the default): filters for all values of a field at once (``ingest/pprl_batch.py``:
  numpy over bigram masks, base64 in polars), tokens in one tight loop;
- ``reference``: one value at a time through ``ingest/pprl.py`` (checked against clkhash), kept
  so tests can hold the fast engine to it on real rows.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

import jellyfish
import numpy as np
import polars as pl

from ingest import encoded_contract as ec
from ingest import normalise as norm
from ingest import pprl, pprl_batch
from ingest.rows import household_key_expr, normalise_distinct

_ADDRESS_NUMBER = re.compile(r"^\S*[0-9]\S*")
_SKIP_WORDS = ("flat", "apartment", "apt", "unit", "the")


def _address_signature() -> pl.Expr:
    """``postcode|numbers|street word`` of a normalised address: the same expression as
    ``graphs.dwellings.address_signature`` (graphs is on this floor, so it is not imported;
    tests/ingest/test_encode.py holds the two equal). The hub resolves households on its token."""
    words = pl.col("address").str.extract_all(r"[a-z][a-z'-]*")
    nums = pl.col("address").str.extract_all(r"\d+[a-z]?").list.join(" ")
    street = words.list.eval(pl.element().filter(~pl.element().is_in(list(_SKIP_WORDS)))).list.first()
    return (pl.when(pl.col("address").is_not_null() & pl.col("postcode").is_not_null())
            .then(pl.format("{}|{}|{}", pl.col("postcode"), nums, street.fill_null("")))
            .otherwise(None))


def _soundex(name: str) -> str | None:
    letters = re.sub(r"[^a-z]", "", name)
    return jellyfish.soundex(letters) if letters else None


def _address_number(address: str) -> str | None:
    m = _ADDRESS_NUMBER.match(address)
    return m.group(0) if m else None


def _year(dob: str) -> str:
    return dob[:4]


@dataclass(frozen=True)
class Spec:
    """One encoded column: ``encoder`` (a column of ``ec.FILTERS`` or ``ec.TOKENS``; the key it
    is made with) applied to ``step(value)`` of the normalised input ``column`` (None: missing)."""

    column: str
    encoder: str
    step: Callable[[str], str | None] | None = None
    year_window: bool = False   # the filter of the years y-8 .. y+8 around step(value)


SPECS: dict[str, Spec] = {
    "enc_forename": Spec("forename", "enc_forename"),
    "enc_middle_names": Spec("middle_names", "enc_middle_names"),
    "enc_surname": Spec("surname", "enc_surname"),
    "enc_dob": Spec("dob", "enc_dob"),
    "enc_dob_year": Spec("dob", "enc_dob_year", _year, year_window=True),
    "enc_address": Spec("address", "enc_address"),
    "enc_postcode": Spec("pc_value", "enc_postcode"),
    "tok_forename": Spec("forename", "tok_forename"),
    "tok_surname": Spec("surname", "tok_surname"),
    "tok_forename_sx": Spec("forename", "tok_forename_sx", _soundex),
    "tok_surname_sx": Spec("surname", "tok_surname_sx", _soundex),
    "tok_dob": Spec("dob", "tok_dob"),
    "tok_dob_year": Spec("dob", "tok_dob_year", _year),
    "tok_dob_month": Spec("dob", "tok_dob_month", lambda d: str(int(d[5:7]))),
    "tok_dob_day": Spec("dob", "tok_dob_day", lambda d: str(int(d[8:10]))),
    "tok_postcode": Spec("pc_value", "tok_postcode"),
    "tok_postcode_sector": Spec("postcode", "tok_postcode_sector", lambda p: p[:-2]),
    "tok_address": Spec("address", "tok_address"),
    "tok_address_number": Spec("address", "tok_address_number", _address_number),
    "tok_uprn": Spec("uprn", "tok_uprn"),
    "tok_person_ref": Spec("person_ref", "tok_person_ref"),
    "tok_household": Spec("household", "tok_household"),
    "tok_address_sig": Spec("address_sig", "tok_address_sig"),
    "tok_forename_initial": Spec("forename", "tok_forename_initial", lambda v: v[0]),
    "tok_surname_initial": Spec("surname", "tok_surname_initial", lambda v: v[0]),
    # police: the incident's UPRN, keyed as the person's is (the same key: one place, one token)
    "_tok_location_uprn": Spec("location_uprn", "tok_uprn"),
}


@dataclass
class Encoder:
    """Encodes rows with one set of keys, remembering each input column's encoded distinct values
    (a frame: the value, then one column per rule reading it) across the drop's files."""

    keys: ec.Keys
    fast: bool = True
    _known: dict[str, pl.DataFrame] = field(default_factory=dict)

    def _values(self, spec: Spec, values: list[str]) -> pl.Series | list[str | None]:
        stepped: list[str | None] = values if spec.step is None else [spec.step(v) for v in values]
        if spec.year_window:
            return self._year_windows(self.keys.filters[spec.encoder], stepped)
        if spec.encoder in self.keys.filters:
            return self._filters(self.keys.filters[spec.encoder], stepped)
        return self._tokens(self.keys.tokens[spec.encoder], stepped, distinct=spec.step is None)

    def _filters(self, bloom: pprl.BloomField, values: list[str | None]) -> pl.Series | list[str | None]:
        if not self.fast:
            return [None if v is None else pprl.b64(bloom.encode(v)) for v in values]
        rows = pprl_batch.filters(bloom, values)
        return pprl_batch.base64_rows(rows, np.array([v is None for v in values], dtype=bool))

    def _tokens(self, tokens: pprl.TokenField, values: list[str | None], distinct: bool) -> list[str | None]:
        if not self.fast:
            return [None if v is None else tokens.token(v) for v in values]
        if distinct:   # the input's distinct values, none missing
            return pprl_batch.tokens(tokens, values)
        once = list({v for v in values if v is not None})   # a step maps many values to one
        got = dict(zip(once, pprl_batch.tokens(tokens, once)))
        return [None if v is None else got[v] for v in values]

    def _year_windows(self, bloom: pprl.BloomField, years: list[str | None]) -> list[str | None]:
        got: dict[str, str] = {}
        for y in {v for v in years if v is not None}:   # a few hundred years: reference path
            got[y] = pprl.b64(bloom.encode_tokens(str(int(y) + i) for i in range(-ec.YEAR_WINDOW, ec.YEAR_WINDOW + 1)))
        return [None if v is None else got[v] for v in years]

    def encoded(self, column: str, values: pl.Series) -> pl.DataFrame:
        """``column`` (the distinct values of ``values``, and null) with the encodings of every
        rule reading it ("" for null), new values encoded, known ones remembered."""
        specs = {out: s for out, s in SPECS.items() if s.column == column}
        known = self._known.get(column)
        if known is None:   # a missing value is encoded as nothing: one row, matched by nulls_equal
            known = pl.DataFrame({column: pl.Series([None], dtype=pl.String),
                                  **{out: pl.Series(out, [""], dtype=pl.String) for out in specs}})
        distinct = values.drop_nulls().unique()
        fresh = distinct.filter(~distinct.is_in(known[column].drop_nulls().implode()))
        plain = fresh.to_list()
        new = pl.DataFrame({column: fresh, **{out: pl.Series(out, self._values(s, plain), dtype=pl.String)
                                              for out, s in specs.items()}})
        self._known[column] = pl.concat([known, new.with_columns(pl.col(out).fill_null("") for out in specs)])
        return self._known[column]

    def encode_frame(self, frame: pl.DataFrame, source: str, absent: tuple[str, ...] = ()) -> pl.DataFrame:
        """The encoded rows of a checked frame (all-String contract columns): clear identifiers
        out, ``ec.ENCODED_COLUMNS`` in, rows in their order. ``absent``: the contract columns the
        agency's file lacked; they and the encodings made only from them stay absent (sent blank,
        they would erase the values of the rows a re-sent file replaces at the hub, unseen by its
        replacement check)."""
        b = norm.blank_to_null
        # names, addresses and postcodes repeat a great deal: normalised once per distinct value
        frame = normalise_distinct(frame, {"forename": norm.name, "middle_names": norm.name, "surname": norm.name,
                                           "address": norm.address, "postcode": norm.postcode})
        police = "location_uprn" in frame.columns
        n = frame.select(
            pl.col("_norm_forename").alias("forename"),
            pl.col("_norm_middle_names").alias("middle_names"),
            pl.col("_norm_surname").alias("surname"),
            norm.iso_date(pl.col("dob")).dt.strftime("%Y-%m-%d").alias("dob"),
            pl.col("_norm_address").alias("address"),
            pl.col("_norm_postcode").alias("postcode"),
            # a postcode that is not a UK one is compared as sent, stripped and upper-cased
            pl.coalesce(pl.col("_norm_postcode"),
                        b(pl.col("postcode")).str.to_uppercase().str.replace_all(r"[^A-Z0-9]", "")).alias("pc_value"),
            norm.uprn(pl.col("uprn")).alias("uprn"),
            pl.format(f"{source}|{{}}", b(pl.col("person_ref"))).alias("person_ref"),
            *([norm.uprn(pl.col("location_uprn")).alias("location_uprn")] if police else []),
        ).with_columns(household_key_expr().alias("household"), _address_signature().alias("address_sig"))
        out: dict[str, pl.Series] = {}
        for column in dict.fromkeys(s.column for s in SPECS.values()):
            if column in n.columns:   # each row's encodings, looked up in its value's (rows kept in order)
                got = n.select(column).join(self.encoded(column, n[column]), on=column, how="left",
                                            nulls_equal=True, maintain_order="left")
                out.update({c: got[c] for c in got.columns if c != column})
        encoded_cols = {c: out[c] for c in SPECS if not c.startswith("_")}
        encoded_cols["postcode_district"] = n["postcode"].str.split(" ").list.first().fill_null("")
        missing = set(absent)
        for c in ec.made_from_nothing(missing):
            del encoded_cols[c]
        keep = [c for c in frame.columns if c not in ec.CLEAR_IDENTIFIERS and c not in missing and c != "_row"
                and not c.startswith("_norm_")]
        encoded = frame.select(keep).with_columns(**encoded_cols)
        if "location_postcode" in encoded.columns:   # police: where it happened, cut to its district
            encoded = encoded.with_columns(
                norm.postcode(pl.col("location_postcode")).str.split(" ").list.first().fill_null("")
                .alias("location_postcode"))
        if "location_uprn" in encoded.columns:   # and its UPRN keyed
            encoded = encoded.with_columns(out["_tok_location_uprn"].alias("location_uprn"))
        return encoded
