"""The working calendar: bank holidays from the `holidays` package, working hours counted as a
difference of a cumulative clock (checked against counting day by day)."""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta

import numpy as np
import pytest

from findings.timescales import WorkingCalendar, decision_timescale, elapsed_hours
from core.errors import IntelError

# gov.uk's bank holidays in England and Wales, 2020-2027: the list this project kept by hand before
HAND_KEPT = """2020-01-01 2020-04-10 2020-04-13 2020-05-08 2020-05-25 2020-08-31 2020-12-25 2020-12-28
2021-01-01 2021-04-02 2021-04-05 2021-05-03 2021-05-31 2021-08-30 2021-12-27 2021-12-28
2022-01-03 2022-04-15 2022-04-18 2022-05-02 2022-06-02 2022-06-03 2022-08-29 2022-09-19 2022-12-26 2022-12-27
2023-01-02 2023-04-07 2023-04-10 2023-05-01 2023-05-08 2023-05-29 2023-08-28 2023-12-25 2023-12-26
2024-01-01 2024-03-29 2024-04-01 2024-05-06 2024-05-27 2024-08-26 2024-12-25 2024-12-26
2025-01-01 2025-04-18 2025-04-21 2025-05-05 2025-05-26 2025-08-25 2025-12-25 2025-12-26
2026-01-01 2026-04-03 2026-04-06 2026-05-04 2026-05-25 2026-08-31 2026-12-25 2026-12-28
2027-01-01 2027-03-26 2027-03-29 2027-05-03 2027-05-31 2027-08-30 2027-12-27 2027-12-28""".split()


def test_the_package_gives_every_working_day_the_hand_kept_list_did() -> None:
    cal = WorkingCalendar({})
    hand = {date.fromisoformat(d) for d in HAND_KEPT}
    d = date(2020, 1, 1)
    while d <= date(2027, 12, 31):
        assert cal.is_working_day(d) == (d.isoweekday() <= 5 and d not in hand), d
        d += timedelta(days=1)


def _by_day(cal: WorkingCalendar, t0: datetime, t1: datetime) -> float:
    """Working hours counted a day at a time (how the chronology counted them before)."""
    if t1 <= t0:
        return 0.0
    total, d = 0.0, t0.date()
    while d <= t1.date():
        if cal.is_working_day(d):
            lo, hi = max(t0, datetime.combine(d, cal.start)), min(t1, datetime.combine(d, cal.end))
            total += max(0.0, (hi - lo).total_seconds() / 3600)
        d += timedelta(days=1)
    return total


@pytest.mark.parametrize("cfg", [{}, {"day_start": "08:30", "day_end": "17:15", "weekdays": [1, 2, 3, 4, 5, 6],
                                      "extra_closures": ["2026-06-15"]}])
def test_the_clock_difference_equals_counting_day_by_day(cfg) -> None:
    cal = WorkingCalendar(cfg)
    rng = random.Random(7)
    t0s, t1s = [], []
    for _ in range(400):
        t0 = datetime(2025, 1, 1) + timedelta(minutes=rng.randrange(0, 60 * 24 * 600))
        t1 = t0 + timedelta(minutes=rng.randrange(-600, 60 * 24 * 20))
        t0s.append(t0)
        t1s.append(t1)
    got = cal.working_hours(np.array(t0s, "datetime64[s]"), np.array(t1s, "datetime64[s]"))
    assert got == pytest.approx([_by_day(cal, a, b) for a, b in zip(t0s, t1s)], abs=1e-9)


def test_decision_timescales_over_a_bank_holiday_weekend() -> None:
    cal = WorkingCalendar({})
    ts = {"amber": {"working_days": 1}, "red": {"hours": 4, "out_of_hours": True}}
    # Thursday 16:00 before Good Friday to the Tuesday after Easter Monday 10:00: 1 + 1 working hours
    r = decision_timescale(datetime(2026, 4, 2, 16), datetime(2026, 4, 7, 10), "amber", ts, cal)
    assert r["elapsed_hours"] == 2 and r["met"] is True and r["counted"] == "working hours"
    r = decision_timescale(datetime(2026, 4, 3, 22), datetime(2026, 4, 4, 3), "red", ts, cal)
    assert r["elapsed_hours"] == 5 and r["met"] is False and r["counted"] == "clock hours"
    clock = elapsed_hours(np.array(["2026-04-03T22:00"], "datetime64[s]"), np.array(["2026-04-03T21:00"], "datetime64[s]"),
                          "clock hours", cal)
    assert clock.tolist() == [0.0]


@pytest.mark.parametrize("cfg, message", [
    ({"day_start": "9am"}, "'9am' is not HH:MM"),
    ({"day_start": "17:00", "day_end": "09:00"}, "day_end must be after day_start"),
    ({"weekdays": [0, 1]}, "ISO day numbers"),
    ({"extra_closures": ["2026-02-30"]}, "extra_closures"),
    ({"bank_holidays_country": "XX"}, "no bank holidays known for country 'XX'"),
])
def test_a_bad_calendar_is_refused(cfg, message) -> None:
    with pytest.raises(IntelError, match=message):
        WorkingCalendar(cfg)


def test_a_hubs_own_closures_are_not_working_days() -> None:
    assert not WorkingCalendar({"extra_closures": ["2026-06-15"]}).is_working_day(date(2026, 6, 15))
    assert WorkingCalendar({}).is_working_day(date(2026, 6, 15))
    assert time(9) == WorkingCalendar({}).start
