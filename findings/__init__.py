"""Findings: whole-population analytics, the triaged alert queue, nightly runs (the floor above graphs/ and linkage/)."""
