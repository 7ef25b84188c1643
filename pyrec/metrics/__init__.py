"""pyrec.metrics."""
