"""The one exception type that means "your input is wrong": callers turn it into exit 2 or a 4xx."""


class IntelError(Exception):
    """A refused input or request. The message says what is wrong and where."""


class NotFound(IntelError):
    """The thing asked for does not exist (a person, household, alert, record)."""


class Conflict(IntelError):
    """The request contradicts the store's state (a decision against an earlier one, a run already going)."""
