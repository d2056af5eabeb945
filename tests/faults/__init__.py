"""Fault injection under load: `make test-faults` (docs in test_faults.py)."""
