"""Subsidy programmes' money: what each funder owes (due, from the contribution schedule), has paid (subsidy
receipts) and still owes — the statement a scheme sends its funder."""
