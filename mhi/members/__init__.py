"""The register: households and persons, enrolment, newborns, exits, search, and the stored coverage spans
derived from contributions.md (refreshed whenever a household's people or receipts change)."""
