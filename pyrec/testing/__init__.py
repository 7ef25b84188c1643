"""pyrec.testing."""
