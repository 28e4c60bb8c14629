"""The federation guarantee pool (pooling.md).

Owns the pool's rules: each member scheme pays ``contribution_rate`` of its gross earned contributions,
the pool pays back the costly part of very large claims (excess-of-loss) and part of a bad year (stop-loss),
pro rata and rounded down when it is short. ``rules`` is the settlement arithmetic, ``stress`` the Monte
Carlo stress test.
"""
