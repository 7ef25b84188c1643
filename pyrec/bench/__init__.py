"""pyrec.bench."""
