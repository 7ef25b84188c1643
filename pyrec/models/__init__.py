"""pyrec.models."""
