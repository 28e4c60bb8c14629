"""Claims: receiving, deciding and paying the bills and cash events of members (adjudication.md).

Rules owned here: the thirteen checks in their order and the amount payable (tariff cap, coverage rate,
ceilings per case and per year, maximum cases), the duplicate rules, the co-payment, and officers'
overrides. ``rules`` is the pure decision engine; the database layer feeds it.
"""
