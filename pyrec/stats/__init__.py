"""pyrec.stats."""
