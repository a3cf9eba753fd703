"""Decision timescales: working hours on the hub's calendar, and whether a decision met its RAG timescale.

One calendar for everything that counts working time (a chronology's timescale column and the
hub's timeliness metrics): weekdays between ``day_start`` and ``day_end``, minus England's bank
holidays from the ``holidays`` package (``country`` / ``subdivision`` in config) and any
``extra_closures`` a hub adds. Elapsed working time is a difference of a cumulative clock
(working hours since a fixed origin), so a whole column of contacts is counted at once with
numpy's business-day functions, and one contact with the same arithmetic.
"""

from __future__ import annotations

import json
from datetime import date, datetime, time
from functools import lru_cache
from typing import Any

import holidays as holidays_lib
import numpy as np

from core.errors import IntelError

_ORIGIN = np.datetime64("1970-01-05", "D")   # a Monday: any fixed day works, this one reads well
_WHERE = "config [chronology.working_calendar]"


def _hm(value: str) -> time:
    try:
        h, m = str(value).split(":")
        return time(int(h), int(m))
    except (ValueError, AttributeError) as exc:
        raise IntelError(f"{_WHERE}: {value!r} is not HH:MM") from exc


@lru_cache(maxsize=16)
def _bank_holidays(country: str, subdivision: str | None, first: int, last: int) -> tuple[date, ...]:
    try:
        found = holidays_lib.country_holidays(country, subdiv=subdivision, years=range(first, last + 1))
    except (NotImplementedError, KeyError) as exc:
        raise IntelError(f"{_WHERE}: no bank holidays known for country {country!r} "
                         f"subdivision {subdivision!r} ({exc})") from exc
    return tuple(sorted(found.keys()))


class WorkingCalendar:
    """Working hours: ``weekdays`` between day_start and day_end, bank holidays and closures excluded."""

    def __init__(self, cfg: dict[str, Any], years: tuple[int, int] = (2000, 2040)) -> None:
        self.start = _hm(cfg.get("day_start", "09:00"))
        self.end = _hm(cfg.get("day_end", "17:00"))
        if self.end <= self.start:
            raise IntelError(f"{_WHERE}: day_end must be after day_start")
        self.weekdays = sorted(set(int(d) for d in cfg.get("weekdays", [1, 2, 3, 4, 5])))
        if not self.weekdays or any(d < 1 or d > 7 for d in self.weekdays):
            raise IntelError(f"{_WHERE}: weekdays are ISO day numbers 1 (Monday) to 7 (Sunday)")
        country = str(cfg.get("bank_holidays_country", "GB"))
        subdivision = cfg.get("bank_holidays_subdivision", "ENG") or None
        try:
            # `holidays`: the hand-kept list of earlier versions, still honoured as closures
            extra = {date.fromisoformat(str(d)) for d in [*cfg.get("extra_closures", []), *cfg.get("holidays", [])]}
        except ValueError as exc:
            raise IntelError(f"{_WHERE} extra_closures: {exc}") from exc
        self.holidays = set(_bank_holidays(country, subdivision, *years)) | extra
        self._weekmask = "".join("1" if d in self.weekdays else "0" for d in range(1, 8))
        self._np_holidays = np.array(sorted(self.holidays), dtype="datetime64[D]")
        self._start_s = self.start.hour * 3600 + self.start.minute * 60
        self._end_s = self.end.hour * 3600 + self.end.minute * 60
        self.day_hours = (self._end_s - self._start_s) / 3600

    @staticmethod
    def of(cfg: dict[str, Any]) -> WorkingCalendar:
        """The calendar of these settings, made once per distinct settings (a chronology asks for
        it on every request: building it, bank holidays to numpy, cost ~2 ms, a third of a
        chronology from memory at 1.1M mentions). Calendars are read-only after they are made."""
        return _calendar(json.dumps(cfg, sort_keys=True, default=str))

    def is_working_day(self, d: date) -> bool:
        return d.isoweekday() in self.weekdays and d not in self.holidays

    def _clock(self, t: np.ndarray) -> np.ndarray:
        """Working hours from the origin to each datetime64[s] in ``t``."""
        days = t.astype("datetime64[D]")
        whole = np.busday_count(_ORIGIN, days, weekmask=self._weekmask, holidays=self._np_holidays)
        seconds = (t - days).astype("timedelta64[s]").astype(np.int64)
        within = np.clip(seconds, self._start_s, self._end_s) - self._start_s
        today = np.is_busday(days, weekmask=self._weekmask, holidays=self._np_holidays)
        return whole * self.day_hours + np.where(today, within, 0) / 3600

    def working_hours(self, t0: np.ndarray, t1: np.ndarray) -> np.ndarray:
        """Working hours elapsed from each t0 to its t1 (0 where t1 <= t0); datetime64 arrays."""
        t0 = np.asarray(t0, dtype="datetime64[s]")
        t1 = np.asarray(t1, dtype="datetime64[s]")
        return np.where(t1 > t0, self._clock(t1) - self._clock(t0), 0.0)


def timescale_spec(rag: str | None, timescales: dict[str, Any], calendar: WorkingCalendar) -> dict[str, Any] | None:
    """``{"limit_hours", "counted", "label"}`` of an initial RAG's timescale; None if it has none.

    ``counted`` is "clock hours" (an ``hours`` timescale that runs out of hours too) or
    "working hours" (an ``hours`` timescale in working time, or ``working_days``: one working
    day = one working day's hours)."""
    spec = timescales.get(rag or "")
    if not spec:
        return None
    if "hours" in spec and spec.get("out_of_hours", True):
        return {"limit_hours": float(spec["hours"]), "counted": "clock hours", "label": f"{spec['hours']} hours"}
    if "hours" in spec:
        return {"limit_hours": float(spec["hours"]), "counted": "working hours",
                "label": f"{spec['hours']} working hours"}
    if "working_days" in spec:
        return {"limit_hours": float(spec["working_days"]) * calendar.day_hours, "counted": "working hours",
                "label": f"{spec['working_days']} working day(s)"}
    raise IntelError(f"config [chronology.timescales.{rag}] needs `hours` or `working_days`")


def elapsed_hours(received: np.ndarray, decided: np.ndarray, counted: str, calendar: WorkingCalendar) -> np.ndarray:
    """Hours from receipt to decision as a timescale counts them (datetime64 arrays, no nulls)."""
    if counted == "clock hours":
        delta = (np.asarray(decided, "datetime64[s]") - np.asarray(received, "datetime64[s]")).astype(np.int64)
        return np.maximum(delta, 0) / 3600
    return calendar.working_hours(received, decided)


def decision_timescale(received: datetime | None, decided: datetime | None, rag: str | None,
                       timescales: dict[str, Any], calendar: WorkingCalendar) -> dict[str, Any] | None:
    """Whether a social care contact's decision met its RAG timescale.

    ``{"rag", "timescale", "elapsed_hours", "counted", "met"}``; ``met`` is None when no decision
    is recorded. None when the contact has no initial RAG with a configured timescale.
    """
    spec = timescale_spec(rag, timescales, calendar)
    if received is None or spec is None:
        return None
    out = {"rag": rag, "timescale": spec["label"], "elapsed_hours": None, "counted": spec["counted"], "met": None}
    if decided is None:
        return out
    elapsed = float(elapsed_hours(np.array([received], "datetime64[s]"), np.array([decided], "datetime64[s]"),
                                  spec["counted"], calendar)[0])
    return {**out, "elapsed_hours": round(elapsed, 2), "met": elapsed <= spec["limit_hours"] + 1e-9}


@lru_cache(maxsize=8)
def _calendar(settings: str) -> WorkingCalendar:
    return WorkingCalendar(json.loads(settings))
