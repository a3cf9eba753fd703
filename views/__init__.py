"""Views floor: chronologies, network views and search, read from the store."""
