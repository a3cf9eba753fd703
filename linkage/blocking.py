"""The blocking rules: which pairs of mentions the linkage model scores at all.

Each rule is an equi-join on keys that stay selective at 1M mentions; docs/bench-linkage.md has
each rule's comparison counts and what was tried and dropped. ``PRIOR_RULES`` are the
deterministic rules whose pairs estimate the prior.
"""

from __future__ import annotations

from typing import Any

# Blocking for prediction, chosen for recall (docs/bench-linkage.md has their comparison counts).
# dobs sharing their year, month or day (at least one part right; both present)
_DOB_PART = "(l.dob_year = r.dob_year OR l.dob_month = r.dob_month OR l.dob_day = r.dob_day)"
# same birth year: the day right too, or the month right and the day one keystroke off (one of
# its two digits wrong, or the two swapped). A namesake born the same year and month has a day
# sharing a digit about half the time; a mistyped day nearly always does (historical_50k: 98% of
# the pairs only this rule finds).
_DAY_TYPO = ("(l.dob_day % 10 = r.dob_day % 10 OR l.dob_day // 10 = r.dob_day // 10 "
             "OR (l.dob_day % 10 = r.dob_day // 10 AND l.dob_day // 10 = r.dob_day % 10))")
_DAY_OR_MONTH_AND_DAY_TYPO = f"(l.dob_day = r.dob_day OR (l.dob_month = r.dob_month AND {_DAY_TYPO}))"
# no dob on one side, or a dob part right and the same postcode sector: a namesake in the same
# district shares a dob part about half the time, a sector far less often
_DOB_MISSING_OR_PART_IN_SECTOR = ("(l.dob IS NULL OR r.dob IS NULL OR (" + _DOB_PART
                                  + " AND l.postcode_sector = r.postcode_sector))")
# the address shares a token besides the house number (the street, a town), or a postcode is
# missing: what the house-number rules are for is a postcode wrong or absent, not a different street
_STREET_OR_NO_POSTCODE = ("(len(list_intersect(l.address_tokens, r.address_tokens)) >= 2 "
                          "OR l.postcode IS NULL OR r.postcode IS NULL)")
# no dob on one side, a dob part right, or the street shared (FEBRL4: dob and postcode both wrong)
_DOB_MISSING_OR_PART_OR_STREET = ("(l.dob IS NULL OR r.dob IS NULL OR " + _DOB_PART
                                  + " OR len(list_intersect(l.address_tokens, r.address_tokens)) >= 2)")

# one place: the postcode area, or the street (a token besides the house number), or a postcode
# missing. Not a key: the pools of areas and streets do not grow with the data either, but a
# namesake pair is in one area far less often than a person's own records are.
_PLACE_OR_NO_POSTCODE = ("(left(l.postcode, 2) = left(r.postcode, 2) OR l.postcode IS NULL OR r.postcode IS NULL "
                         "OR len(list_intersect(l.address_tokens, r.address_tokens)) >= 2)")
# the same sex (or one unknown), or one place: for the full-dob rules on one name or the initials,
# where a namesake of the other sex (a twin, or a stranger born the same day) is the common false pair
_SEX_OR_PLACE = "((l.sex IS NULL OR r.sex IS NULL OR l.sex = r.sex) OR " + _PLACE_OR_NO_POSTCODE + ")"
# the year wrong by one keystroke (one of its last two digits, or off by one), or one place
_YEAR_TYPO_OR_PLACE = ("(l.dob_year // 10 = r.dob_year // 10 OR l.dob_year % 10 = r.dob_year % 10 "
                       "OR abs(l.dob_year - r.dob_year) <= 1 OR " + _PLACE_OR_NO_POSTCODE + ")")

# Block-size caps (issue 19; docs/scale.md "Blocking that grows as n log n"). A rule keyed on a
# name and a date part draws its keys from pools that do not grow with the data (common names,
# birth years, days of the year), so its blocks grow with the data and its pairs with the
# square of it: from 100k to 300k mentions the comparisons grew as n^1.39, almost all of the
# growth namesakes. Each such rule therefore skips a block holding more than its cap of
# *identities* (distinct forename, surname and dob): the column it joins on (below) is NULL for
# the records of an over-large block. Identities, not records: a person mentioned forty times
# is one identity, so a frequent victim's own mentions never make their block "large" (a cap on
# records lost 9 times as many true pairs for the same saving, docs/scale.md). Pairs in an
# over-large block that are the same person mostly share more than the rule asks (the whole
# dob, the address or the postcode) and are found by a stricter rule; the ones lost are counted
# by bench/blocking_scale.py. The postcode, address and agency-id rules are not capped: their
# keys grow with the data (a household is bounded), and an agency's own id is the strongest
# evidence there is.
MAX_BLOCK = 8
# The two loosest rules (a surname or a forename with the birth year and the other's initial):
# without a cap they made half of all comparisons at 1M mentions and found 0.07% of the true
# pairs (300k world); with 2 they still join a record with its own typo variants.
LOOSE_MAX_BLOCK = 2

# column -> (the key it stands for, the block it caps: SQL over the feature columns, the cap).
CAPPED_KEYS: dict[str, tuple[str, tuple[str, ...], int]] = {
    "name_key_by_year": ("name_key", ("name_key", "dob_year"), MAX_BLOCK),
    "name_key_by_district": ("name_key", ("name_key", "postcode_district"), MAX_BLOCK),
    "name_key_by_day": ("name_key", ("name_key", "dob_month", "dob_day"), MAX_BLOCK),
    "initials_by_dob": ("initials_key", ("initials_key", "dob"), MAX_BLOCK),
    "forename_by_dob": ("forename_canon", ("forename_canon", "dob"), MAX_BLOCK),
    "surname_by_dob": ("surname", ("surname", "dob"), MAX_BLOCK),
    "surname_by_year": ("surname", ("surname", "dob_year", "left(forename_canon, 1)"), LOOSE_MAX_BLOCK),
    "forename_by_year": ("forename_canon", ("forename_canon", "dob_year", "left(surname, 1)"), LOOSE_MAX_BLOCK),
    "dob_by_number_f": ("dob", ("dob", "address_number", "left(forename_canon, 1)"), MAX_BLOCK),
    "dob_by_number_s": ("dob", ("dob", "address_number", "left(surname, 1)"), MAX_BLOCK),
    "name_key_by_number": ("name_key", ("name_key", "address_number", "left(postcode, 2)"), MAX_BLOCK),
}

BLOCKING_RULES = [
    # Each rule is an equi-join on keys that stay selective at 1M mentions (a name alone, or a
    # surname with a birth year, makes blocks that grow with the square of the data). A rule on a
    # *_by_* column is capped (CAPPED_KEYS): it joins on the name or dob it names, the same key
    # and date part, skipping blocks with more identities than its cap.
    # Namesakes (two people of one name and one birth year, or one district) are pairs of
    # people, so they grow with the square of the data however small the blocks stay under the
    # caps: the two rules below made 3.3M comparisons at 1M mentions that no other rule made
    # (0.08% of them true pairs). Each therefore also asks for a second part of the dob: one
    # part wrong is the error a rule further down does not catch; a namesake shares it by chance
    # (about 1 in 8). The same holds for every rule on a name or a dob with a key from a pool
    # that does not grow (a birthday, a house number): each asks for one more weak agreement that
    # a person's mistyped records keep and a namesake rarely has (the constants above; docs/scale.md
    # "Blocking that grows as n log n", second and third steps, has the figures).
    # same (canonical) names in either order (exact, nickname, swapped), the same birth year and
    # the day, or the month and a day one keystroke off
    "l.name_key_by_year = r.name_key_by_year AND l.dob_year = r.dob_year AND " + _DAY_OR_MONTH_AND_DAY_TYPO,
    # same (canonical) names, same postcode district: dob missing on one side, or partly wrong
    # and the same sector
    "l.name_key_by_district = r.name_key_by_district AND l.postcode_district = r.postcode_district AND "
    + _DOB_MISSING_OR_PART_IN_SECTOR,
    # same (canonical) names, same day and month of birth: year mistyped, or wrong in one place
    "l.name_key_by_day = r.name_key_by_day AND l.dob_month = r.dob_month AND l.dob_day = r.dob_day AND "
    + _YEAR_TYPO_OR_PLACE,
    # same dob and the same initials (either order): typos in both names
    "l.initials_by_dob = r.initials_by_dob AND l.dob = r.dob AND " + _SEX_OR_PLACE,
    # same forename and dob: surname changed
    "l.forename_by_dob = r.forename_by_dob AND l.dob = r.dob",
    # same surname and dob: forename replaced (or a twin, which the model then keeps apart); the
    # same sex or one place, as for the initials
    "l.surname_by_dob = r.surname_by_dob AND l.dob = r.dob AND " + _SEX_OR_PLACE,
    # surname, birth year and forename initial: forename typos or unknown nicknames, day/month errors
    "l.surname_by_year = r.surname_by_year AND l.dob_year = r.dob_year AND left(l.forename_canon, 1) = left(r.forename_canon, 1)",
    # forename, birth year and surname initial: surname typos, day/month errors
    "l.forename_by_year = r.forename_by_year AND l.dob_year = r.dob_year AND left(l.surname, 1) = left(r.surname, 1)",
    # same postcode and forename: both dob and surname wrong or missing
    "l.postcode = r.postcode AND l.forename_canon = r.forename_canon",
    # same postcode and dob / birth year: both names wrong
    "l.postcode = r.postcode AND l.dob_year = r.dob_year",
    # same address with the same names, or one name and the other's initial: dob wrong or missing
    # (an address is a household, so these blocks stay small)
    "l.name_key = r.name_key AND l.address = r.address",
    "l.forename_canon = r.forename_canon AND l.address = r.address AND left(l.surname, 1) = left(r.surname, 1)",
    "l.surname = r.surname AND l.address = r.address AND left(l.forename_canon, 1) = left(r.forename_canon, 1)",
    # the house number with the dob and an initial, or with the same names (either order) and the
    # postcode's first two characters: names, or dob and postcode, corrupted. A house number is
    # a small range of values: with the dob alone or the names alone these grew with the square of
    # the data (1.8M and 3.4M more comparisons at 1M mentions), so each carries a further key,
    # and the street (or no postcode, or for the names a dob part or none) on top: a postcode
    # mistyped leaves the street, a namesake at the same number lives in another one.
    "l.dob_by_number_f = r.dob_by_number_f AND l.address_number = r.address_number AND left(l.forename_canon, 1) = left(r.forename_canon, 1) AND "
    + _STREET_OR_NO_POSTCODE,
    "l.dob_by_number_s = r.dob_by_number_s AND l.address_number = r.address_number AND left(l.surname, 1) = left(r.surname, 1) AND "
    + _STREET_OR_NO_POSTCODE,
    "l.name_key_by_number = r.name_key_by_number AND l.address_number = r.address_number AND left(l.postcode, 2) = left(r.postcode, 2) AND "
    + _DOB_MISSING_OR_PART_OR_STREET,
    # one household (surname and postcode) with the forename initial and a dob sharing a part:
    # forename typo with the dob partly wrong. Household members share the surname and postcode, so
    # the initial and the dob part keep most siblings out of the block: without the dob part (or
    # with "dob missing" allowed) the model links siblings of similar forenames and the world's
    # precision falls (docs/bench-linkage.md); postcode + house number alone adds every household.
    "l.surname = r.surname AND l.postcode = r.postcode "
    "AND left(l.forename_canon, 1) = left(r.forename_canon, 1) AND " + _DOB_PART,
    # one home (postcode and house number) and the forename initial, with nothing else required:
    # both names' other parts and the dob wrong or missing (FEBRL4: 39 more true pairs blocked, 27
    # more linked at 0.999). The forename initial is required, not "forename or surname initial": with the
    # surname initial a record with no forename and no dob was compared with its whole household,
    # scored >= 0.999 on surname + address + postcode alone, and tied two siblings together in the
    # world (3 false merges). A household is bounded in size, so these blocks do not grow with the data.
    "l.postcode = r.postcode AND l.address_number = r.address_number "
    "AND left(l.forename_canon, 1) = left(r.forename_canon, 1)",
    # the agency's own person id within one agency
    "l.source = r.source AND l.person_ref = r.person_ref",
]

# Same names (either order, nicknames folded), one side without a birth date and the name rare:
# every rule above needs a dob part or a place, so a record with no dob and a weak or other
# address was never compared with its own name elsewhere (the mobile man seen at a new address
# by one agency). Equi-joins from those records only; each rule takes one orientation (Splink
# scores a pair once, with the smaller id on the left). Off by default ([linkage]
# name_only_blocking): measured on generated worlds, not yet at 1M mentions.
NAME_ONLY_RULES = [
    "l.name_key_nodob = r.name_key",
    "l.name_key = r.name_key_nodob",
]


def blocking_rules(linkage: dict[str, Any]) -> list[str]:
    """The prediction rules under the ``[linkage]`` settings."""
    return BLOCKING_RULES + (NAME_ONLY_RULES if linkage.get("name_only_blocking", False) else [])


# Pairs these rules find are taken as matches when estimating the prior.
PRIOR_RULES = [
    "l.forename = r.forename AND l.surname = r.surname AND l.dob = r.dob",
]
