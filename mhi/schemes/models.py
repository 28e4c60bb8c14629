"""Scheme set-up. Rules are data: a product's contribution and benefits live in effective-dated versions, read
through ``ProductVersion.in_force``; nothing about a rule is a constant in code."""

from __future__ import annotations

import datetime as dt
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import JSON, CheckConstraint, ForeignKey, String, Text, UniqueConstraint, event, func, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mhi.core.db import Money, Rate, db


class Federation(db.Model):
    """A union of schemes sharing one currency; may run a guarantee pool."""

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    currency: Mapped[str] = mapped_column(String(3))

    schemes = relationship("Scheme", back_populates="federation", order_by="Scheme.code")
    pool_rules = relationship("PoolRules", back_populates="federation", order_by="PoolRules.effective_from")


class PoolRules(db.Model):
    """A federation's guarantee-pool rules from ``effective_from`` on (pooling.md); a change is a new row."""

    __tablename__ = "pool_rules"
    __table_args__ = (UniqueConstraint("federation_id", "effective_from"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    federation_id: Mapped[int] = mapped_column(ForeignKey("federation.id"))
    effective_from: Mapped[date]
    contribution_rate: Mapped[Decimal] = mapped_column(Rate())
    opening_balance: Mapped[Decimal] = mapped_column(Money())
    opening_date: Mapped[date]
    xol_threshold: Mapped[Decimal | None] = mapped_column(Money())
    xol_share: Mapped[Decimal | None] = mapped_column(Rate())
    xol_limit: Mapped[Decimal | None] = mapped_column(Money())
    sl_attachment_ratio: Mapped[Decimal | None] = mapped_column(Rate())
    sl_share: Mapped[Decimal | None] = mapped_column(Rate())

    federation = relationship("Federation", back_populates="pool_rules")


class Scheme(db.Model):
    """A mutuelle: its currency, target population, opening reserve and cash, and its settings."""

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    country: Mapped[str] = mapped_column(String(2))
    currency: Mapped[str] = mapped_column(String(3))
    locale: Mapped[str] = mapped_column(String(10), default="fr_SN")
    federation_id: Mapped[int | None] = mapped_column(ForeignKey("federation.id"), index=True)
    target_population: Mapped[int] = mapped_column(default=0)
    opening_date: Mapped[date]
    opening_reserve: Mapped[Decimal] = mapped_column(Money(), default=Decimal(0))
    opening_cash: Mapped[Decimal] = mapped_column(Money(), default=Decimal(0))
    # Settings a manager changes on screen: card layout ("person"/"household"), traffic-light thresholds.
    settings: Mapped[dict] = mapped_column(JSON, default=dict)
    logo: Mapped[bytes | None] = mapped_column(db.LargeBinary)

    federation = relationship("Federation", back_populates="schemes")
    products = relationship("Product", back_populates="scheme", order_by="Product.code")
    programmes = relationship("SubsidyProgramme", back_populates="scheme", order_by="SubsidyProgramme.position")
    providers = relationship("Provider", back_populates="scheme", order_by="Provider.code")


class PaymentOperator(db.Model):
    """A way money reaches the scheme other than cash: a mobile wallet (``wave``, ``orange_money``) or a bank.

    The scheme edits its own list (``mhi/schemes/operators.py``); a receipt names its operator by ``code`` and
    carries the operator's transaction id, unique per (scheme, operator). ``column_map`` and the two reading
    options say how the operator's own export file reads into data-formats.md's statement.csv.
    """

    __tablename__ = "payment_operator"
    __table_args__ = (
        UniqueConstraint("scheme_id", "code"),
        CheckConstraint("method IN ('mobile_money','bank')", name="method_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    scheme_id: Mapped[int] = mapped_column(ForeignKey("scheme.id"))
    code: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(100))
    method: Mapped[str] = mapped_column(String(20))
    active: Mapped[bool] = mapped_column(default=True)
    # statement.csv column → the operator's own column name; empty: the file has statement.csv's own columns.
    column_map: Mapped[dict] = mapped_column(JSON, default=dict)
    decimal_comma: Mapped[bool] = mapped_column(default=False)
    delimiter: Mapped[str] = mapped_column(String(1), default=",")


class Product(db.Model):
    """A benefit package sold by a scheme; its rules are in its versions."""

    __table_args__ = (
        UniqueConstraint("scheme_id", "code"),
        # What a household's foreign key refers to: its product, in its scheme (members/models.py).
        UniqueConstraint("id", "scheme_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    scheme_id: Mapped[int] = mapped_column(ForeignKey("scheme.id"))
    code: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(200))

    scheme = relationship("Scheme", back_populates="products")
    versions = relationship("ProductVersion", back_populates="product", order_by="ProductVersion.effective_from")


class ProductVersion(db.Model):
    """A product's contribution and claim rules from ``effective_from`` on. Rules never change retroactively.

    ``source`` is ``file`` for versions set up by ``scheme load`` (outside the application's approval) and
    ``app`` for versions made on screen, which need a feasibility study run within 12 months to be activated.
    """

    __tablename__ = "product_version"
    __table_args__ = (
        UniqueConstraint("product_id", "effective_from"),
        CheckConstraint("basis IN ('person','household')", name="basis_known"),
        CheckConstraint("period_months IN (1,3,12)", name="period_known"),
        CheckConstraint("status IN ('draft','active')", name="status_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"))
    effective_from: Mapped[date]
    status: Mapped[str] = mapped_column(String(10), default="active")
    source: Mapped[str] = mapped_column(String(10), default="file")
    basis: Mapped[str] = mapped_column(String(10))
    amount: Mapped[Decimal] = mapped_column(Money())
    period_months: Mapped[int]
    registration_fee: Mapped[Decimal] = mapped_column(Money(), default=Decimal(0))
    waiting_period_days: Mapped[int] = mapped_column(default=0)
    grace_period_days: Mapped[int] = mapped_column(default=0)
    lapse_after_days: Mapped[int | None]
    submission_limit_days: Mapped[int | None]
    # A child born into a member household and enrolled within this many days of birth is covered from birth
    # (adjudication.md "Start day and newborns"); None = no newborn rule.
    newborn_days: Mapped[int | None]
    study_id: Mapped[int | None] = mapped_column(ForeignKey("study.id"))
    # The resolution of the general assembly or board that adopted the version (C102 art. 72; mhi/governance).
    resolution_id: Mapped[int | None] = mapped_column(ForeignKey("resolution.id"))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())

    product = relationship("Product", back_populates="versions")
    resolution = relationship("Resolution")
    benefits = relationship(
        "Benefit", back_populates="version", order_by="Benefit.position", cascade="all, delete-orphan"
    )


class Benefit(db.Model):
    """One benefit of a product version: a share of a bill (``service``) or a fixed amount (``cash``)."""

    __table_args__ = (
        UniqueConstraint("version_id", "code"),
        CheckConstraint("kind IN ('service','cash')", name="kind_known"),
        CheckConstraint("sex IS NULL OR sex IN ('F','M')", name="sex_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("product_version.id"))
    position: Mapped[int] = mapped_column(default=0)
    code: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(10))
    coverage_rate: Mapped[Decimal | None] = mapped_column(Rate())
    amount: Mapped[Decimal | None] = mapped_column(Money())
    ceiling_per_case: Mapped[Decimal | None] = mapped_column(Money())
    ceiling_per_year: Mapped[Decimal | None] = mapped_column(Money())
    max_cases_per_year: Mapped[int | None]
    waiting_period_days: Mapped[int | None]
    # Limits to some persons (adjudication.md check 3 NOT_FOR_PATIENT): sex, age bounds both inclusive.
    sex: Mapped[str | None] = mapped_column(String(1))
    min_age_years: Mapped[int | None]
    max_age_years: Mapped[int | None]

    version = relationship("ProductVersion", back_populates="benefits")


class SubsidyProgramme(db.Model):
    """A funder's share of the contribution of households of some categories, between two dates.

    Its share and categories are dated (data-formats.md "Loading the same scheme.json"): one
    ``SubsidyProgrammeTerms`` row per effective date, read through ``mhi.schemes.programmes.terms_on`` — a
    period takes the terms in force on its start (contributions.md §2). ``SubsidyProgramme(share=…,
    categories=…)`` makes the first terms, from ``valid_from``.
    """

    __tablename__ = "subsidy_programme"
    __table_args__ = (UniqueConstraint("scheme_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scheme_id: Mapped[int] = mapped_column(ForeignKey("scheme.id"))
    position: Mapped[int] = mapped_column(default=0)  # scheme.json order: shares are capped in this order
    code: Mapped[str] = mapped_column(String(20))
    funder: Mapped[str] = mapped_column(String(200))
    valid_from: Mapped[date]
    valid_to: Mapped[date | None]

    scheme = relationship("Scheme", back_populates="programmes")
    terms = relationship(
        "SubsidyProgrammeTerms",
        back_populates="programme",
        order_by="SubsidyProgrammeTerms.effective_from",
        cascade="all, delete-orphan",
    )

    def __init__(self, *, share: Decimal | None = None, categories: list | None = None, **values):
        """A programme; with ``share`` and ``categories``, its first terms from ``valid_from``."""
        super().__init__(**values)
        if share is not None:
            self.terms.append(
                SubsidyProgrammeTerms(effective_from=self.valid_from, share=share, categories=list(categories or []))
            )


class SubsidyProgrammeTerms(db.Model):
    """A subsidy programme's share and categories from ``effective_from`` on; a change is a new row, so the
    periods that start before it keep the old terms (rules never change retroactively)."""

    __tablename__ = "subsidy_programme_terms"
    __table_args__ = (UniqueConstraint("programme_id", "effective_from"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("subsidy_programme.id"))
    effective_from: Mapped[date]
    share: Mapped[Decimal] = mapped_column(Rate())
    categories: Mapped[list] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())

    programme = relationship("SubsidyProgramme", back_populates="terms")


class Provider(db.Model):
    """A contracted health facility, with its contract dates and tariffs per benefit code.

    Tariffs are dated (data-formats.md ``tariff_changes``): a convention amendment gives the whole tariff list from
    a date on, and claims for care before that date keep the old tariffs (``mhi.schemes.tariffs``).
    """

    __table_args__ = (UniqueConstraint("scheme_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scheme_id: Mapped[int] = mapped_column(ForeignKey("scheme.id"))
    code: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(30), default="health_centre")
    contract_from: Mapped[date]
    contract_to: Mapped[date | None]

    scheme = relationship("Scheme", back_populates="providers")
    tariffs = relationship("Tariff", back_populates="provider", order_by="(Tariff.effective_from, Tariff.benefit_code)")

    def tariff_history(self) -> list[tuple[date, dict[str, Decimal]]]:
        """Every dated tariff list of the provider, oldest first (``mhi.schemes.tariffs.history``)."""
        from mhi.schemes.tariffs import history

        return history((t.effective_from, t.benefit_code, t.amount) for t in self.tariffs)

    def tariffs_on(self, day: date) -> dict[str, Decimal]:
        """The tariff list in force on ``day`` (before the first list's date, the first)."""
        from mhi.schemes.tariffs import on

        return on(self.tariff_history(), day)


class Tariff(db.Model):
    """The most a provider's bill is admitted at for one benefit code, from ``effective_from`` on.

    The rows of one date are the provider's whole tariff list from that date; a benefit code whose cap an amendment
    drops gets a row with no amount (not capped from that date).
    """

    __table_args__ = (UniqueConstraint("provider_id", "effective_from", "benefit_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("provider.id"))
    effective_from: Mapped[date]
    benefit_code: Mapped[str] = mapped_column(String(20))
    amount: Mapped[Decimal | None] = mapped_column(Money())

    provider = relationship("Provider", back_populates="tariffs")


@event.listens_for(Tariff, "before_insert")
def _tariff_from_contract(mapper, connection, target: Tariff) -> None:
    """A tariff given without a date is the provider's first list: it starts with the contract."""
    if target.effective_from is None:
        provider = target.provider
        target.effective_from = (
            provider.contract_from
            if provider is not None
            else connection.scalar(select(Provider.contract_from).where(Provider.id == target.provider_id))
        )


class Expense(db.Model):
    """A running cost of the scheme (expenses.csv). Corrected by a reversing row, never edited."""

    __table_args__ = (
        UniqueConstraint("scheme_id", "reference"),
        CheckConstraint("amount <> 0", name="amount_nonzero"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    scheme_id: Mapped[int] = mapped_column(ForeignKey("scheme.id"), index=True)
    reference: Mapped[str] = mapped_column(String(44))  # 40 + "-R" of a reversal
    date: Mapped[dt.date]
    category: Mapped[str] = mapped_column(String(20))
    amount: Mapped[Decimal] = mapped_column(Money())
    description: Mapped[str] = mapped_column(Text, default="")
    reversal_of_id: Mapped[int | None] = mapped_column(ForeignKey("expense.id"), unique=True)
    reason: Mapped[str] = mapped_column(Text, default="")  # why a reversing row reverses (never blank for one)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
