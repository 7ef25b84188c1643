"""pyrec.train."""
