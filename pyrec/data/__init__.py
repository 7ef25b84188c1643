"""pyrec.data."""
