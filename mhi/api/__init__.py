"""The REST API under /api/v1 and its OpenAPI description (mhi/api/views.py, mhi/api/spec.py)."""
