"""Dates as analysts type them: ISO (1993-03-16) or UK day-first (16/03/1993, 16-03-1993, 16.03.1993,
16/3/93 is refused: a two-digit year is ambiguous across a century of birth dates)."""

from __future__ import annotations

import re
from datetime import date

from core.errors import IntelError

_UK = re.compile(r"^\s*(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})\s*$")


def parse_date(value: date | str | None, name: str) -> date | None:
    """``value`` as a date (None stays None); an IntelError naming ``name`` and the forms accepted
    when it is not one."""
    if value is None or isinstance(value, date):
        return value
    text = str(value).strip()
    m = _UK.match(text)
    try:
        if m:
            return date(int(m.group(3)), int(m.group(2)), int(m.group(1)))
        return date.fromisoformat(text)
    except ValueError:
        raise IntelError(f"{name} {value!r} is not a date: write 1993-03-16 or 16/03/1993") from None
