"""The OpenAPI document is generated from the code and lists every /api/v1 route; the documentation page is
served from it with local assets only."""

from __future__ import annotations

import re

from mhi.api.spec import openapi_path


def api_operations(app) -> set[tuple[str, str]]:
    """(path, method) of every /api/v1 route the application answers."""
    return {
        (openapi_path(rule.rule), method.lower())
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/v1/")
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }


def test_every_api_route_is_in_the_document(app, client):
    document = client.get("/api/openapi.json").get_json()

    documented = {(path, method) for path, operations in document["paths"].items() for method in operations}

    assert document["openapi"].startswith("3.")
    assert len(api_operations(app)) >= 15
    assert api_operations(app) - documented == set(), "routes missing from /api/openapi.json"
    assert documented - api_operations(app) == set(), "the document describes routes that do not exist"


def test_each_operation_says_what_it_reads_answers_and_needs(client):
    document = client.get("/api/openapi.json").get_json()
    schemas = document["components"]["schemas"]

    for path, operations in document["paths"].items():
        for method, op in operations.items():
            where = f"{method.upper()} {path}"
            assert op["summary"] and "Permission `" in op["description"], where
            assert op["security"] == [{"bearer": []}], where
            assert {"401", "403"} <= set(op["responses"]), where
            ok = next(code for code in op["responses"] if code.startswith("2"))
            assert op["responses"][ok]["content"]["application/json"]["schema"], where
            if method in ("post", "patch"):
                assert op["requestBody"]["content"]["application/json"]["schema"]["$ref"], where
            names = set(re.findall(r"{(\w+)}", path))
            assert names == {p["name"] for p in op["parameters"] if p["in"] == "path"}, where
    refs = set(re.findall(r'"#/components/schemas/(\w+)"', client.get("/api/openapi.json").get_data(as_text=True)))
    assert refs <= set(schemas)
    amount = schemas["ReceiptIn"]["properties"]["amount"]
    assert amount["type"] == "string"


def test_the_documentation_page_is_served_with_local_assets(client):
    page = client.get("/api/docs")
    html = page.get_data(as_text=True)

    assert page.status_code == 200
    assert "POST /api/v1/schemes/{code}/claims" in html and "ClaimIn" in html
    assert not re.search(r'<(script|link)[^>]+(src|href)="(https?:)?//', html), "an asset from another site"
