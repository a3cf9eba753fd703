"""Findings: what the hub learns from the linked data (analytics, alerts, runs, metrics)."""
