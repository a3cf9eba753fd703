"""Bottom floor: the store, configuration, errors, serialisation, schema and shipped defaults."""
