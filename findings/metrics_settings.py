"""The hub metrics' settings, read once from the configuration object ([metrics] and the
chronology's decision timescales and working calendar, which timeliness counts the same way)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from findings.timescales import WorkingCalendar, timescale_spec
from core.errors import IntelError

BY_CHOICES = ("month", "quarter")


@dataclass(frozen=True)
class MetricsSettings:
    small_count_threshold: int
    re_referral: dict[str, Any]       # sources, roles, referral_outcomes, window_months
    domestic_abuse: dict[str, Any]    # sources, roles, event_types, window_months
    conversion: dict[str, list[str]]  # step -> the outcomes that reached it
    timescales: dict[str, dict[str, Any]]   # initial RAG -> {limit_hours, counted, label}
    calendar: WorkingCalendar

    @property
    def lookback_days(self) -> int:
        months = max(int(self.re_referral["window_months"]), int(self.domestic_abuse["window_months"]))
        return months * 31 + 1

    @classmethod
    def from_config(cls, config: Any) -> "MetricsSettings":
        m = _section(config, "metrics")
        chron = _section(config, "chronology")
        threshold = m.get("small_count_threshold", 5)
        if not isinstance(threshold, int) or isinstance(threshold, bool) or threshold < 1:
            raise IntelError(f"config [metrics] small_count_threshold must be a whole number, 1 or more; got {threshold!r}")
        defs = {}
        for name in ("re_referral", "domestic_abuse"):
            d = dict(m.get(name, {}))
            for key in ("sources", "roles"):
                if not isinstance(d.get(key), list) or not d[key]:
                    raise IntelError(f"config [metrics.{name}] {key} must be a non-empty list")
            months = d.get("window_months", 12)
            if not isinstance(months, int) or months < 1:
                raise IntelError(f"config [metrics.{name}] window_months must be a whole number, 1 or more")
            d["window_months"] = months
            defs[name] = d
        conversion = {str(k): list(v) for k, v in m.get("conversion", {}).items()}
        calendar = WorkingCalendar(chron.get("working_calendar", {}))
        raw = chron.get("timescales", {})
        timescales = {rag: timescale_spec(rag, raw, calendar) for rag in raw}
        return cls(threshold, defs["re_referral"], defs["domestic_abuse"], conversion,
                   {k: v for k, v in timescales.items() if v}, calendar)


def _section(config: Any, name: str) -> dict[str, Any]:
    if isinstance(config, dict):
        return config.get(name, {}) or {}
    return getattr(config, name, None) or {}
