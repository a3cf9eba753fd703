"""Words, not codes: reasons with names, ages and addresses as recorded (findings.describe)."""

from __future__ import annotations

from datetime import date

from findings.describe import in_words
from tests.views.test_chronology import add_mention


def test_ids_become_names_ages_and_addresses_as_recorded(store):
    add_mention(store, "police", "1", "I1", "2025-01-01", "victim", "other", "MI-00000042W", forename="sean",
                surname="walsh", dob="1990-06-01", household="uprn:100010005278")
    add_mention(store, "health", "2", "E2", "2025-02-01", "patient", "gp", "MI-00000042W", forename="shaun",
                surname="walsh", dob="1990-06-01", household="uprn:100010005278")
    add_mention(store, "health", "3", "E3", "2025-03-01", "patient", "gp", "MI-00000042W", forename="sean",
                surname="walsh", dob="1990-06-01", household="uprn:100010005278")
    store.execute("UPDATE mentions SET address_raw = '10 Sycamore St', postcode = 'NM7 0EX'")
    [text] = in_words(store, ["MI-00000042W at uprn:100010005278; MI-00000099H at uprn:1; events police:I1."],
                      date(2025, 10, 31))
    assert text == "Sean Walsh (35, MI-00000042W) at 10 Sycamore St, NM7 0EX; MI-00000099H at uprn:1; events police:I1."
    assert in_words(store, ["", "no ids here"], None) == ["", "no ids here"]
