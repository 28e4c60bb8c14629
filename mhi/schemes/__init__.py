"""Federations, schemes, products (effective-dated versions with their benefits), subsidy programmes,
providers and running expenses; loading them from federation.json and scheme.json (data-formats.md)."""
