"""The form of a person id: ``MI-`` + 8 digits + a check letter, e.g. ``MI-00000042W``.

Why this form. Person ids used to be ``P`` + 8 digits, the very form of the police record ids
the generated worlds (and many forces) use, so ``police:P00001033`` and person ``P00002326``
were confused on screen. No agency id seen by this project starts ``MI-``: the extract contract
(/work/shared/spec/extracts.md) leaves ``record_id`` and ``person_ref`` to the agency, and the
ids in use are the fixtures' record ids (``P``/``S``/``H`` + 8 digits), event ids (``PE``/``SC``/
``HE`` + 7 digits), nominal ids (``N`` + 7 digits), FEBRL's ``rec-N-org``, historical_50k's
``Q2296770-1`` and fake_1000's plain integers; our own alert, model and scenario ids are ``A``,
``M`` and ``S`` + digits. ``MI`` (mash-intel) with a hyphen is none of these, so an analyst can
tell a person id from a record reference at a glance.

The check letter is ``ALPHABET[number % 23]`` over the 23 capital letters other than I, O and U
(easily misread as 1, 0 and V). 23 is prime and larger than 10, so every single mistyped digit
and every swap of two neighbouring digits changes the remainder: a mistyped id is refused
(:class:`MalformedPersonId`) instead of naming somebody else. A one-line remainder needs no
library (the same scheme as the Spanish DNI's letter, with our own alphabet).

The number is kept when an old store is migrated (core/migrations.py): ``P00002326`` becomes
``MI-00002326D``, so an old id in the audit log (never rewritten) still reads as the same person,
and :data:`LEGACY` ids keep resolving through the store's ``person_id_aliases`` table.

Input is forgiving only about case and surrounding spaces (``mi-00000042w`` is ``MI-00000042W``).
"""

from __future__ import annotations

import re

from core.errors import IntelError

PREFIX = "MI-"
DIGITS = 8
ALPHABET = "ABCDEFGHJKLMNPQRSTVWXYZ"   # A-Z without I, O, U: 23 letters, a prime modulus
EXAMPLE = "MI-00000042W"
FORM = f"{PREFIX} followed by {DIGITS} digits and a check letter, e.g. {EXAMPLE}"

# ASCII digits only (re.ASCII): \d would take any script's digits, which int() reads as numbers
CURRENT = re.compile(rf"{PREFIX}(\d{{{DIGITS}}})([A-Z])", re.ASCII)
LEGACY = re.compile(rf"P(\d{{{DIGITS}}})", re.ASCII)          # the form before schema version 2
# SQL for the same two forms (core/migrations.py, linkage/identity.py)
SQL_LEGACY = f"^P[0-9]{{{DIGITS}}}$"


class MalformedPersonId(IntelError):
    """Text given as a person id that is not one (wrong prefix, digits or check letter)."""


def check_letter(number: int) -> str:
    return ALPHABET[number % len(ALPHABET)]


def format_person_id(number: int) -> str:
    """The id of the ``number``-th person issued: ``MI-00000042W``."""
    if number < 0 or number >= 10 ** DIGITS:
        raise ValueError(f"person number {number} does not fit {DIGITS} digits")
    return f"{PREFIX}{number:0{DIGITS}d}{check_letter(number)}"


def person_number(person_id: str) -> int:
    """The number inside a well-formed current or legacy id."""
    found = CURRENT.fullmatch(person_id) or LEGACY.fullmatch(person_id)
    if found is None:
        raise MalformedPersonId(f"{person_id!r} is not a person id: person ids are {FORM}")
    return int(found.group(1))


def migrated_id(legacy_id: str) -> str:
    """The current form of an old ``P`` + 8 digits id: the same number with the prefix and letter."""
    found = LEGACY.fullmatch(legacy_id)
    if found is None:
        raise MalformedPersonId(f"{legacy_id!r} is not an old person id (P followed by {DIGITS} digits)")
    return format_person_id(int(found.group(1)))


def is_legacy(person_id: str) -> bool:
    return LEGACY.fullmatch(person_id) is not None


def parse_person_id(text: object, what: str = "person id") -> str:
    """``text`` as a person id in its canonical form (current, or legacy for the alias table to
    resolve), or MalformedPersonId saying what is wrong with it. ``what`` names the input
    (``--person``, ``pa``) in the message."""
    if not isinstance(text, str):
        raise MalformedPersonId(f"{what} must be text, got {type(text).__name__}")
    raw = text.strip()
    if not raw:
        raise MalformedPersonId(f"{what} is empty: person ids are {FORM}")
    shown = raw if len(raw) <= 40 else raw[:40] + "..."
    pid = raw.upper()
    if LEGACY.fullmatch(pid):
        return pid
    found = CURRENT.fullmatch(pid)
    if found is not None:
        if found.group(2) != check_letter(int(found.group(1))):
            raise MalformedPersonId(
                f"{what} {shown!r} has the wrong check letter for its digits: it is mistyped (check "
                "every digit and the last letter); nobody was looked up")
        return pid
    if ":" in raw:
        hint = ("it looks like an agency record reference (SOURCE:RECORD_ID): search by reference to find "
                f"the person holding that record. Person ids are {FORM}")
    elif pid.startswith(PREFIX):
        hint = f"after {PREFIX} come exactly {DIGITS} digits and one check letter, e.g. {EXAMPLE}"
    elif re.fullmatch(r"P\w*", pid):
        hint = f"old person ids are P followed by exactly {DIGITS} digits; person ids are now {FORM}"
    else:
        hint = f"person ids are {FORM}"
    raise MalformedPersonId(f"{what} {shown!r} is not a person id: {hint}")


def moved(asked: str, resolved: str) -> tuple[str, str]:
    """Why the id ``asked`` answers as ``resolved``: a slug (``old-id``, ``canonical-id``,
    ``merged``) and the words to tell the reader."""
    canonical = parse_person_id(asked)
    if is_legacy(canonical):
        if migrated_id(canonical) == resolved:
            return "old-id", f"{asked} is the old form of the person id {resolved}"
        return "old-id", f"{asked} is the old form of {migrated_id(canonical)}, which was merged into {resolved}"
    if canonical == resolved:
        return "canonical-id", f"person ids are written in capitals: {resolved}"
    return "merged", f"person {asked} was merged into {resolved}"
