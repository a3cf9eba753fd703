"""The date the data runs to: windows such as "in the last 12 months" count back from the latest
extract date of a loaded drop, never from the clock (a drop extracted on 31 October and read in
December still describes October)."""

from __future__ import annotations

from datetime import date, datetime

from core.store import Store


def extract_date(store: Store, now: datetime) -> date | None:
    """The date the data runs to: the latest extract date of a loaded drop (not after ``now``),
    else the latest event date. Windows such as "in the last 12 months" count back from it."""
    value = store.scalar("SELECT max(extract_date) FROM drops WHERE extract_date <= ?", [now.date()])
    if value is None:
        value = store.scalar("SELECT max(event_date) FROM mentions WHERE event_date <= ?", [now])
    return value.date() if isinstance(value, datetime) else value
