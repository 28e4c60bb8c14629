"""Printed documents: member cards (batch-printed in the background), household statements and receipt slips.

Rules owned here (the contracts are silent on printing, so these are the project's own decisions):
- A card proves membership, not coverage: it shows "member since" and "valid while contributions are paid",
  and its QR code carries exactly the member number, which the eligibility page reads (contributions.md §4 is
  answered there, on the day of care, never by a date printed months earlier).
- One card per person or one per household, as the scheme's ``card_layout`` setting says.
- A statement or slip is printed in the household's language (else the scheme's), amounts formatted with Babel
  for that language and the scheme's country (conventions.md "Money").
"""
