"""What the hub should know: whole-population analytics, alerts and the nightly run."""
