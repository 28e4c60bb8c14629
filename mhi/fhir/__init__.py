"""FHIR R4 at ``/fhir/r4``: Patient, Coverage, eligibility and claims for health facilities' software, answered
by the same functions as the screens (docs/fhir.md)."""
