"""Feasibility study (feasibility.md, ILO STEP method): what a person must pay, whether they can pay it, how
many members the scheme needs to break even, how its first years look and how sensitive that is to the
assumptions.

Pure computation from a study JSON — no database: ``method`` validates and runs a study, ``pdf`` prints it.
"""
