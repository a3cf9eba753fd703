"""Person ids: the MI- form, its check letter, and the words for what is wrong with an id."""

from __future__ import annotations

import pytest

from core.person_ids import (ALPHABET, EXAMPLE, MalformedPersonId, check_letter, format_person_id, is_legacy,
                             migrated_id, moved, parse_person_id, person_number)


def test_the_form_and_its_round_trip():
    assert format_person_id(42) == EXAMPLE == "MI-00000042W"
    assert format_person_id(2326) == "MI-00002326D"
    for n in (0, 1, 22, 23, 99_999_999):
        pid = format_person_id(n)
        assert parse_person_id(pid) == pid and person_number(pid) == n and not is_legacy(pid)
    assert set(ALPHABET).isdisjoint("IOU") and len(ALPHABET) == 23
    with pytest.raises(ValueError):
        format_person_id(10 ** 8)


def test_every_single_digit_typo_and_neighbour_swap_is_refused():
    for n in (0, 42, 1033, 2326, 45_678_901, 99_999_998):
        pid = format_person_id(n)
        digits = pid[3:11]
        wrong = set()
        for i, d in enumerate(digits):
            for other in "0123456789":
                if other != d:
                    wrong.add(digits[:i] + other + digits[i + 1:])
        for i in range(len(digits) - 1):
            if digits[i] != digits[i + 1]:
                wrong.add(digits[:i] + digits[i + 1] + digits[i] + digits[i + 2:])
        for typo in wrong:
            with pytest.raises(MalformedPersonId, match="wrong check letter"):
                parse_person_id(f"MI-{typo}{pid[-1]}")
        for letter in set(ALPHABET + "IOU") - {pid[-1]}:
            with pytest.raises(MalformedPersonId, match="wrong check letter"):
                parse_person_id(pid[:-1] + letter)


def test_case_and_spaces_are_forgiven_and_old_ids_recognised():
    assert parse_person_id("  mi-00000042w ") == "MI-00000042W"
    assert parse_person_id("P00002326") == "P00002326" and is_legacy("P00002326")
    assert migrated_id("P00002326") == "MI-00002326D" and check_letter(2326) == "D"
    assert moved("P00002326", "MI-00002326D")[0] == "old-id"
    assert moved("P00002326", "MI-00000001B") == (
        "old-id", "P00002326 is the old form of MI-00002326D, which was merged into MI-00000001B")
    assert moved("mi-00000042w", "MI-00000042W")[0] == "canonical-id"
    assert moved("MI-00000042W", "MI-00000001B")[0] == "merged"


@pytest.mark.parametrize("text, words", [
    ("", "is empty"), ("   ", "is empty"), (None, "must be text"),
    ("police:P00001033", "agency record reference"), ("X12", "person ids are MI- followed"),
    ("MI-0000042W", "exactly 8 digits"), ("MI-000000042W", "exactly 8 digits"), ("MI-00000042", "exactly 8 digits"),
    ("P0000004", "old person ids are P followed by exactly 8 digits"), ("42", "person ids are MI- followed"), ("MI-00000042W; DROP", "exactly 8 digits"),
    ("x" * 300, "person ids are MI- followed"),
])
def test_malformed_ids_say_what_is_wrong(text, words):
    with pytest.raises(MalformedPersonId, match=words) as err:
        parse_person_id(text)
    assert len(str(err.value)) < 300          # a long input is cut, not echoed whole


def test_digits_are_ascii_digits_only():
    """``\\d`` would take any script's digits (Arabic-Indic ``٤٢`` is 42 to int()): such text is
    not an id, and is said to be malformed (400), not looked up as one (404)."""
    for text in ("MI-\u0660\u0660\u0660\u0660\u0660\u0660\u0664\u0662W", "P\u0660\u0660\u0660\u0660\u0660\u0660\u0664\u0662",
                 "MI-\uff10\uff10\uff10\uff10\uff10\uff10\uff14\uff12W"):
        with pytest.raises(MalformedPersonId):
            parse_person_id(text)
        with pytest.raises(MalformedPersonId):
            person_number(text)
