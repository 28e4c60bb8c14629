"""Tests of the federation guarantee pool (pooling.md)."""
