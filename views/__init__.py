"""What people read: chronologies, network views and search, each read through a reader."""
