"""Money as it moves in the field (issue 14): the scheme's payment operators, operators' statements matched to
households and reconciled by a clerk, and group payers whose one payment is split over their member households.

Receipts themselves stay in ``mhi.contributions`` (``record_receipt``); this feature decides *which* receipts an
operator's statement or a group's payment makes, and keeps the statement lines and group payments they came from.
"""
