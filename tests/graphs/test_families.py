"""harm_proximity counts families, not address keys; a harmed child's home from their specific
records (graphs/families.py): small hand-made worlds, each checked both ways."""

from __future__ import annotations

import copy
from datetime import date as D
from datetime import timedelta

import polars as pl

from core.config import load_config
from graphs.families import harm_families, specific_household
from graphs.pipeline import compute_all

CFG = load_config()
T0 = D(2023, 1, 1)


def day(n: int) -> D:
    return T0 + timedelta(days=n)


class World:
    """Rows with the store frame's address columns: a person is ``(id, role, household_key,
    address)``; without an address the row carries a UPRN (the household key's digits)."""

    def __init__(self) -> None:
        self.rows: list[dict] = []

    def add(self, event: str, source: str, etype: str, d: D, *people: tuple, **ev) -> "World":
        for p in people:
            hh = p[2]
            addr = p[3] if len(p) > 3 else None
            self.rows.append(dict(
                mention_id=f"{source}:r{len(self.rows)}", event_key=f"{source}:{event}", source=source,
                event_type=etype, role=p[1], date=d, person_id=p[0], household_key=hh, household_key_sent=hh, dob=None,
                dash_risk=None, initial_rag=None, final_rag=ev.get("rag"), presentation=None,
                safeguarding_concern=None, address=addr, postcode=None,
                uprn=hh.split(":", 1)[1] if hh and addr is None else None))
        return self

    def run(self, count: str = "families", home_spells: bool = True, by_home: bool = True,
            move_gap: int = 0) -> list[str]:
        cfg = copy.deepcopy(CFG)
        cfg["rules"]["harm_proximity"]["count"] = count
        hh = cfg.setdefault("analytics", {}).setdefault("households", {})
        hh["harm_home_spells"], hh["harm_residents_by_home"] = home_spells, by_home
        hh["harm_move_gap_days"] = move_gap
        f = compute_all(pl.DataFrame(self.rows, infer_schema_length=None), cfg)["findings"]
        return sorted(f.filter(pl.col("rule") == "harm_proximity")["person_id"].to_list())


def test_a_parent_near_their_own_child_written_three_ways_is_one_family():
    """K is harmed three times at home; the agencies write the home as a UPRN, with a house number,
    and as a street alone. Counted by key, K's father P is 'near harm at 3 households'."""
    w = World()
    w.add("g0", "health", "gp", day(0), ("P", "patient", "uprn:1"))
    w.add("e1", "social_care", "neglect", day(10), ("K", "subject_child", "uprn:1"), ("P", "parent", "uprn:1"), rag="red")
    w.add("e2", "social_care", "neglect", day(200), ("K", "subject_child", "addr:E1 1AA|4|elm", "4 elm street"),
          ("P", "parent", None), rag="red")
    w.add("e3", "social_care", "neglect", day(400), ("K", "subject_child", "addr:E1 1AA||elm", "elm street"),
          ("P", "parent", None), rag="red")
    assert w.run(count="households") == ["P"]
    assert w.run() == []


def _mobile(child_b_home: str | None, x_in_b_event: bool = False) -> World:
    """X is in the event where A (h1) is harmed, lives with B's family at h2, and is in the event
    where C (h3) is harmed. B's record in the harm event carries a street without a number that
    address resolution put at another home (uprn:99); B's other records give h2."""
    w = World()
    w.add("e1", "police", "violence", day(10), ("A", "victim", "uprn:11"), ("X", "suspect", None))
    w.add("g1", "health", "gp", day(150), ("X", "patient", "uprn:12"))
    if child_b_home:
        w.add("g2", "health", "gp", day(100), ("B", "patient", child_b_home))
        w.add("g3", "health", "gp", day(330), ("B", "patient", child_b_home))
    w.add("e2", "social_care", "neglect", day(200), ("B", "subject_child", "uprn:99", "oak road"),
          *([("X", "household_member", None)] if x_in_b_event else []), rag="red")
    w.add("g4", "health", "gp", day(300), ("X", "patient", "uprn:12"))
    w.add("e3", "police", "violence", day(400), ("C", "victim", "uprn:13"), ("X", "witness", None))
    return w


def test_the_child_s_home_from_their_specific_records_places_the_man_there():
    w = _mobile("uprn:12")
    assert w.run(home_spells=False) == []       # the harm placed at uprn:99, where X never was
    assert w.run() == ["X"]
    assert _mobile(None).run() == []             # B has no other record: nothing places X there
    assert _mobile("uprn:14").run() == []        # B's home is not X's


def test_a_man_harmed_once_does_not_make_the_homes_he_passed_through_one_family():
    """X himself is harmed once, at h2; his records at h1, h2 and h3 do not tie A's, B's and C's
    families together: only where a harmed person lived *when harmed* ties."""
    w = World()
    w.add("g0", "health", "gp", day(0), ("X", "patient", "uprn:1"))
    w.add("e1", "police", "violence", day(10), ("A", "victim", "uprn:1"), ("X", "suspect", "uprn:1"))
    w.add("e2", "police", "violence", day(200), ("B", "victim", "uprn:2"), ("X", "victim", "uprn:2"))
    w.add("e3", "police", "violence", day(400), ("C", "victim", "uprn:3"), ("X", "witness", "uprn:3"))
    assert w.run() == ["X"]
    m = pl.DataFrame(w.rows, infer_schema_length=None)
    harmed = pl.DataFrame({"person_id": ["A", "B", "X", "C"], "event_key": ["police:e1", "police:e2", "police:e2", "police:e3"],
                           "date": [day(10), day(200), day(200), day(400)],
                           "household_key": ["uprn:1", "uprn:2", "uprn:2", "uprn:3"]})
    fam = dict(harm_families(m, harmed).iter_rows())
    assert fam["X"] == fam["B"] and len({fam["A"], fam["B"], fam["C"]}) == 3


def test_specific_household_needs_a_uprn_or_a_number():
    f = pl.DataFrame({"household_key": ["uprn:1", "addr:E1 1AA|4|elm", "uprn:2", "addr:E1 1AA||elm", None],
                      "uprn": ["1", None, None, None, None],
                      "address": [None, "4 elm street", "elm street", "elm street", "9 elm street"]})
    assert f.select(specific_household(f.columns))["household_key"].to_list() == [True, True, False, False, False]
    keys = f.select("household_key")
    assert keys.select(specific_household(keys.columns))["household_key"].to_list() == [True, True, True, False, False]


def test_the_man_s_home_from_his_specific_records_places_him_with_the_child():
    """X's record just before B's harm gives a street without a number (placed at uprn:98); his
    records naming one home put him at B's home (uprn:12) on the day."""
    w = World()
    w.add("e1", "police", "violence", day(10), ("A", "victim", "uprn:11"), ("X", "suspect", None))
    w.add("g1", "health", "gp", day(100), ("X", "patient", "uprn:12"))
    w.add("g2", "health", "gp", day(190), ("X", "patient", "uprn:98", "oak road"))
    w.add("e2", "social_care", "neglect", day(200), ("B", "subject_child", "uprn:12"), rag="red")
    w.add("g3", "health", "gp", day(260), ("X", "patient", "uprn:12"))
    w.add("e3", "police", "violence", day(400), ("C", "victim", "uprn:13"), ("X", "witness", None))
    assert w.run(home_spells=False) == []
    assert w.run() == ["X"]


def test_a_street_without_a_number_does_not_move_a_man_in_next_door():
    """Y lives at uprn:1 (every record naming a home says so); one record of his gives the street
    alone, which address resolution put in the neighbours' house (uprn:2) just before their child D
    was harmed there. With his home spells he did not live there; by all his records he did."""
    w = World()
    w.add("e1", "police", "violence", day(10), ("A", "victim", "uprn:11"), ("Y", "suspect", None))
    w.add("g1", "health", "gp", day(100), ("Y", "patient", "uprn:1"))
    w.add("g2", "health", "gp", day(195), ("Y", "patient", "uprn:2", "wren crescent"))
    w.add("e2", "social_care", "neglect", day(200), ("D", "subject_child", "uprn:2"), rag="red")
    w.add("g3", "health", "gp", day(300), ("Y", "patient", "uprn:1"))
    w.add("e3", "police", "violence", day(400), ("C", "victim", "uprn:13"), ("Y", "witness", None))
    assert w.run(by_home=False) == ["Y"]
    assert w.run() == []


def test_a_man_on_either_side_of_a_move_the_records_leave_open_is_near_the_harm():
    """X's last record at B's home (uprn:12) is 10 days before B's harm, his next a week after it at a
    second address he gives once (uprn:98): by the midpoint he had moved; he may as well not have.
    With the gap over the limit (his records at day 50 and 250) the midpoint (day 150) stands."""
    def world(home_day: int = 190, next_day: int = 207) -> World:
        w = World()
        w.add("e1", "police", "violence", day(10), ("A", "victim", "uprn:11"), ("X", "suspect", None))
        w.add("g1", "health", "gp", day(home_day), ("X", "patient", "uprn:12"))
        w.add("e2", "social_care", "neglect", day(200), ("B", "subject_child", "uprn:12"), rag="red")
        w.add("g2", "health", "gp", day(next_day), ("X", "patient", "uprn:98"))
        w.add("e3", "police", "violence", day(400), ("C", "victim", "uprn:13"), ("X", "witness", None))
        return w
    assert world().run(home_spells=False) == world().run() == []
    assert world().run(home_spells=False, move_gap=90) == world().run(move_gap=90) == ["X"]
    assert world(50, 250).run(move_gap=90) == []
    assert world(50, 250).run(move_gap=200) == ["X"]
