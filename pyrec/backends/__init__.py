"""pyrec.backends."""
