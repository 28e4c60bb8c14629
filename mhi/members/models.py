"""Households and persons.

``Household.strike_off_date`` and ``Household.exit_date`` are derived data, like the coverage spans beside them
(``mhi.contributions.models.CoverageSpan``): they are recomputed by ``mhi.contributions.services.refresh_households`` from the register and the receipts whenever either
changes, so that "who is covered on D" and exposure are SQL queries, not Python loops over the register.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    String,
    UniqueConstraint,
    func,
    literal_column,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mhi.core.db import db

SEARCH_KEY = String(100).with_variant(String(100, collation="C"), "postgresql")


class Household(db.Model):
    """A household: the unit that buys cover, with one product and one category."""

    __table_args__ = (
        UniqueConstraint("scheme_id", "ref"),
        # What a person's foreign key refers to: their household, in their scheme (Person's table arguments); the
        # household's stored ledger and coverage spans refer to it the same way (contributions/models.py).
        UniqueConstraint("id", "scheme_id"),
        # A household's product is one of its scheme's: one foreign key on both columns, which checks the scheme
        # too (the product's own key names it). One check a household instead of two (issue 17).
        ForeignKeyConstraint(["product_id", "scheme_id"], ["product.id", "product.scheme_id"]),
        # The manager's lists (about to lapse, struck off) and the search by village (members/queries.py).
        Index("ix_household_scheme_strike_off", "scheme_id", "strike_off_date"),
        Index("ix_household_scheme_village", "scheme_id", "village", "ref"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    scheme_id: Mapped[int] = mapped_column(index=True)
    ref: Mapped[str] = mapped_column(String(40))
    product_id: Mapped[int] = mapped_column()
    category: Mapped[str] = mapped_column(String(40), default="standard")
    village: Mapped[str] = mapped_column(String(100), default="")
    phone: Mapped[str] = mapped_column(String(40), default="")
    language: Mapped[str] = mapped_column(String(10), default="")
    enrolment_date: Mapped[date]  # the head's (data-formats.md)
    # Derived (see module docstring).
    exit_date: Mapped[date | None]
    strike_off_date: Mapped[date | None]
    previous_household_id: Mapped[int | None] = mapped_column(ForeignKey("household.id"))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())

    product = relationship("Product")
    persons = relationship("Person", back_populates="household", order_by="Person.member_no")
    previous = relationship("Household", remote_side=[id])


class Person(db.Model):
    """A beneficiary. ``member_no`` is unique in the scheme and printed on the card."""

    __table_args__ = (
        UniqueConstraint("scheme_id", "member_no"),
        # A person belongs to a household of their own scheme: one foreign key on both columns, so the scheme is
        # checked through the household (whose own key names the scheme). One check a row instead of two: a
        # national file inserts half a million persons (issue 17).
        ForeignKeyConstraint(["household_id", "scheme_id"], ["household.id", "household.scheme_id"]),
        CheckConstraint("sex IN ('F','M')", name="sex_known"),
        CheckConstraint("relationship IN ('head','spouse','child','parent','other')", name="relationship_known"),
        # Search (members/queries.py): prefix ranges on the folded names, and the phone's last digits (they
        # replace indexes on the raw last/first names and phone, which no query could use). The name indexes
        # end with the id, the search's last sort key: a page is read in index order, 26 entries, not sorted
        # from all the persons of a common name, and the name walk steps through them one probe at a time.
        Index("ix_person_scheme_last_first_id", "scheme_id", "last_key", "first_key", "id"),
        Index("ix_person_scheme_first_last_id", "scheme_id", "first_key", "last_key", "id"),
        # Only the persons with a phone: most have none (children), and every insert into this index cost the
        # persons' COPY of a national file ≈ 2.5 s of the server's 24 s, the empty keys included (issue 17). A
        # query uses it only when it says ``phone_key != ''`` itself (``WITH_PHONE``).
        Index(
            "ix_person_scheme_phone_key",
            "scheme_id",
            "phone_key",
            postgresql_where=text("phone_key <> ''"),
            sqlite_where=text("phone_key <> ''"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    scheme_id: Mapped[int] = mapped_column()
    household_id: Mapped[int] = mapped_column(index=True)
    member_no: Mapped[str] = mapped_column(String(40))
    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100))
    sex: Mapped[str] = mapped_column(String(1))
    date_of_birth: Mapped[date]
    # "relation" in Python: the name "relationship" would shadow SQLAlchemy's relationship() in this class.
    relation: Mapped[str] = mapped_column("relationship", String(10))
    enrolment_date: Mapped[date]
    exit_date: Mapped[date | None]
    exit_reason: Mapped[str] = mapped_column(String(20), default="")
    village: Mapped[str] = mapped_column(String(100), default="")
    phone: Mapped[str] = mapped_column(String(40), default="")
    national_id: Mapped[str] = mapped_column(String(40), default="")
    # Search keys (members.services.name_key / phone_key): names without accents or case, phone digits. "C"
    # collation on PostgreSQL so that a prefix is a plain byte range there as on SQLite, and the index serves it.
    last_key: Mapped[str] = mapped_column(SEARCH_KEY, default="")
    first_key: Mapped[str] = mapped_column(SEARCH_KEY, default="")
    phone_key: Mapped[str] = mapped_column(String(20), default="")
    photo: Mapped[bytes | None] = mapped_column(db.LargeBinary, deferred=True)

    household = relationship("Household", back_populates="persons")

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"


#: The condition of the partial phone index, for the queries on ``phone_key``: written into the statement, not bound
#: as a parameter, so that a plan made without the parameters' values (a statement the driver has prepared) can use
#: the index.
WITH_PHONE = Person.phone_key != literal_column("''")


class CategoryChange(db.Model):
    """A household's category from ``from_date`` on (data-formats.md categories.csv): the periods starting on or
    after it take that category's subsidy shares (contributions.md §2). Before the first change the household is
    in ``Household.category`` (the head's row of members.csv). Natural key (household, from_date); a row is never
    edited: a later change is a new row."""

    __tablename__ = "category_change"
    __table_args__ = (UniqueConstraint("household_id", "from_date"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scheme_id: Mapped[int] = mapped_column(ForeignKey("scheme.id"), index=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("household.id"), index=True)
    from_date: Mapped[date]
    category: Mapped[str] = mapped_column(String(40))
    reason: Mapped[str] = mapped_column(String(500), default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class ProductChange(db.Model):
    """The household buys ``product`` from ``from_date`` on (docs/decisions.md "Product changes", the
    product_changes.csv extension): contribution periods starting on or after it are due at that product's
    amount, claims with a service date on or after it follow its benefits. Before the first change the household
    has ``Household.product`` (the head's row of members.csv). Natural key (household, from_date); a row is never
    edited: a later change is a new row. Read through ``mhi.members.products``, the one "product on D"."""

    __tablename__ = "product_change"
    __table_args__ = (UniqueConstraint("household_id", "from_date"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scheme_id: Mapped[int] = mapped_column(ForeignKey("scheme.id"), index=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("household.id"), index=True)
    from_date: Mapped[date]
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"))
    reason: Mapped[str] = mapped_column(String(500), default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())

    product = relationship("Product")
