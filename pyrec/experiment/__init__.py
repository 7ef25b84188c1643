"""pyrec.experiment."""
