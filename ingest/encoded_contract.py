"""The encoded variant of the extract contract (docs/encoded-extracts.md): which identifier
columns an agency replaces, by what, and how each is keyed.

An encoded drop declares itself in its ``manifest.json``::

    {"extract_date": ..., "files": {...},
     "encoding": {"scheme": "mash-intel-pprl/1", "key_fingerprint": "<16 hex>",
                  "filters": {"enc_forename": {"l": 256, "k": 10}, ...}}}

and every file in it then carries the columns below instead of the clear identifiers.
"""

from __future__ import annotations

from ingest import pprl

# Clear identifier columns an encoded file must not carry (with a value).
CLEAR_IDENTIFIERS = ("person_ref", "forename", "middle_names", "surname", "dob", "address", "postcode", "uprn")

# Bloom filters: column -> (bits l, bits per token k). Base64 of l/8 bytes; empty when missing.
FILTERS: dict[str, tuple[int, int]] = {
    "enc_forename": (256, 10),      # bigrams of the normalised forename
    "enc_middle_names": (256, 10),  # bigrams of the normalised middle names
    "enc_surname": (256, 10),       # bigrams of the normalised surname
    "enc_dob": (256, 10),           # bigrams of YYYY-MM-DD
    "enc_dob_year": (256, 4),       # the birth year's neighbourhood y-8 .. y+8 (numeric encoding)
    "enc_address": (512, 8),        # bigrams of the normalised address
    "enc_postcode": (256, 10),      # bigrams of the canonical postcode
}

# Keyed tokens: column -> the key it is made with (columns sharing a key compare with each other).
TOKENS: dict[str, str] = {
    "tok_forename": "name",          # forename and surname share a key: swapped names still match
    "tok_surname": "name",
    "tok_forename_sx": "phonetic",   # Soundex code of the forename, keyed (blocking)
    "tok_surname_sx": "phonetic",
    "tok_dob": "dob",
    "tok_dob_year": "dob_year",
    "tok_dob_month": "dob_day_month",  # day and month share a key: a swap still matches
    "tok_dob_day": "dob_day_month",
    "tok_postcode": "postcode",
    "tok_postcode_sector": "postcode_sector",
    "tok_address": "address",
    "tok_address_number": "address_number",
    "tok_uprn": "uprn",
    "tok_person_ref": "person_ref",  # of "source|person_ref": meaningless across agencies
    "tok_household": "household",    # of "uprn:N" or "addr:<address>|<postcode>": the household key
    "tok_forename_initial": "initial",  # the first letter, keyed (one key for both names: swaps); 26
    "tok_surname_initial": "initial",   # values, so it blocks with other keys only (docs/threat-model.md)
    "tok_address_sig": "household",  # of the address signature (postcode|numbers|street word): one
                                     # key per home however the address was written (graphs/households.py)
}

# Left in clear: the postcode district (where in the area, not which street).
CLEAR_ADDED = ("postcode_district",)

ENCODED_COLUMNS = tuple(FILTERS) + tuple(TOKENS) + CLEAR_ADDED

# What each encoded column is made from: alternatives of clear columns, each alternative enough
# to give it a value (``tok_household`` is the UPRN's, else the address and postcode's). A file
# that lacks a clear column sends no column made only from it (ingest/encode.py), so the hub's
# replacement check (ingest/replacements.py) sees it absent, as it would see a clear column.
MADE_FROM: dict[str, tuple[tuple[str, ...], ...]] = {
    **{c: ((c.removeprefix("enc_"),),) for c in ("enc_forename", "enc_middle_names", "enc_surname", "enc_address",
                                                 "enc_postcode")},
    "enc_dob": (("dob",),), "enc_dob_year": (("dob",),),
    "tok_forename": (("forename",),), "tok_surname": (("surname",),),
    "tok_forename_sx": (("forename",),), "tok_surname_sx": (("surname",),),
    "tok_forename_initial": (("forename",),), "tok_surname_initial": (("surname",),),
    "tok_dob": (("dob",),), "tok_dob_year": (("dob",),), "tok_dob_month": (("dob",),), "tok_dob_day": (("dob",),),
    "tok_postcode": (("postcode",),), "tok_postcode_sector": (("postcode",),),
    "tok_address": (("address",),), "tok_address_number": (("address",),),
    "tok_uprn": (("uprn",),), "tok_person_ref": (("person_ref",),),
    "tok_household": (("uprn",), ("address", "postcode")),
    "tok_address_sig": (("address", "postcode"),),
    "postcode_district": (("postcode",),),
}


def made_from_nothing(absent: set[str] | frozenset[str]) -> tuple[str, ...]:
    """The encoded columns a file lacking the clear columns ``absent`` has nothing to make from."""
    return tuple(c for c in ENCODED_COLUMNS
                 if all(any(src in absent for src in alternative) for alternative in MADE_FROM[c]))


# Key purposes in derivation order: never reorder (a new purpose goes at the end).
KEY_PURPOSES = tuple(FILTERS) + ("name", "phonetic", "dob", "dob_year", "dob_day_month", "postcode",
                                 "postcode_sector", "address", "address_number", "uprn", "person_ref",
                                 "household", "initial")

# the rows-need-two-identifiers rule, read on the encoded columns
IDENTIFIER_COLUMNS = ("enc_forename", "enc_surname", "tok_dob", "tok_person_ref")

YEAR_WINDOW = 8


class Keys:
    """Every field's key, derived from the shared secret."""

    def __init__(self, secret: bytes) -> None:
        derived = dict(zip(KEY_PURPOSES, pprl.derive_keys(secret, len(KEY_PURPOSES))))
        self.fingerprint = pprl.fingerprint(secret)
        self.filters = {c: pprl.BloomField(derived[c], l, k) for c, (l, k) in FILTERS.items()}
        by_purpose: dict[str, pprl.TokenField] = {}
        self.tokens = {c: by_purpose.setdefault(p, pprl.TokenField(derived[p])) for c, p in TOKENS.items()}


def declaration(fingerprint: str) -> dict:
    """The manifest's ``encoding`` object for a drop made with the key of ``fingerprint``."""
    return {"scheme": pprl.SCHEME, "key_fingerprint": fingerprint,
            "filters": {c: {"l": l, "k": k} for c, (l, k) in FILTERS.items()},
            "tokens": list(TOKENS)}
