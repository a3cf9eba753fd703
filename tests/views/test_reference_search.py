"""Agency record references: parsed or refused with a message that says what is wrong."""

import pytest

from core.errors import IntelError
from views.reference_search import parse_reference


@pytest.mark.parametrize("text,expected", [
    ("police:P00001216", ("police", "P00001216")), (" social care / S1 ", ("social_care", "S1")),
    ("HEALTH H9", ("health", "H9")), ("police:a:b", ("police", "a:b")),
])
def test_references_parse(text, expected):
    assert parse_reference(text) == expected


@pytest.mark.parametrize("text,message", [
    ("", "reference is empty"), ("P00001216", "has no agency"), ("fire:F1", "agency 'fire' is not one of"),
    ("police:", "has no record id"), ("police:" + "x" * 200, "at most 140"),
])
def test_bad_references_are_refused_with_the_reason(text, message):
    with pytest.raises(IntelError, match=message):
        parse_reference(text)
