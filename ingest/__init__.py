"""Ingest floor: reading, checking, encoding and loading the agencies' extracts."""
