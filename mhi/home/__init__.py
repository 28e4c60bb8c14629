"""The dashboard: the landing page of a signed-in user (their schemes, live figures, links by role)."""
