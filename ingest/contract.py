"""The extract contract, version 1 (``../shared/spec/extracts.md``), as data.

Everything that validates or interprets an agency's extract reads its rules from here, so a
change to the contract is a change to this one module.
"""

from __future__ import annotations

CONTRACT_VERSION = 1

SOURCES = ("police", "social_care", "health")

# Columns every source has, in contract order.
COMMON_COLUMNS = (
    "record_id",
    "event_id",
    "event_date",
    "role",
    "event_type",
    "person_ref",
    "forename",
    "middle_names",
    "surname",
    "dob",
    "sex",
    "address",
    "postcode",
    "uprn",
    "borough",
    "restriction",
)
REQUIRED_COLUMNS = ("record_id", "event_id", "event_date", "role", "event_type")

# A row needs at least this many of these identifiers, or it cannot be linked at all.
IDENTIFIER_COLUMNS = ("forename", "surname", "dob", "person_ref")
MIN_IDENTIFIERS = 2

SEXES = ("M", "F", "U")
RESTRICTIONS = ("none", "hub_only", "health_confidential")

EVENT_TYPES = {
    "police": (
        "domestic_abuse", "child_concern", "missing_person", "sexual_offence", "violence",
        "cse_concern", "criminal_exploitation", "mental_health", "antisocial_behaviour", "other",
    ),
    "social_care": (
        "neglect", "physical_abuse", "sexual_abuse", "emotional_abuse", "domestic_abuse", "cse",
        "criminal_exploitation", "missing", "parental_mental_health", "parental_substance_misuse",
        "child_mental_health", "family_situation", "child_needs", "other",
    ),
    "health": (
        "emergency_department", "minor_injuries", "maternity", "health_visiting",
        "school_nursing", "gp", "camhs", "ambulance", "sexual_health",
    ),
}

ROLES = {
    "police": ("victim", "suspect", "witness", "child_present", "subject", "reporting_person", "other"),
    "social_care": (
        "subject_child", "sibling", "parent_carer", "household_member", "alleged_perpetrator", "other",
    ),
    "health": ("patient", "parent_carer", "accompanying_adult", "other"),
}

# Source-specific columns: name -> allowed values (None = free text, "date" / "datetime" / "bool").
SOURCE_COLUMNS: dict[str, dict[str, tuple[str, ...] | str | None]] = {
    "police": {
        "dash_risk": ("standard", "medium", "high"),
        "location_postcode": None,
        "location_uprn": None,
    },
    "social_care": {
        "referral_source": (
            "police", "health", "education", "self", "family", "public", "anonymous", "other_la", "other",
        ),
        "initial_rag": ("red", "amber", "green"),
        "final_rag": ("blue", "green", "amber", "red"),
        "decision_date": "datetime",
        "outcome": (
            "nfa", "universal_services", "early_help", "assessment", "strategy_discussion",
            "s47_enquiry", "care_proceedings", "other",
        ),
    },
    "health": {
        "presentation": (
            "injury", "head_injury", "fracture", "burn", "self_harm", "overdose", "assault",
            "substance_misuse", "pregnancy", "mental_health", "neglect_concern", "other",
        ),
        "safeguarding_concern": "bool",
    },
}

# Every source-specific column of any source: the events table carries them all.
ALL_SOURCE_COLUMNS = tuple(c for cols in SOURCE_COLUMNS.values() for c in cols)

# Longest value, in characters, of each column (a service extension of the contract, declared in
# docs/ingest.md): a row with a longer value goes to quarantine with the reason, and the value is
# cut to this length in the quarantine's copy of the row. Columns not named here: DEFAULT_MAX_LENGTH.
MAX_LENGTHS = {
    "record_id": 64, "event_id": 64, "person_ref": 64, "uprn": 20, "location_uprn": 20,
    "forename": 100, "surname": 100, "middle_names": 200, "address": 400, "postcode": 16,
    "location_postcode": 16, "borough": 100, "event_date": 40, "dob": 40, "decision_date": 40,
}
DEFAULT_MAX_LENGTH = 100

# Roles that make a person an alleged offender in an event.
OFFENDER_ROLES = ("suspect", "alleged_perpetrator")


def source_of_file(file_name: str) -> str | None:
    """The source a drop file belongs to by its name (``police*.csv`` ...), or None."""
    lower = file_name.lower()
    if not (lower.endswith(".csv") or lower.endswith(".parquet")):
        return None
    # social_care before others: no other source name is a prefix of it, but be explicit.
    for source in sorted(SOURCES, key=len, reverse=True):
        if lower.startswith(source):
            return source
    return None
