"""The OpenAPI 3 document of ``/api/v1``, generated from the code by apispec and its marshmallow plugin: every
route of the API blueprint is walked, and each view's ``api_doc`` (``mhi/api/views.py``) gives its summary and
the schemas it reads and answers with — the same schemas that read the requests. A route added without being
described fails ``tests/api/test_openapi.py``. ``/api/docs`` shows the document as a page of our own (no
script, no CDN: the server renders it).
"""

from __future__ import annotations

import re

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Blueprint, current_app, jsonify, render_template

from mhi.api import schemas
from mhi.core.access import PERMISSIONS, public

docs_bp = Blueprint("api_docs", __name__)

API_PREFIX = "/api/v1/"
_ARGUMENT = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")

DESCRIPTION = """\
The API of mhi, for a health facility's billing software, a national information system or a federation's
data warehouse. Authenticate with an API token (made with `flask --app mhi token create EMAIL` or on the
account page) in the Authorization header: `Authorization: Bearer <token>` — never in the address. A token acts
as its account: the same role, the same schemes. Amounts are strings of digits (`"1500.50"`), or integers in
requests; a float is refused. Every refusal is RFC 9457 problem details (`application/problem+json`) in the
language of `Accept-Language`, else the account's. FHIR R4 is served at `/fhir/r4` (see `docs/fhir.md`)."""

STATUS_TEXT = {
    400: "the query or body cannot be read (each refused field in `errors`)",
    401: "no token, or an unknown, revoked or expired one",
    403: "the account's role does not hold the permission",
    404: "no such record in the account's schemes",
    409: "a conflict (a claim_ref already used; schemes in different currencies)",
    413: "the body is too large",
    415: "the body is not JSON",
    422: "refused by the scheme's rules (each refused field in `errors`); nothing was saved",
}


def openapi_path(rule: str) -> str:
    """``/schemes/<code>/claims/<int:id>`` → ``/schemes/{code}/claims/{id}``."""
    return _ARGUMENT.sub(r"{\1}", rule)


def _tag(rule: str) -> str:
    """The group a route is listed under: what it is about (households, claims, report, …)."""
    parts = rule.split("/")
    return parts[5] if len(parts) > 5 else parts[3]


def _operation(rule, view, method: str) -> dict:
    """One operation object from the view's ``api_doc`` and its declared permission."""
    doc = view.api_doc
    permission = view.required_permission
    roles = sorted(PERMISSIONS[permission] | {"admin"})
    operation: dict = {
        "operationId": rule.endpoint.split(".", 1)[1],
        "summary": doc["summary"],
        "description": f"{doc['description']}\n\nPermission `{permission}`: {', '.join(roles)}.",
        "tags": [_tag(rule.rule)],
        "security": [{"bearer": []}],
        "parameters": [
            {"in": "path", "name": name, "required": True, "schema": {"type": "string"}} for name in rule.arguments
        ],
        "responses": {
            str(doc["status"]): {
                "description": "the answer",
                "content": {"application/json": {"schema": doc["answer"]}},
            },
        },
    }
    if doc["args"] is not None:
        operation["parameters"].append({"in": "query", "schema": doc["args"]})
    if doc["body"] is not None:
        operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": doc["body"]}}}
    for status in sorted({401, 403, *doc["errors"]}):
        operation["responses"][str(status)] = {
            "description": STATUS_TEXT[status],
            "content": {"application/problem+json": {"schema": "Problem"}},
        }
    return operation


def build(app) -> dict:
    """The OpenAPI document of every ``/api/v1`` route of ``app``."""
    plugin = MarshmallowPlugin()
    spec = APISpec(
        title="mhi API",
        version="1",
        openapi_version="3.0.3",
        plugins=[plugin],
        info={"description": DESCRIPTION},
        servers=[{"url": "/"}],
    )
    plugin.map_to_openapi_type(schemas.Amount, "string", None)
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    spec.components.schema("Problem", schema=schemas.Problem)
    paths: dict[str, dict] = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if not rule.rule.startswith(API_PREFIX):
            continue
        view = app.view_functions[rule.endpoint]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            paths.setdefault(openapi_path(rule.rule), {})[method.lower()] = _operation(rule, view, method)
    for path, operations in paths.items():
        spec.path(path=path, operations=operations)
    return spec.to_dict()


def document() -> dict:
    """The application's document, built once (the routes do not change while it runs)."""
    cache = current_app.extensions.setdefault("mhi_openapi", {})
    if "document" not in cache:
        cache["document"] = build(current_app)
    return cache["document"]


@docs_bp.get("/api/openapi.json")
@public
def openapi_json():
    """The OpenAPI 3 document (public: it describes the API, it holds no data)."""
    return jsonify(document())


@docs_bp.get("/api/docs")
@public
def page():
    """The API's documentation page, rendered from the same document."""
    return render_template("api/docs.html", spec=document())


def init_app(app) -> None:
    """Register the description's routes."""
    app.register_blueprint(docs_bp)
