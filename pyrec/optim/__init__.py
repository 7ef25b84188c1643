"""pyrec.optim."""
