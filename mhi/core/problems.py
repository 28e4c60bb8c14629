"""One shape for every refusal an API gives: RFC 9457 problem details (``application/problem+json``) under
``/api/``, a FHIR ``OperationOutcome`` under ``/fhir/``. Both are said in the caller's language (the account's,
or ``Accept-Language``): ``title`` is the HTTP status in words, ``detail`` says what was wrong and how to put it
right, and ``errors`` (problem details only) names each field that was refused.
"""

from __future__ import annotations

import json

from flask import Response, request
from flask_babel import lazy_gettext as _l

#: Paths whose answers are for programs, never pages: refusals there are JSON, never a redirect.
API_PREFIXES = ("/api/", "/fhir/")
FHIR_PREFIX = "/fhir/"

TITLES = {
    400: _l("Bad request"),
    401: _l("Authentication required"),
    403: _l("Forbidden"),
    404: _l("Not found"),
    405: _l("Method not allowed"),
    409: _l("Conflict"),
    413: _l("Body too large"),
    415: _l("Unsupported media type"),
    422: _l("Unprocessable content"),
    500: _l("Internal error"),
}

#: The FHIR issue type (http://hl7.org/fhir/issue-type) of each status.
FHIR_ISSUE_CODES = {
    400: "invalid",
    401: "login",
    403: "forbidden",
    404: "not-found",
    405: "not-supported",
    409: "conflict",
    413: "too-long",
    415: "not-supported",
    422: "processing",
    500: "exception",
}

#: Said when nothing more precise is known (an unknown address, a method the route does not answer, …).
DEFAULT_DETAILS = {
    400: _l("The request could not be read."),
    401: _l("Send an API token in the Authorization header: Authorization: Bearer <token>."),
    403: _l("Your account does not have the permission this needs."),
    404: _l("There is no such record, or it is not in your schemes."),
    405: _l("This address does not answer this method."),
    413: _l("The body is too large."),
    500: _l("Something went wrong on the server; nothing was saved."),
}


class Refused(Exception):
    """A request an API refuses: its status, what to say (a lazy string: said in the caller's language) and the
    refused fields. The API and FHIR blueprints answer it with ``problem`` after rolling back."""

    def __init__(self, status: int, detail, errors: dict | None = None):
        super().__init__(str(detail))
        self.status = status
        self.detail = detail
        self.errors = errors


def answer_refused(exc: Refused) -> Response:
    """The error handler of the API's blueprints: nothing the refused request did is kept."""
    from mhi.core.db import db

    db.session.rollback()
    return problem(exc.status, str(exc.detail), errors=exc.errors)


def is_api_request() -> bool:
    """True when the request is for the API or FHIR, or carries an API token (a program, not a person): its
    refusals are JSON, never a page (a page would also open a session for its forms)."""
    return request.path.startswith(API_PREFIXES) or "Authorization" in request.headers


def problem(status: int, detail: str | None = None, *, errors: dict | None = None, headers=None) -> Response:
    """A refusal in the shape of the address: OperationOutcome under /fhir/, problem details elsewhere."""
    detail = str(detail if detail is not None else DEFAULT_DETAILS.get(status, TITLES.get(status, "")))
    if request.path.startswith(FHIR_PREFIX):
        return operation_outcome(status, detail, errors=errors, headers=headers)
    body = {
        "type": "about:blank",
        "title": str(TITLES.get(status, status)),
        "status": status,
        "detail": detail,
        "instance": request.path,
    }
    if errors:
        body["errors"] = {key: str(value) for key, value in errors.items()}
    return _json(body, status, "application/problem+json", headers)


def operation_outcome(status: int, detail: str, *, errors: dict | None = None, headers=None) -> Response:
    """A FHIR R4 OperationOutcome: one issue with the detail, and one per refused element."""
    code = FHIR_ISSUE_CODES.get(status, "processing")
    issues = [{"severity": "error", "code": code, "diagnostics": str(detail)}]
    for key, value in (errors or {}).items():
        issues.append({"severity": "error", "code": code, "diagnostics": str(value), "expression": [str(key)]})
    body = {"resourceType": "OperationOutcome", "issue": issues}
    return _json(body, status, "application/fhir+json", headers)


def _json(body: dict, status: int, mimetype: str, headers) -> Response:
    """A JSON answer (UTF-8, no ASCII escapes: the detail is read by people)."""
    response = Response(json.dumps(body, ensure_ascii=False), status=status, mimetype=mimetype)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response
