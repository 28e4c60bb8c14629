"""Monitoring reports: the indicators of indicators.md for a scheme and a federation, on screen, as JSON, CSV
and PDF. Reports only read (module layout: reports come last in the import chain)."""
