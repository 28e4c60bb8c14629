"""The API's read side: pages of households, persons and claims (one query each, ``per_page + 1`` rows to know
whether a next page exists, never a count over the register), and the shapes the schemas dump."""

from __future__ import annotations

from sqlalchemy import select

from mhi.claims.models import Claim
from mhi.core import clock
from mhi.core.money import money_str
from mhi.members.models import Household, Person
from mhi.members.queries import product_id_on, search_register
from mhi.schemes.models import Product


def _window(query, args: dict):
    """The page's rows, plus one to tell whether another page follows."""
    return query.offset((args["page"] - 1) * args["per_page"]).limit(args["per_page"] + 1)


def households(session, scheme, args: dict) -> list[tuple[Household, str]]:
    """(household, product code) by reference, filtered by village, reference prefix and strike-off."""
    query = (
        select(Household, Product.code)
        .join(Product, product_id_on(clock.today()) == Product.id)  # the product on the day asked
        .where(Household.scheme_id == scheme.id)
        .order_by(Household.ref)
    )
    if args.get("village"):
        query = query.where(Household.village == args["village"])
    if args.get("ref"):
        query = query.where(Household.ref.startswith(args["ref"], autoescape=True))
    if args.get("struck_off") is True:
        query = query.where(Household.strike_off_date.is_not(None))
    elif args.get("struck_off") is False:
        query = query.where(Household.strike_off_date.is_(None))
    return list(session.execute(_window(query, args)))


def persons(session, scheme, args: dict) -> list[tuple[Person, str]]:
    """(person, household ref): the register search's hits for ``q``, else by member number."""
    if args.get("q"):
        page = search_register(session, scheme.id, args["q"], page=args["page"], per_page=args["per_page"])
        ids = [hit.person_id for hit in page.items]
        found = {
            p.id: (p, ref)
            for p, ref in session.execute(
                select(Person, Household.ref)
                .join(Household, Person.household_id == Household.id)
                .where(Person.id.in_(ids))
            )
        }
        rows = [found[i] for i in ids]
        return rows + ([rows[-1]] if page.has_next else [])  # the extra row says "a next page exists"
    query = (
        select(Person, Household.ref)
        .join(Household, Person.household_id == Household.id)
        .where(Person.scheme_id == scheme.id)
        .order_by(Person.member_no)
    )
    if args.get("household"):
        query = query.where(Household.ref == args["household"])
    return list(session.execute(_window(query, args)))


def claims(session, scheme, args: dict, *, provider_id: int | None = None) -> list[Claim]:
    """Claims newest first, by status and member number; of one provider when ``provider_id`` is given (a
    facility account's)."""
    query = select(Claim).where(Claim.scheme_id == scheme.id).order_by(Claim.id.desc())
    if provider_id is not None:
        query = query.where(Claim.provider_id == provider_id)
    if args.get("status"):
        query = query.where(Claim.status == args["status"])
    if args.get("member_no"):
        query = query.where(Claim.member_no == args["member_no"])
    return list(session.scalars(_window(query, args)))


def person_view(person: Person, household_ref: str) -> dict:
    """A person as ``PersonOut`` dumps it."""
    return {
        "member_no": person.member_no,
        "household_ref": household_ref,
        "first_name": person.first_name,
        "last_name": person.last_name,
        "sex": person.sex,
        "date_of_birth": person.date_of_birth,
        "relationship": person.relation,
        "enrolment_date": person.enrolment_date,
        "exit_date": person.exit_date,
        "village": person.village,
        "phone": person.phone,
    }


def household_view(household: Household, product_code: str, *, with_persons: bool = False) -> dict:
    """A household as ``HouseholdOut`` dumps it (its persons loaded only for one household)."""
    view = {
        "ref": household.ref,
        "product_code": product_code,
        "category": household.category,
        "village": household.village,
        "phone": household.phone,
        "enrolment_date": household.enrolment_date,
        "exit_date": household.exit_date,
        "strike_off_date": household.strike_off_date,
    }
    if with_persons:
        view["persons"] = [person_view(p, household.ref) for p in household.persons]
    return view


def receipt_view(receipt, household_ref: str, currency: str, *, original=None) -> dict:
    """A receipt as ``ReceiptOut`` dumps it (amounts in the currency's decimals)."""
    return {
        "receipt_no": receipt.receipt_no,
        "household_ref": household_ref,
        "date": receipt.date,
        "amount": money_str(receipt.amount, currency),
        "method": receipt.method,
        "collector": receipt.collector,
        "reversal_of": original.receipt_no if original is not None else None,
        "reason": receipt.reason or "",
    }
