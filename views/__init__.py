"""Views: what people read (chronologies, network views, search, the metrics report)."""
