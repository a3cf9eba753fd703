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
    [text] = in_words(store, ["MI-00000042W at uprn:100010005278; MI-00000099H at uprn:1; events police:I1, health:E9."],
                      date(2025, 10, 31))
    assert text == ("Sean Walsh (35, MI-00000042W) at 10 Sycamore St, NM7 0EX; MI-00000099H at uprn:1; "
                    "events police other on 2025-01-01, health:E9.")
    assert in_words(store, ["", "no ids here"], None) == ["", "no ids here"]


def test_events_and_records_in_words_oldest_first_whatever_the_id_shapes(store):
    """No id shape is assumed: a person id of another form, event keys and record ids that look
    like person ids are each recognised by what the store holds."""
    add_mention(store, "police", "P00000042", "PE7", "2025-05-02", "suspect", "domestic_abuse", "MP-0042",
                forename="mark", surname="hughes", dob="1988-02-03")
    add_mention(store, "social_care", "S1", "SC1", "2024-11-30", "subject_child", "cse", "MP-0042",
                forename="mark", surname="hughes", dob="1988-02-03")
    add_mention(store, "health", "H1", "HE1", "2025-01-15", "patient", "camhs", "MP-0042",
                forename="mark", surname="hughes", dob="1988-02-03")
    add_mention(store, "police", "P00000043", "PE8", "2025-06-01", "suspect", "domestic_abuse", "MP-0042",
                forename="mark", surname="hughes", dob="1988-02-03")
    [text] = in_words(store, ["MP-0042: harmed in 4 events (police:PE8, health:HE1, police:PE7, social_care:SC1); "
                              "recorded in tonight's drop (police:P00000042), reported by social_care. "
                              "Unknown: police:PE99, MP-0043."], date(2025, 10, 31))
    # oldest first, those of one kind together
    assert text == ("Mark Hughes (37, MP-0042): harmed in 4 events (children's social care child sexual exploitation "
                    "on 2024-11-30; health CAMHS on 2025-01-15; police domestic abuse on 2025-05-02, 2025-06-01); "
                    "recorded in tonight's drop (police domestic abuse on 2025-05-02 as suspect), reported by "
                    "children's social care. Unknown: police:PE99, MP-0043.")


def test_names_come_from_records_the_lens_shows(store):
    """A name only a hub_only record gives is never the one a viewer outside the hub reads; with no
    lens the name every viewer could read is still preferred."""
    from access.lens import Lens
    from findings.describe import people

    add_mention(store, "police", "1", "E1", "2025-01-01", "victim", "other", "P9", forename="zed",
                surname="secret", restriction="hub_only")
    add_mention(store, "police", "2", "E2", "2025-01-02", "victim", "other", "P9", forename="zed",
                surname="secret", restriction="hub_only")
    add_mention(store, "police", "3", "E3", "2025-01-03", "victim", "other", "P9", forename="ann",
                surname="open")
    assert people(store, ["P9"])["P9"]["name"] == "Ann Open"
    assert people(store, ["P9"], Lens.of(export=True))["P9"]["name"] == "Ann Open"
    store.execute("DELETE FROM person_mentions WHERE mention_id = 'police:3'")
    assert people(store, ["P9"])["P9"]["name"] == "Zed Secret"
    assert people(store, ["P9"], Lens.of(export=True)) == {}
