"""Near harm by a record naming only the street (graphs/street_near.py): hand-made rows, each
case checked against its counterpart that must not count."""

from __future__ import annotations

import copy
from datetime import date as D
from datetime import timedelta

import polars as pl

from core.config import load_config
from graphs.pipeline import compute_all
from graphs.street_near import near_by_street, street_alone

T0 = D(2023, 1, 1)


def day(n: int) -> D:
    return T0 + timedelta(days=n)


def frame(*rows: tuple) -> pl.DataFrame:
    """Rows ``(person, day, address, postcode, uprn, household_key)``."""
    return pl.DataFrame([dict(person_id=p, date=day(d), address=a, postcode=pc, uprn=u, household_key=hh)
                         for p, d, a, pc, u, hh in rows],
                        schema={"person_id": pl.Utf8, "date": pl.Date, "address": pl.Utf8, "postcode": pl.Utf8,
                                "uprn": pl.Utf8, "household_key": pl.Utf8})


FAMILY = (("kid", 0, "1 fairfield drive", "E4 3LY", None, "uprn:1"),
          ("kid", 200, "1 fairfield drive eastbridge", "E4 1AA", None, "uprn:1"))
HARM = pl.DataFrame({"event_key": ["police:E1"], "date": [day(100)], "harmed_person": ["kid"],
                     "household_key": ["uprn:1"]})


def test_street_alone_records_are_those_without_a_number_or_uprn():
    f = frame(("a", 0, "fairfield drive eastbridge", "E4 3LY", None, "uprn:9"),
              ("a", 1, "1 fairfield drive", "E4 3LY", None, "uprn:1"),
              ("a", 2, "fairfield drive", "E4 3LY", "1", "uprn:1"),
              ("a", 3, "fairfield drive", None, None, None))
    assert street_alone(f).select("date", "_w").rows() == [(day(0), "E4|fairfield drive")]


def test_a_street_alone_record_days_from_the_harm_puts_him_near_it():
    man = ("man", 89, "fairfield drive", "E4 1AA", None, "uprn:7")   # placed in another house
    near = near_by_street(frame(*FAMILY, man), HARM, 30)
    assert near.rows() == [("man", "police:E1", day(100), "kid", "uprn:1")]
    assert near_by_street(frame(*FAMILY, man), HARM, 10).height == 0       # 11 days away
    assert near_by_street(frame(*FAMILY, man), HARM, 0).height == 0        # off


def test_not_near_by_a_street_of_another_district_or_another_street():
    other_district = ("man", 95, "fairfield drive", "W4 1AA", None, None)
    other_street = ("man", 95, "fairfield road", "E4 3LY", None, None)
    assert near_by_street(frame(*FAMILY, other_district, other_street), HARM, 30).height == 0


def test_his_own_home_on_that_street_written_short_does_not_count():
    """A neighbour with a numbered record on the street: his street-alone record is his home."""
    rows = (("man", 95, "fairfield drive", "E4 3LY", None, "uprn:7"),
            ("man", 300, "5 fairfield drive", "E4 3LY", None, "uprn:5"))
    assert near_by_street(frame(*FAMILY, *rows), HARM, 30).height == 0
    assert near_by_street(frame(*FAMILY, rows[0]), HARM, 30).height == 1


def test_near_harm_at_two_homes_of_the_street_is_near_neither():
    """Two harmed homes on the street: which one his street-alone records name is not known."""
    other = (("kid2", 0, "3 fairfield drive", "E4 3LY", None, "uprn:3"),)
    harm2 = pl.concat([HARM, pl.DataFrame({"event_key": ["police:E2"], "date": [day(110)],
                                           "harmed_person": ["kid2"], "household_key": ["uprn:3"]})])
    man = ("man", 95, "fairfield drive", "E4 3LY", None, None)
    assert near_by_street(frame(*FAMILY, *other, man), harm2, 30).height == 0
    assert near_by_street(frame(*FAMILY, *other, man), HARM, 30).height == 1


def test_the_harmed_person_is_not_near_their_own_harm():
    kid = ("kid", 95, "fairfield drive", "E4 1AA", None, None)
    assert near_by_street(frame(FAMILY[0], kid), HARM, 30).height == 0


def test_the_rule_finds_the_man_whose_one_record_with_a_family_names_only_its_street():
    """X is in the harm events at A's home and C's; his one record while he lived with B's
    family is "oak road" (placed by dwelling resolution in another house, uprn:99), a month
    before B is harmed at 4 oak road. Found with ``harm_street_days``, not without."""
    rows = []

    def add(event, source, etype, d, person, role, hh, address, postcode, rag=None):
        rows.append(dict(mention_id=f"{source}:r{len(rows)}", event_key=f"{source}:{event}", source=source,
                         event_type=etype, role=role, date=day(d), person_id=person, household_key=hh,
                         household_key_sent=hh, dob=None, dash_risk=None, initial_rag=None, final_rag=rag,
                         presentation=None, safeguarding_concern=None, address=address, postcode=postcode,
                         uprn=None))

    add("e1", "police", "violence", 10, "A", "victim", "uprn:11", "2 elm street", "E1 2AB")
    add("e1", "police", "violence", 10, "X", "suspect", None, None, None)
    add("g1", "health", "gp", 170, "X", "patient", "uprn:99", "oak road", "E4 1AA")
    add("g2", "health", "gp", 100, "B", "patient", "uprn:12", "4 oak road", "E4 3LY")
    add("e2", "social_care", "neglect", 200, "B", "subject_child", "uprn:12", "4 oak road", "E4 3LY", rag="red")
    add("e3", "police", "violence", 400, "C", "victim", "uprn:13", "9 ash lane", "W2 5CD")
    add("e3", "police", "violence", 400, "X", "witness", None, None, None)
    cfg = copy.deepcopy(load_config())

    def found(days: int) -> list[str]:
        cfg["analytics"]["households"]["harm_street_days"] = days
        f = compute_all(pl.DataFrame(rows, infer_schema_length=None), cfg)["findings"]
        return sorted(f.filter(pl.col("rule") == "harm_proximity")["person_id"].to_list())

    assert found(0) == []
    assert found(30) == ["X"]
    assert found(20) == []
