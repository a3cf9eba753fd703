"""The linkage model of an *encoded* store: Splink on keyed tokens and Bloom-filter Dice.

An encoded store (``store_encoding``, docs/encoded-extracts.md) has no names, dates or addresses
in clear: ``mention_encodings`` holds per-field Bloom filters of q-grams and keyed tokens. This
module is the encoded twin of ``linkage/features.py``'s feature SQL and of the clear model's
comparisons and blocking rules in ``linkage/model.py``; training (prior, u by sampling, EM over
the same two sessions), scoring, clustering and stable ids are shared and unchanged.

- **Features**: the tokens under the clear features' names (``forename`` is the forename's keyed
  token, ``dob_year`` the birth year's ...), so PRIOR_RULES, EM sessions, TF adjustments and
  the identity code read them as they read clear values; the filters as DuckDB ``BIT`` strings
  with their bit counts (``forename_bf``, ``forename_bc``).
- **Comparisons**: equality of tokens where the clear model has exact levels; the Dice coefficient
  of the filters, ``2 |A & B| / (|A| + |B|)`` computed with ``bit_count`` in DuckDB, where it has
  string similarity (a Dice of bigram filters tracks the values' bigram overlap); the birth
  year's numeric-neighbourhood filter for "within 5 years" and "a generation apart".
- **Blocking**: the clear rules with keyed tokens for values and keyed initials for initials, the
  postcode district (clear) as is, and two rules on the keyed Soundex codes.

Only the store's own connection is used (``store.connection``); TEMP tables never reach the file.
"""

from __future__ import annotations

from typing import Any

import splink.comparison_level_library as cll
import splink.comparison_library as cl
from splink import SettingsCreator, block_on

from linkage.comparisons import dob_part_levels

FILTER_COLUMNS = {"forename": "enc_forename", "surname": "enc_surname", "dob": "enc_dob",
                  "dob_year": "enc_dob_year", "address": "enc_address", "postcode": "enc_postcode"}

# a one-letter forename (an initial) sets at most 2 bigrams x 10 bits
_INITIAL_BITS = 20


def features_sql(where: str = "") -> str:
    """SELECT producing the encoded features from ``mentions m`` joined to their encodings."""
    filters = ",\n        ".join(
        f"e.{col}::BIT AS {name}_bf, bit_count(e.{col}::BIT) AS {name}_bc" for name, col in FILTER_COLUMNS.items())
    return f"""
    SELECT
        m.mention_id,
        m.source,
        e.tok_person_ref AS person_ref,
        e.tok_forename AS forename,
        e.tok_surname AS surname,
        CASE WHEN e.tok_forename IS NULL OR e.tok_surname IS NULL THEN NULL
             ELSE least(e.tok_forename, e.tok_surname) || '|' || greatest(e.tok_forename, e.tok_surname) END AS name_key,
        e.tok_forename_sx AS forename_sx,
        e.tok_surname_sx AS surname_sx,
        CASE WHEN e.tok_forename_sx IS NULL OR e.tok_surname_sx IS NULL THEN NULL
             ELSE least(e.tok_forename_sx, e.tok_surname_sx) || '|' || greatest(e.tok_forename_sx, e.tok_surname_sx)
             END AS phonetic_key,
        e.tok_forename_initial AS forename_initial,
        e.tok_surname_initial AS surname_initial,
        CASE WHEN e.tok_forename_initial IS NULL OR e.tok_surname_initial IS NULL THEN NULL
             ELSE least(e.tok_forename_initial, e.tok_surname_initial) || '|'
                  || greatest(e.tok_forename_initial, e.tok_surname_initial) END AS initials_key,
        e.tok_dob AS dob,
        e.tok_dob_year AS dob_year,
        e.tok_dob_month AS dob_month,
        e.tok_dob_day AS dob_day,
        CASE WHEN m.sex IN ('M', 'F') THEN m.sex END AS sex,
        e.tok_postcode AS postcode,
        e.tok_postcode_sector AS postcode_sector,
        e.postcode_district,
        e.tok_address AS address,
        e.tok_address_number AS address_number,
        e.tok_uprn AS uprn,
        {filters}
    FROM mentions m JOIN mention_encodings e USING (mention_id)
    {where}
    """


# mentions with fewer than two of forename, surname, dob, person_ref (the model may not tie them)
UNLINKABLE_SQL = (
    "SELECT mention_id FROM mention_encodings WHERE (enc_forename IS NOT NULL)::INT + (enc_surname IS NOT NULL)::INT "
    "+ (tok_dob IS NOT NULL)::INT + (tok_person_ref IS NOT NULL)::INT < 2 ORDER BY mention_id")


def dice(name: str) -> str:
    """The Dice coefficient of a filter pair (NULL when either is missing or empty)."""
    return (f"(bit_count({name}_bf_l & {name}_bf_r) * 2.0 / nullif({name}_bc_l + {name}_bc_r, 0))")


def _duck(sql: str, label: str) -> cll.CustomLevel:
    return cll.CustomLevel(sql, label_for_charts=label, base_dialect_str="duckdb")


def comparisons(cfg: dict[str, Any]) -> list[Any]:
    """The encoded comparisons; ``cfg`` is the linkage configuration (twin_weight, generation_m)."""
    twin_weight = float(cfg.get("twin_weight", -30.0))
    generation_m = float(cfg.get("generation_m", 1e-5))
    twin = [] if not twin_weight else [
        _duck(f"dob_l = dob_r AND surname_l = surname_r AND forename_bc_l > {_INITIAL_BITS} "
              f"AND forename_bc_r > {_INITIAL_BITS} AND {dice('forename')} < 0.5",
              "different forename, same surname and dob (twin)").configure(
            m_probability=1e-4 * 2.0 ** twin_weight, u_probability=1e-4,
            fix_m_probability=True, fix_u_probability=True)]
    forename = cl.CustomComparison(
        output_column_name="forename", comparison_description="forename (encoded)",
        comparison_levels=[
            cll.NullLevel("forename"),
            cll.ExactMatchLevel("forename", term_frequency_adjustments=True).configure(label_for_charts="exact"),
            _duck("forename_l = surname_r OR forename_r = surname_l", "equals the other's surname (swapped)"),
            _duck(f"{dice('forename')} >= 0.8", "dice >= 0.80"),
            _duck(f"(forename_bc_l <= {_INITIAL_BITS} OR forename_bc_r <= {_INITIAL_BITS}) AND "
                  "bit_count(forename_bf_l & forename_bf_r) >= 0.4 * least(forename_bc_l, forename_bc_r)",
                  "one is the other's initial"),
            _duck(f"{dice('forename')} >= 0.6", "dice >= 0.60"),
            *twin,
            _duck(f"{dice('forename')} >= 0.4", "dice >= 0.40"),
            _duck("forename_initial_l = forename_initial_r", "same initial"),
            cll.ElseLevel(),
        ])
    surname = cl.CustomComparison(
        output_column_name="surname", comparison_description="surname (encoded)",
        comparison_levels=[
            cll.NullLevel("surname"),
            cll.ExactMatchLevel("surname", term_frequency_adjustments=True).configure(label_for_charts="exact"),
            _duck("surname_l = forename_r OR surname_r = forename_l", "equals the other's forename (swapped)"),
            _duck(f"{dice('surname')} >= 0.8", "dice >= 0.80"),
            _duck(f"{dice('surname')} >= 0.6", "dice >= 0.60"),
            cll.ElseLevel(),
        ])
    dob = cl.CustomComparison(
        output_column_name="dob", comparison_description="date of birth (encoded)",
        comparison_levels=[
            *dob_part_levels(),
            # the year filters share (17 - years apart) of 17 tokens: >= 12 within 5 years, none
            # beyond 16 (a little Dice from chance bit collisions)
            _duck(f"{dice('dob_year')} >= 0.68", "within 5 years"),
            _duck(f"{dice('dob_year')} < 0.1", "16 or more years apart (a generation)").configure(
                m_probability=generation_m, fix_m_probability=True),
            cll.ElseLevel().configure(label_for_charts="6 to 15 years apart"),
        ])
    sex = cl.CustomComparison(
        output_column_name="sex", comparison_description="sex",
        comparison_levels=[cll.NullLevel("sex"), cll.ExactMatchLevel("sex").configure(label_for_charts="exact"),
                           cll.ElseLevel()])
    postcode = cl.CustomComparison(
        output_column_name="postcode", comparison_description="postcode (encoded)",
        comparison_levels=[
            cll.NullLevel("postcode"),
            cll.ExactMatchLevel("postcode", term_frequency_adjustments=True).configure(label_for_charts="full"),
            cll.ExactMatchLevel("postcode_sector").configure(label_for_charts="sector"),
            cll.ExactMatchLevel("postcode_district").configure(label_for_charts="district"),
            _duck(f"{dice('postcode')} >= 0.7", "dice >= 0.70 (a character different)"),
            cll.ElseLevel(),
        ])
    address = cl.CustomComparison(
        output_column_name="address", comparison_description="address or UPRN (encoded)",
        comparison_levels=[
            _duck("(address_l IS NULL OR address_r IS NULL) AND (uprn_l IS NULL OR uprn_r IS NULL)",
                  "address missing").configure(is_null_level=True),
            _duck("uprn_l = uprn_r", "same UPRN"),
            _duck("address_l = address_r", "same address").configure(
                tf_adjustment_column="address", tf_adjustment_weight=1.0),
            _duck(f"address_number_l = address_number_r AND {dice('address')} >= 0.6",
                  "same house number, dice >= 0.60"),
            _duck("(address_number_l = address_number_r OR address_number_l IS NULL OR address_number_r IS NULL) "
                  f"AND {dice('address')} >= 0.75", "house number not different, dice >= 0.75"),
            _duck(f"{dice('address')} >= 0.85", "dice >= 0.85"),
            cll.ElseLevel(),
        ])
    person_ref = cl.CustomComparison(
        output_column_name="person_ref", comparison_description="the agency's own person id (keyed)",
        comparison_levels=[
            _duck("person_ref_l IS NULL OR person_ref_r IS NULL OR source_l <> source_r",
                  "not comparable (missing, or different agencies)").configure(is_null_level=True),
            _duck("person_ref_l = person_ref_r", "same agency, same person id"),
            cll.ElseLevel().configure(label_for_charts="same agency, different person id"),
        ])
    return [forename, surname, dob, sex, postcode, address, person_ref]


_DOB_PART = "(l.dob_year = r.dob_year OR l.dob_month = r.dob_month OR l.dob_day = r.dob_day)"

# The clear model's rules (linkage/model.py, with their reasons) on keyed tokens, initials as
# keyed initials; and two on the keyed Soundex codes (typos in both names).
BLOCKING_RULES = [
    "l.name_key = r.name_key AND l.dob_year = r.dob_year",
    "l.name_key = r.name_key AND l.postcode_district = r.postcode_district",
    "l.name_key = r.name_key AND l.dob_month = r.dob_month AND l.dob_day = r.dob_day",
    "l.dob = r.dob AND l.initials_key = r.initials_key",
    "l.forename = r.forename AND l.dob = r.dob",
    "l.surname = r.surname AND l.dob = r.dob",
    "l.surname = r.surname AND l.dob_year = r.dob_year AND l.forename_initial = r.forename_initial",
    "l.forename = r.forename AND l.dob_year = r.dob_year AND l.surname_initial = r.surname_initial",
    "l.postcode = r.postcode AND l.forename = r.forename",
    "l.postcode = r.postcode AND l.dob_year = r.dob_year",
    "l.name_key = r.name_key AND l.address = r.address",
    "l.forename = r.forename AND l.address = r.address AND l.surname_initial = r.surname_initial",
    "l.surname = r.surname AND l.address = r.address AND l.forename_initial = r.forename_initial",
    "l.dob = r.dob AND l.address_number = r.address_number AND l.forename_initial = r.forename_initial",
    "l.dob = r.dob AND l.address_number = r.address_number AND l.surname_initial = r.surname_initial",
    "l.name_key = r.name_key AND l.address_number = r.address_number AND l.postcode_district = r.postcode_district",
    "l.surname = r.surname AND l.postcode = r.postcode AND l.forename_initial = r.forename_initial AND " + _DOB_PART,
    "l.postcode = r.postcode AND l.address_number = r.address_number AND l.forename_initial = r.forename_initial",
    "l.dob = r.dob AND l.phonetic_key = r.phonetic_key",
    "l.phonetic_key = r.phonetic_key AND l.dob_year = r.dob_year AND l.postcode_district = r.postcode_district",
    "l.source = r.source AND l.person_ref = r.person_ref",
]

# the same two sessions as the clear model (dob by its parts: the twin level reads dob)
EM_SESSIONS = [
    ("dob", block_on("dob_year", "dob_month", "dob_day")),
    ("forename+surname", block_on("forename", "surname")),
]


def settings_creator(cfg: dict[str, Any]) -> SettingsCreator:
    return SettingsCreator(
        link_type="link_and_dedupe",
        unique_id_column_name="mention_id",
        comparisons=comparisons(cfg),
        blocking_rules_to_generate_predictions=list(BLOCKING_RULES),
        retain_matching_columns=False,
        retain_intermediate_calculation_columns=False,
        max_iterations=20,
        em_convergence=0.0001,
    )
