"""The audit trail's pages: the auditor's filtered list with its CSV export, and one record's history (the
trail itself is written by ``mhi.core.audit``)."""
