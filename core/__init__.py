"""The bottom floor: the store (the only module that opens DuckDB), configuration, errors,
serialisation, the schema and the shipped defaults. It imports nothing else of ours."""
