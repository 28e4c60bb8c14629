"""Contributions: periods, subsidy shares, payment allocation, coverage and strike-off (contributions.md).

``rules`` is the pure engine (no database): the database layer bulk-loads a household's rows into a
``HouseholdInput``, calls ``build_ledger`` once, and asks the ledger for coverage spans and report amounts.
"""
