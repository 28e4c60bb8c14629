"""The API's field errors in the caller's language (issue 16): marshmallow's own messages ("Missing data for
required field.", "Not a valid date.", …) are message ids of the catalogue, said in French to a French caller
(Accept-Language or the account's language) and in English to an English one."""

from __future__ import annotations

import inspect

import pytest
from marshmallow import fields

from mhi.api import schemas
from mhi.api.schemas import MARSHMALLOW_MESSAGES, VALIDATOR_MESSAGES, Strict
from tests.api.helpers import bearer, token_for, two_schemes
from tests.factories import make_user, records

BAD_HOUSEHOLD = {
    "ref": "H-9",
    "product_code": "BASE",
    "colour": "blue",
    "persons": [
        {"first_name": "Awa", "sex": "X", "date_of_birth": "1985-13-02", "relationship": "head",
         "enrolment_date": "2025-01-10"},
    ],
}  # fmt: skip


@pytest.fixture
def world(app):
    found = two_schemes(app)
    with records(app) as session:
        french = make_user(session, "clerk", found["a"], locale="fr")
    found["french_account"] = token_for(app, french)
    return found


def _messages(field: fields.Field) -> list[str]:
    """Every message ``field`` (its validators, its list items) may give."""
    texts = list(field.error_messages.values())
    for validator in field.validators:
        texts += [
            getattr(validator, name) for name in VALIDATOR_MESSAGES if isinstance(getattr(validator, name, None), str)
        ]
    if isinstance(getattr(field, "inner", None), fields.Field):
        texts += _messages(field.inner)
    return texts


def test_every_message_of_the_request_schemas_is_marked():
    """A field or validator added to a request schema (or a marshmallow upgrade) with a message the catalogue
    does not have fails here; the Amount field's own messages are gettext'd where it raises them."""
    strict = [cls for _, cls in inspect.getmembers(schemas, inspect.isclass) if issubclass(cls, Strict)]
    assert len(strict) > 10
    unmarked = set()
    for cls in strict:
        schema = cls()
        unmarked |= {text for text in schema.error_messages.values() if text not in MARSHMALLOW_MESSAGES}
        for field in schema.fields.values():
            unmarked |= {text for text in _messages(field) if text not in MARSHMALLOW_MESSAGES}
    assert unmarked == set()


def test_the_check_would_find_an_unmarked_message():
    field = fields.Email()
    assert "Not a valid email address." in _messages(field)
    assert "Not a valid email address." not in MARSHMALLOW_MESSAGES


def post_bad_household(client, headers):
    answer = client.post("/api/v1/schemes/MUT-A/households", json=BAD_HOUSEHOLD, headers=headers)
    assert answer.status_code == 400
    return answer.get_json()["errors"]


def test_a_french_caller_reads_the_field_errors_in_french(client, world):
    errors = post_bad_household(client, bearer(world["tokens"]["clerk"], **{"Accept-Language": "fr"}))
    assert errors == {
        "colour": "Champ inconnu.",
        "persons[0].last_name": "Donnée manquante pour un champ obligatoire.",
        "persons[0].sex": "Doit être l'une des valeurs suivantes : F, M.",
        "persons[0].date_of_birth": "Ce n'est pas une date valide.",
    }
    args = client.get(
        "/api/v1/schemes/MUT-A/households?page=0&per_page=abc&struck_off=maybe",
        headers=bearer(world["tokens"]["clerk"], **{"Accept-Language": "fr"}),
    ).get_json()["errors"]
    assert args == {
        "page": "Doit être supérieur ou égal à 1.",
        "per_page": "Ce n'est pas un nombre entier valide.",
        "struck_off": "Ce n'est pas un booléen valide (true ou false).",
    }


def test_an_account_in_french_reads_them_in_french_without_asking(client, world):
    errors = post_bad_household(client, bearer(world["french_account"]))
    assert errors["persons[0].last_name"] == "Donnée manquante pour un champ obligatoire."
    args = client.get("/api/v1/schemes/MUT-A/households?per_page=500", headers=bearer(world["french_account"]))
    assert args.get_json()["errors"] == {"per_page": "Doit être compris entre 1 et 200."}


def test_an_english_caller_reads_marshmallows_english(client, world):
    """The same request in English, after a French one (a translated message never stays on a shared schema)."""
    post_bad_household(client, bearer(world["tokens"]["clerk"], **{"Accept-Language": "fr"}))
    errors = post_bad_household(client, bearer(world["tokens"]["clerk"], **{"Accept-Language": "en"}))
    assert errors == {
        "colour": "Unknown field.",
        "persons[0].last_name": "Missing data for required field.",
        "persons[0].sex": "Must be one of: F, M.",
        "persons[0].date_of_birth": "Not a valid date.",
    }
    args = client.get("/api/v1/schemes/MUT-A/households?page=0", headers=bearer(world["tokens"]["clerk"]))
    assert args.get_json()["errors"] == {"page": "Must be greater than or equal to 1."}
