"""One lens for everything a viewer sees: which records exist for them, which are masked, and
which derived text (alert reasons and evidence, access decisions) may reach them.

A record's ``restriction`` is ``none``, ``hub_only`` (hub staff only: never in an export, never
to a role outside the hub) or ``health_confidential`` (for a viewer without health clearance:
only that a health contact happened, and when). A :class:`Lens` is what one viewer may see:

- ``drop_hub_only``: hub_only records do not exist (export formats; MARAC coordinators);
- ``mask_health``: health_confidential records are masked (no health clearance).

Derived text is computed from records, so it may show a record the viewer may not see - an
alert's explanation names its evidence. An alert is shown to a viewer only if every record its
evidence names is one they see in full; otherwise it is left out altogether (a "withheld" note
would itself say that hidden records exist). Access decisions read through the same lens: a
MARAC coordinator may open a person or household only for a domestic-abuse record they can see,
so a person whose only such record is hidden gets the same answer as one with none.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from core.store import Store

RESTRICTIONS = ("none", "hub_only", "health_confidential")


@dataclass(frozen=True)
class Lens:
    drop_hub_only: bool = False
    mask_health: bool = False

    @classmethod
    def of(cls, *, health_clearance: bool = True, export: bool = False) -> Lens:
        """The lens of a viewer with or without health clearance, reading an export or not (one
        of four, made once: chronologies ask for it per row)."""
        return _LENSES[(bool(export), not health_clearance)]

    @property
    def is_open(self) -> bool:
        """Sees every record in full (a hub analyst reading JSON)."""
        return not (self.drop_hub_only or self.mask_health)

    @property
    def withheld(self) -> frozenset[str]:
        """The restrictions whose records this viewer does not see in full."""
        return frozenset(r for r, on in (("hub_only", self.drop_hub_only), ("health_confidential", self.mask_health))
                         if on)

    def visibility(self, restriction: str | None) -> str:
        """'full', 'masked' (that it happened and when) or 'hidden'."""
        if restriction == "hub_only" and self.drop_hub_only:
            return "hidden"
        if restriction == "health_confidential" and self.mask_health:
            return "masked"
        return "full"

    def sees_all(self, restrictions: Iterable[str]) -> bool:
        return not (self.withheld & set(restrictions))

    def full_sql(self, alias: str = "m") -> str:
        """SQL: the mention rows (table alias ``alias``) this viewer sees in full."""
        if not self.withheld:
            return "TRUE"
        return f"{alias}.restriction NOT IN ({', '.join(repr(r) for r in sorted(self.withheld))})"


_LENSES = {(hub, health): Lens(drop_hub_only=hub, mask_health=health) for hub in (False, True) for health in (False, True)}


def evidence_tokens(value: Any) -> set[str]:
    """Every string inside an alert's evidence (ids of records, events, people)."""
    out: set[str] = set()
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            out.add(item)
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, (list, tuple, set)):
            stack.extend(item)
    return out


def restricted_ids(store: Store, tokens: Iterable[str]) -> dict[str, str]:
    """Of these tokens, the restricted ones: a mention id -> its restriction; an event key ->
    the restriction of its records when every record of the event has it (an event with one
    unrestricted record is itself visible: its restricted records are named by their own ids)."""
    tokens = sorted({t for t in tokens if ":" in t})
    if not tokens:
        return {}
    rows = store.rows(
        # IN (SELECT unnest(...)): a hash join; list_contains would walk the whole list for each row
        # (the alert queue for a restricted lens at 1.1M mentions, 21,855 alerts: 13.9-16.4 s, now 2.6-2.8 s)
        "SELECT mention_id AS id, restriction FROM mentions WHERE restriction <> 'none' "
        "AND mention_id IN (SELECT unnest(?::VARCHAR[])) "
        "UNION ALL SELECT event_key, any_value(restriction) FROM mentions WHERE event_key IN (SELECT unnest(?::VARCHAR[])) "
        "GROUP BY event_key HAVING count(DISTINCT restriction) = 1 AND any_value(restriction) <> 'none'",
        [tokens, tokens])
    return {r["id"]: r["restriction"] for r in rows}


def alert_restrictions(alert: dict[str, Any], restricted: dict[str, str]) -> list[str]:
    """The restrictions of the records an alert's evidence names (sorted; empty when none)."""
    return sorted({restricted[t] for t in evidence_tokens(alert.get("evidence")) if t in restricted})


def screen_alerts(alerts: list[dict[str, Any]], lens: Lens) -> list[dict[str, Any]]:
    """The alerts this viewer may see (each carries ``restrictions`` from its reader): those whose
    evidence they see in full. An alert without ``restrictions`` was never looked at: left out
    unless the viewer sees everything."""
    return [a for a in alerts if lens.is_open or ("restrictions" in a and lens.sees_all(a["restrictions"]))]


def has_domestic_abuse(store: Store, lens: Lens, *, person_id: str | None = None,
                       household_key: str | None = None) -> bool:
    """Whether a person (or a household) has a domestic-abuse record this viewer sees in full."""
    if person_id is not None:
        return bool(store.rows(
            "SELECT 1 FROM person_mentions pm JOIN mentions m USING (mention_id) "
            f"WHERE pm.person_id = ? AND m.event_type = 'domestic_abuse' AND {lens.full_sql('m')} LIMIT 1",
            [person_id]))
    return bool(store.rows(
        f"SELECT 1 FROM mentions m WHERE m.household_key = ? AND m.event_type = 'domestic_abuse' "
        f"AND {lens.full_sql('m')} LIMIT 1", [household_key]))
