"""pyrec.report."""
