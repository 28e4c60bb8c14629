"""Shared ground of every feature: the database handle, money, dates, errors and access rules."""
