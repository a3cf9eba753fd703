"""What the hub should know: whole-population analytics, alerts, the nightly run and the hub's performance metrics."""
