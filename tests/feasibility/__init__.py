"""Tests of the feasibility study (feasibility.md)."""
