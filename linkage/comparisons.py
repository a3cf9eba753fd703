"""The Splink comparisons of the linkage model: what two mentions are compared on, and how.

Each comparison is a ladder of levels, best first (docs/bench-linkage.md lists them). Two levels
are not learnt by EM but fixed from the hub's ``[linkage]`` settings, because Fellegi-Sunter's
independence assumption fails on them: the twin level (``twin_weight``) and "a generation apart"
(``generation_m``). The settings arrive as the ``[linkage]`` table of the configuration object
the command line or the API loaded; nothing here reads a file.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import splink.comparison_level_library as cll
import splink.comparison_library as cl


def _duck(sql: str, label: str) -> cll.CustomLevel:
    """A custom level written in DuckDB SQL (Splink translates it for other backends)."""
    return cll.CustomLevel(sql, label_for_charts=label, base_dialect_str="duckdb")


def dob_part_levels() -> list[Any]:
    """The date-of-birth levels read from its parts (null, exact, day and month swapped, one part
    off, year only): the clear model's and the encoded model's, which keeps the parts as tokens."""
    return [
        cll.NullLevel("dob"),
        cll.ExactMatchLevel("dob", term_frequency_adjustments=True).configure(label_for_charts="exact"),
        _duck("dob_year_l = dob_year_r AND dob_month_l = dob_day_r AND dob_day_l = dob_month_r",
              "day and month swapped"),
        _duck("(CAST(dob_year_l = dob_year_r AS INTEGER) + CAST(dob_month_l = dob_month_r AS INTEGER)"
              " + CAST(dob_day_l = dob_day_r AS INTEGER)) = 2", "one part off"),
        _duck("dob_year_l = dob_year_r", "year only"),
    ]


def _alike(a: str, b: str, at_least: float) -> str:
    """SQL: the two names are alike (Jaro-Winkler at least ``at_least``)."""
    return f"jaro_winkler_similarity({a}, {b}) >= {at_least}"


# Titles recorded in the forename field (historical_50k has about 1,900: "sir", "lady", "mrs" ...).
TITLES = ("mr", "mrs", "ms", "miss", "mx", "dr", "sir", "dame", "lady", "lord", "rev", "revd", "reverend",
          "fr", "prof", "professor", "capt", "captain", "col", "colonel", "gen", "general", "admiral", "adm",
          "lt", "sgt", "hon", "baron", "baroness", "countess", "duke", "duchess", "canon", "bishop")

TWIN_WEIGHT = -30.0   # default match weight of the twin level (log2 Bayes factor): [linkage] twin_weight
TWIN_U = 1e-4         # its u probability (fixed; only the ratio m/u matters)
GENERATION_M = 1e-5   # default m of "dob more than 15 years apart": [linkage] generation_m


def _twin_level(weight: float) -> list[Any]:
    """Twins: a clearly different forename (not an alias, Jaro-Winkler < 0.80) with the same surname
    and dob. Fellegi-Sunter's independence assumption fails here (every other field agrees), so
    this level is not learnt: its weight is fixed, strong enough to keep twins apart. The price:
    a true match whose forename was replaced outright (FEBRL does this) is kept apart too.
    ``weight`` 0 leaves the level out."""
    if not weight:
        return []
    # a title in the forename field ("sir", "mrs") is no forename, so no evidence of a twin
    not_title = " AND ".join(f"forename_{s} NOT IN ({', '.join(repr(t) for t in TITLES)})" for s in "lr")
    return [_duck("dob_l = dob_r AND surname_l = surname_r AND length(forename_l) > 1 AND length(forename_r) > 1 "
                  f"AND {not_title}",
                  "different forename, same surname and dob (twin)").configure(
        m_probability=TWIN_U * 2.0 ** weight, u_probability=TWIN_U,
        fix_m_probability=True, fix_u_probability=True)]


def comparisons(linkage: Mapping[str, Any]) -> list[Any]:
    """The model's comparisons under the ``[linkage]`` settings (twin_weight, generation_m)."""
    twin_weight = float(linkage.get("twin_weight", TWIN_WEIGHT))
    generation_m = float(linkage.get("generation_m", GENERATION_M))
    forename = cl.CustomComparison(
        output_column_name="forename",
        comparison_description="forename",
        comparison_levels=[
            cll.NullLevel("forename"),
            cll.ExactMatchLevel("forename", term_frequency_adjustments=True).configure(
                label_for_charts="exact"),
            # symmetric by construction (Splink's ColumnsReversedLevel is one-directional by default,
            # which would make a pair's score depend on which side it is on)
            # a swap is both names crossed: one name crossed alone ("walker lily" / "scarlett walker")
            # is a shared surname, and read as a swap it outweighed a twin's different forename
            _duck(f"(forename_l = surname_r AND {_alike('surname_l', 'forename_r', 0.80)}) "
                  f"OR (forename_r = surname_l AND {_alike('surname_r', 'forename_l', 0.80)})",
                  "equals the other's surname (swapped)"),
            cll.ArrayIntersectLevel("forename_aliases", 1).configure(label_for_charts="nickname or alias"),
            # an initial for a name ("w" / "william") is consistent; two different names with one
            # initial ("walter" / "william", the "same initial" level below) are evidence against
            _duck("(length(forename_l) = 1 OR length(forename_r) = 1) AND left(forename_l, 1) = left(forename_r, 1)",
                  "one is the other's initial"),
            cll.JaroWinklerLevel("forename", 0.92).configure(label_for_charts="jaro-winkler >= 0.92"),
            cll.JaroWinklerLevel("forename", 0.80).configure(label_for_charts="jaro-winkler >= 0.80"),
            *_twin_level(twin_weight),
            _duck("left(forename_l, 1) = left(forename_r, 1)", "same initial"),
            cll.ElseLevel(),
        ],
    )
    surname = cl.CustomComparison(
        output_column_name="surname",
        comparison_description="surname",
        comparison_levels=[
            cll.NullLevel("surname"),
            cll.ExactMatchLevel("surname", term_frequency_adjustments=True).configure(label_for_charts="exact"),
            _duck(f"({_alike('surname_l', 'forename_r', 0.92)} AND {_alike('forename_l', 'surname_r', 0.80)}) "
                  f"OR ({_alike('forename_l', 'surname_r', 0.92)} AND {_alike('surname_l', 'forename_r', 0.80)})",
                  "matches the other's forename (swapped)"),
            cll.ArrayIntersectLevel("surname_parts", 1).configure(
                label_for_charts="shares a hyphenated part"),
            cll.JaroWinklerLevel("surname", 0.92).configure(label_for_charts="jaro-winkler >= 0.92"),
            cll.JaroWinklerLevel("surname", 0.80).configure(label_for_charts="jaro-winkler >= 0.80"),
            cll.ElseLevel(),
        ],
    )
    dob = cl.CustomComparison(
        output_column_name="dob",
        comparison_description="date of birth",
        comparison_levels=[
            *dob_part_levels(),
            _duck("abs(dob_year_l - dob_year_r) <= 5", "within 5 years"),
            # A generation apart: parent and child of one name at one address. EM blocked on names
            # takes such pairs for matches and learns an m near 1%, which merges junior with senior;
            # m is fixed small instead ([linkage] generation_m).
            _duck("abs(dob_year_l - dob_year_r) > 15", "more than 15 years apart (a generation)").configure(
                m_probability=generation_m, fix_m_probability=True),
            cll.ElseLevel().configure(label_for_charts="6 to 15 years apart"),
        ],
    )
    sex = cl.CustomComparison(
        output_column_name="sex",
        comparison_description="sex",
        comparison_levels=[cll.NullLevel("sex"), cll.ExactMatchLevel("sex").configure(label_for_charts="exact"),
                           cll.ElseLevel()],
    )
    postcode = cl.CustomComparison(
        output_column_name="postcode",
        comparison_description="postcode",
        comparison_levels=[
            cll.NullLevel("postcode"),
            cll.ExactMatchLevel("postcode", term_frequency_adjustments=True).configure(label_for_charts="full"),
            cll.ExactMatchLevel("postcode_sector").configure(label_for_charts="sector"),
            cll.ExactMatchLevel("postcode_district").configure(label_for_charts="district"),
            # one character different, or two adjacent ones swapped (2190 / 2910)
            cll.DamerauLevenshteinLevel("postcode", 1).configure(label_for_charts="one character different or swapped"),
            cll.ElseLevel(),
        ],
    )
    address = cl.CustomComparison(
        output_column_name="address",
        comparison_description="address or UPRN",
        comparison_levels=[
            _duck("(address_l IS NULL OR address_r IS NULL) AND (uprn_l IS NULL OR uprn_r IS NULL)",
                  "address missing").configure(is_null_level=True),
            _duck("uprn_l = uprn_r", "same UPRN"),
            _duck("address_l = address_r", "same address").configure(
                tf_adjustment_column="address", tf_adjustment_weight=1.0),
            _duck("address_number_l = address_number_r AND len(list_intersect(address_tokens_l, address_tokens_r)) >= "
                  "0.6 * greatest(len(address_tokens_l), len(address_tokens_r))",
                  "same house number, most address words shared"),
            # Typed addresses: most words match allowing a typo (Jaro-Winkler >= 0.88 between words), the
            # house number the same or missing on a side (a different number is a neighbour).
            _duck("(address_number_l = address_number_r OR address_number_l IS NULL OR address_number_r IS NULL) "
                  "AND len(list_filter(address_tokens_l, lambda x: list_bool_or(list_transform(address_tokens_r, "
                  "lambda y: jaro_winkler_similarity(x, y) >= 0.88)))) "
                  ">= 0.6 * greatest(len(address_tokens_l), len(address_tokens_r))",
                  "house number not different, most words alike"),
            cll.JaroWinklerLevel("address", 0.9).configure(label_for_charts="jaro-winkler >= 0.90"),
            cll.ElseLevel(),
        ],
    )
    person_ref = cl.CustomComparison(
        output_column_name="person_ref",
        comparison_description="the agency's own person id",
        comparison_levels=[
            _duck("person_ref_l IS NULL OR person_ref_r IS NULL OR source_l <> source_r",
                  "not comparable (missing, or different agencies)").configure(is_null_level=True),
            _duck("person_ref_l = person_ref_r", "same agency, same person id"),
            cll.ElseLevel().configure(label_for_charts="same agency, different person id"),
        ],
    )
    return [forename, surname, dob, sex, postcode, address, person_ref]
