"""The API routes, one module per family (create_app wires them)."""
