"""What people read: chronologies, network views, search (each read through a reader) and the metrics report."""
