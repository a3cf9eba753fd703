"""Data in: the extract contract, normalisation, agency column mappings and loading a drop."""
