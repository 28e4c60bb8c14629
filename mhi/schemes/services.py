"""Loading federations and schemes from their files (data-formats.md), and the rules-in-force lookups.

``load_federation`` and ``load_scheme`` are idempotent: the same file twice changes nothing. A changed file
updates names and adds new codes; a product whose rules changed gets a new version effective from the load's
effective date (``--effective-from``, default the load day), marked ``source="file"``, and a programme whose share
or categories changed new dated terms from that day (periods starting before it keep the old ones); changed pool
rules likewise get a new dated row. After a change every household's derived rows follow in the same transaction.
Services flush, never commit: the command or view owns the transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from mhi.core import validation as v
from mhi.core.audit import record
from mhi.core.dates import version_on
from mhi.core.errors import N_, UserError
from mhi.core.money import MINOR_UNITS
from mhi.core.validation import FieldError, InputRejected, Problem
from mhi.schemes.history import split_history
from mhi.schemes.models import (
    Benefit,
    Federation,
    PoolRules,
    Product,
    ProductVersion,
    Provider,
    Scheme,
    SubsidyProgramme,
    SubsidyProgrammeTerms,
    Tariff,
)
from mhi.schemes.programmes import same_terms, terms_on
from mhi.schemes.tariffs import on as tariffs_on
from mhi.schemes.tariffs import rows_for_change
from mhi.schemes.versions import (
    BENEFIT_FIELDS,
    VERSION_FIELDS,
    VersionError,
    check_rules_date,
    rules_changed,
)

PERIOD_MONTHS = {"month": 1, "quarter": 3, "year": 12}
PROVIDER_KINDS = ("health_post", "health_centre", "hospital", "clinic", "pharmacy", "laboratory", "other")


@dataclass
class LoadSummary:
    """What a load did, for the command's message."""

    created: bool = False
    changes: list[str] | None = None

    def describe(self) -> str:
        if self.created:
            return "created"
        return "; ".join(self.changes) if self.changes else "unchanged"


class _Reader:
    """Collects problems while reading a nested JSON document, each with its path (``products[0].code``)."""

    def __init__(self, file: str):
        self.file = file
        self.problems: list[Problem] = []

    def get(self, obj: dict, key: str, path: str, reader, *, required: bool = True, default=None):
        if not isinstance(obj, dict):
            self.problems.append(Problem(N_("must be an object"), column=path, file=self.file))
            return default
        if key not in obj or obj[key] is None or obj[key] == "":
            if required:
                self.problems.append(Problem(N_("is required"), column=f"{path}{key}", file=self.file))
            return default
        try:
            return reader(obj[key])
        except FieldError as exc:
            self.problems.append(Problem.of(exc, column=f"{path}{key}", file=self.file))
            return default

    def unknown_keys(self, obj: dict, allowed: set[str], path: str) -> None:
        if isinstance(obj, dict):
            for key in sorted(set(obj) - allowed):
                self.problems.append(Problem(N_("unknown field (a typo?)"), column=f"{path}{key}", file=self.file))

    def check(self) -> None:
        if self.problems:
            raise InputRejected(self.problems)


def _currency(value) -> str:
    text = str(value).strip().upper()
    if len(text) != 3 or not text.isalpha():
        raise FieldError(N_("%(value)s is not an ISO 4217 currency code"), value=repr(value))
    if text not in MINOR_UNITS:
        raise FieldError(N_("%(text)s is not a currency mhi knows"), text=text)
    return text


def parse_federation(data: Any, file: str = "federation.json") -> dict:
    """Validate federation.json into plain typed values; raise ``InputRejected`` listing every problem."""
    r = _Reader(file)
    if not isinstance(data, dict):
        raise InputRejected([Problem(N_("the file must hold one JSON object"), file=file)])
    r.unknown_keys(data, {"code", "name", "currency", "pool"}, "")
    out = {
        "code": r.get(data, "code", "", lambda x: v.code(x, "federation code")),
        "name": r.get(data, "name", "", _text(200)),
        "currency": r.get(data, "currency", "", _currency),
        "pool": None,
    }
    pool = data.get("pool")
    if pool is not None:
        r.unknown_keys(
            pool,
            {"contribution_rate", "opening_balance", "opening_date", "excess_of_loss", "stop_loss"},
            "pool.",
        )
        p = {
            "contribution_rate": r.get(pool, "contribution_rate", "pool.", v.share),
            "opening_balance": r.get(pool, "opening_balance", "pool.", lambda x: v.amount(x, out["currency"])),
            "opening_date": r.get(pool, "opening_date", "pool.", v.day),
            "xol_threshold": None,
            "xol_share": None,
            "xol_limit": None,
            "sl_attachment_ratio": None,
            "sl_share": None,
        }
        xol = pool.get("excess_of_loss") if isinstance(pool, dict) else None
        if xol is not None:
            r.unknown_keys(xol, {"threshold", "share", "limit"}, "pool.excess_of_loss.")
            p["xol_threshold"] = r.get(xol, "threshold", "pool.excess_of_loss.", lambda x: v.amount(x, out["currency"]))
            p["xol_share"] = r.get(xol, "share", "pool.excess_of_loss.", v.share)
            p["xol_limit"] = r.get(
                xol, "limit", "pool.excess_of_loss.", lambda x: v.amount(x, out["currency"]), required=False
            )
            if p["xol_limit"] is not None and p["xol_threshold"] is not None and p["xol_limit"] <= p["xol_threshold"]:
                r.problems.append(
                    Problem(N_("must be above the threshold"), column="pool.excess_of_loss.limit", file=file)
                )
        sl = pool.get("stop_loss") if isinstance(pool, dict) else None
        if sl is not None:
            r.unknown_keys(sl, {"attachment_ratio", "share"}, "pool.stop_loss.")
            p["sl_attachment_ratio"] = r.get(sl, "attachment_ratio", "pool.stop_loss.", v.amount)
            p["sl_share"] = r.get(sl, "share", "pool.stop_loss.", v.share)
        out["pool"] = p
    r.check()
    return out


def _text(limit: int):
    def read(value) -> str:
        text = str(value).strip()
        if not text:
            raise FieldError(N_("is required"))
        if len(text) > limit:
            raise FieldError(N_("is longer than %(limit)s characters"), limit=limit)
        return text

    return read


def _int_or_none(value):
    return v.whole(value)


def parse_scheme(data: Any, file: str = "scheme.json") -> dict:
    """Validate scheme.json into plain typed values; raise ``InputRejected`` listing every problem."""
    r = _Reader(file)
    if not isinstance(data, dict):
        raise InputRejected([Problem(N_("the file must hold one JSON object"), file=file)])
    r.unknown_keys(
        data,
        {
            "code",
            "name",
            "country",
            "currency",
            "federation",
            "target_population",
            "opening_date",
            "opening_reserve",
            "opening_cash",
            "products",
            "subsidy_programmes",
            "providers",
        },
        "",
    )
    currency = r.get(data, "currency", "", _currency) or "XOF"
    out: dict[str, Any] = {
        "code": r.get(data, "code", "", lambda x: v.code(x, "scheme code")),
        "name": r.get(data, "name", "", _text(200)),
        "country": r.get(data, "country", "", _country),
        "currency": currency,
        "federation": r.get(data, "federation", "", lambda x: v.code(x, "federation code"), required=False),
        "target_population": r.get(data, "target_population", "", v.whole, required=False, default=0),
        "opening_date": r.get(data, "opening_date", "", v.day),
        "opening_reserve": r.get(
            data, "opening_reserve", "", lambda x: v.amount(x, currency), required=False, default=Decimal(0)
        ),
        "opening_cash": r.get(
            data, "opening_cash", "", lambda x: v.amount(x, currency), required=False, default=Decimal(0)
        ),
        "products": [],
        "programmes": [],
        "providers": [],
    }
    products = data.get("products")
    if not isinstance(products, list) or not products:
        r.problems.append(Problem(N_("must list at least one product"), column="products", file=file))
        products = []
    seen: set[str] = set()
    for i, prod in enumerate(products):
        path = f"products[{i}]."
        r.unknown_keys(
            prod,
            {
                "code",
                "name",
                "contribution",
                "waiting_period_days",
                "grace_period_days",
                "lapse_after_days",
                "submission_limit_days",
                "newborn_days",
                "benefits",
            },
            path,
        )
        contribution = prod.get("contribution") if isinstance(prod, dict) else None
        cpath = path + "contribution."
        if not isinstance(contribution, dict):
            r.problems.append(Problem(N_("is required"), column=cpath[:-1], file=file))
            contribution = {}
        r.unknown_keys(contribution, {"basis", "amount", "period", "registration_fee"}, cpath)
        p = {
            "code": r.get(prod, "code", path, lambda x: v.code(x, "product code")),
            "name": r.get(prod, "name", path, _text(200)),
            "basis": r.get(contribution, "basis", cpath, lambda x: v.choice(x, ("person", "household"), "basis")),
            "amount": r.get(contribution, "amount", cpath, lambda x: v.amount(x, currency)),
            "period_months": r.get(
                contribution,
                "period",
                cpath,
                lambda x: PERIOD_MONTHS[v.choice(x, tuple(PERIOD_MONTHS), "period")],
            ),
            "registration_fee": r.get(
                contribution,
                "registration_fee",
                cpath,
                lambda x: v.amount(x, currency),
                required=False,
                default=Decimal(0),
            ),
            "waiting_period_days": r.get(prod, "waiting_period_days", path, v.whole, required=False, default=0),
            "grace_period_days": r.get(prod, "grace_period_days", path, v.whole, required=False, default=0),
            "lapse_after_days": r.get(prod, "lapse_after_days", path, _int_or_none, required=False),
            "submission_limit_days": r.get(prod, "submission_limit_days", path, _int_or_none, required=False),
            "newborn_days": r.get(prod, "newborn_days", path, _int_or_none, required=False),
            "benefits": [],
        }
        if p["code"] in seen:
            r.problems.append(
                Problem(
                    N_("product %(code)s is listed twice"), column=path + "code", file=file, params={"code": p["code"]}
                )
            )
        seen.add(p["code"])
        benefits = prod.get("benefits") if isinstance(prod, dict) else None
        if not isinstance(benefits, list) or not benefits:
            r.problems.append(Problem(N_("must list at least one benefit"), column=path + "benefits", file=file))
            benefits = []
        bseen: set[str] = set()
        for j, ben in enumerate(benefits):
            bpath = f"{path}benefits[{j}]."
            r.unknown_keys(ben, set(BENEFIT_FIELDS), bpath)
            kind = r.get(ben, "kind", bpath, lambda x: v.choice(x, ("service", "cash"), "benefit kind"))
            b = {
                "code": r.get(ben, "code", bpath, lambda x: v.code(x, "benefit code")),
                "name": r.get(ben, "name", bpath, _text(200)),
                "kind": kind,
                "coverage_rate": r.get(ben, "coverage_rate", bpath, v.share, required=kind == "service"),
                "amount": r.get(
                    ben,
                    "amount",
                    bpath,
                    lambda x: v.amount(x, currency, positive=True),
                    required=kind == "cash",
                ),
                "ceiling_per_case": r.get(
                    ben,
                    "ceiling_per_case",
                    bpath,
                    lambda x: v.amount(x, currency, positive=True),
                    required=False,
                ),
                "ceiling_per_year": r.get(
                    ben,
                    "ceiling_per_year",
                    bpath,
                    lambda x: v.amount(x, currency, positive=True),
                    required=False,
                ),
                "max_cases_per_year": r.get(
                    ben, "max_cases_per_year", bpath, lambda x: v.whole(x, minimum=1), required=False
                ),
                "waiting_period_days": r.get(ben, "waiting_period_days", bpath, v.whole, required=False),
                "sex": r.get(ben, "sex", bpath, lambda x: v.choice(x, ("F", "M"), "sex"), required=False),
                "min_age_years": r.get(ben, "min_age_years", bpath, v.whole, required=False),
                "max_age_years": r.get(ben, "max_age_years", bpath, v.whole, required=False),
            }
            if (
                b["min_age_years"] is not None
                and b["max_age_years"] is not None
                and b["min_age_years"] > b["max_age_years"]
            ):
                r.problems.append(
                    Problem(N_("must not be above max_age_years"), column=bpath + "min_age_years", file=file)
                )
            if b["code"] in bseen:
                r.problems.append(
                    Problem(
                        N_("benefit %(code)s is listed twice"),
                        column=bpath + "code",
                        file=file,
                        params={"code": b["code"]},
                    )
                )
            bseen.add(b["code"])
            p["benefits"].append(b)
        out["products"].append(p)
    for i, prog in enumerate(data.get("subsidy_programmes") or []):
        path = f"subsidy_programmes[{i}]."
        r.unknown_keys(prog, {"code", "funder", "categories", "share", "valid_from", "valid_to"}, path)
        cats = prog.get("categories") if isinstance(prog, dict) else None
        if not isinstance(cats, list) or not cats or not all(isinstance(c, str) and c.strip() for c in cats):
            r.problems.append(Problem(N_("must list at least one category"), column=path + "categories", file=file))
            cats = []
        out["programmes"].append(
            {
                "code": r.get(prog, "code", path, lambda x: v.code(x, "programme code")),
                "funder": r.get(prog, "funder", path, _text(200)),
                "categories": [c.strip() for c in cats],
                "share": r.get(prog, "share", path, v.share),
                "valid_from": r.get(prog, "valid_from", path, v.day),
                "valid_to": r.get(prog, "valid_to", path, v.day, required=False),
                "position": i,
            }
        )
    for i, prov in enumerate(data.get("providers") or []):
        path = f"providers[{i}]."
        r.unknown_keys(prov, {"code", "name", "kind", "contract_from", "contract_to", "tariffs"}, path)
        tariffs = prov.get("tariffs") if isinstance(prov, dict) else None
        parsed_tariffs = {}
        if tariffs is not None and not isinstance(tariffs, dict):
            r.problems.append(
                Problem(N_("must be an object of benefit code → amount"), column=path + "tariffs", file=file)
            )
        for bcode, tval in (tariffs or {}).items():
            try:
                parsed_tariffs[v.code(bcode, "benefit code")] = v.amount(tval, currency, positive=True)
            except FieldError as exc:
                r.problems.append(Problem.of(exc, column=f"{path}tariffs.{bcode}", file=file))
        out["providers"].append(
            {
                "code": r.get(prov, "code", path, lambda x: v.code(x, "provider code")),
                "name": r.get(prov, "name", path, _text(200)),
                "kind": r.get(prov, "kind", path, _text(30), required=False, default="other"),
                "contract_from": r.get(prov, "contract_from", path, v.day),
                "contract_to": r.get(prov, "contract_to", path, v.day, required=False),
                "tariffs": parsed_tariffs,
            }
        )
    r.check()
    return out


def _country(value) -> str:
    text = str(value).strip().upper()
    if len(text) != 2 or not text.isalpha():
        raise FieldError(N_("%(value)s is not a two-letter country code"), value=repr(value))
    return text


def _rejected(message: str, column: str, file: str, **params) -> InputRejected:
    """A load refused for one reason about one field of the file (conventions.md "Errors"); ``message`` is a
    msgid with ``params``."""
    return InputRejected([Problem(message, column=column, file=file, params=params or None)])


def _rename(session, obj, name: str, *, actor, entity: str, scheme_id: int | None, summary: LoadSummary, label: str):
    """Give ``obj`` the file's ``name`` when it changed, with its audit row and the summary's words."""
    if obj.name == name:
        return
    record(
        session,
        actor=actor,
        entity=entity,
        entity_id=obj.id,
        scheme_id=scheme_id,
        action="rename",
        before={"name": obj.name},
        after={"name": name},
    )
    obj.name = name
    summary.changes.append(label)


def _record_added(session, obj, *, actor, entity: str, scheme_id: int, after: dict, summary: LoadSummary, label: str):
    """Audit a row a reload added to an existing scheme (a new scheme's rows are covered by its own ``load``)."""
    if summary.created:
        return
    session.flush()
    record(session, actor=actor, entity=entity, entity_id=obj.id, scheme_id=scheme_id, action="create", after=after)
    summary.changes.append(f"{label} added")


def _update_changed(
    session, obj, values: dict, *, actor, entity: str, scheme_id: int, summary: LoadSummary, label: str, shown=None
) -> None:
    """Set the ``values`` that differ from ``obj``'s, with one audit row of before/after (``shown`` formats them)."""
    before = {k: getattr(obj, k) for k in values if getattr(obj, k) != values[k]}
    if not before:
        return
    for k in before:
        setattr(obj, k, values[k])
    show = shown or (lambda x: x)
    record(
        session,
        actor=actor,
        entity=entity,
        entity_id=obj.id,
        scheme_id=scheme_id,
        action="update",
        before={k: show(x) for k, x in before.items()},
        after={k: show(values[k]) for k in before},
    )
    summary.changes.append(f"{label} updated")


def load_federation(session, data: Any, *, today: date, actor=None, file: str = "federation.json") -> LoadSummary:
    """Create or update a federation from federation.json (idempotent; pool rule changes dated ``today``)."""
    spec = parse_federation(data, file)
    fed = session.scalar(select(Federation).where(Federation.code == spec["code"]))
    summary = LoadSummary(changes=[])
    if fed is None:
        fed = Federation(code=spec["code"], name=spec["name"], currency=spec["currency"])
        session.add(fed)
        session.flush()
        summary.created = True
        record(
            session,
            actor=actor,
            entity="federation",
            entity_id=fed.id,
            action="load",
            after={"code": fed.code, "name": fed.name},
        )
    else:
        if fed.currency != spec["currency"]:
            raise _rejected(
                N_("the federation's currency is %(currency)s; it cannot change"),
                "currency",
                file,
                currency=fed.currency,
            )
        _rename(
            session,
            fed,
            spec["name"],
            actor=actor,
            entity="federation",
            scheme_id=None,
            summary=summary,
            label="name updated",
        )
    if spec["pool"] is not None:
        latest = fed.pool_rules[-1] if fed.pool_rules else None
        values = spec["pool"]
        if latest is None or any(getattr(latest, k) != values[k] for k in values):
            effective = values["opening_date"] if latest is None else today
            if latest is not None and latest.effective_from == effective:
                for key, value in values.items():
                    setattr(latest, key, value)
            else:
                session.add(PoolRules(federation=fed, effective_from=effective, **values))
            record(
                session,
                actor=actor,
                entity="federation",
                entity_id=fed.id,
                action="pool_rules",
                after={k: val for k, val in values.items()},
            )
            if latest is not None:
                summary.changes.append(f"pool rules changed from {today.isoformat()}")
    session.flush()
    return summary


def _version_values(p: dict) -> dict:
    """A parsed product's version rules (its effective date is the load's to decide)."""
    return {k: p[k] for k in VERSION_FIELDS if k != "effective_from"}


def _same_rules(version: ProductVersion, p: dict) -> bool:
    if any(getattr(version, k) != val for k, val in _version_values(p).items()):
        return False
    current = [{k: getattr(b, k) for k in BENEFIT_FIELDS} for b in version.benefits]
    wanted = [{k: b[k] for k in BENEFIT_FIELDS} for b in p["benefits"]]
    return current == wanted


def _add_version(session, product: Product, p: dict, effective: date) -> ProductVersion:
    version = ProductVersion(
        product=product, effective_from=effective, status="active", source="file", **_version_values(p)
    )
    for position, b in enumerate(p["benefits"]):
        version.benefits.append(Benefit(position=position, **{k: b[k] for k in BENEFIT_FIELDS}))
    session.add(version)
    return version


def load_scheme(
    session, data: Any, *, today: date, effective_from: date | None = None, actor=None, file: str = "scheme.json"
) -> LoadSummary:
    """Create or update a scheme from scheme.json (data-formats.md), idempotently.

    A changed product becomes a new version, a changed programme share or categories new terms, and changed
    provider tariffs a new tariff list, from ``effective_from`` (default ``today``); never on or before a closed
    pool settlement's end. Every household's derived rows then follow, in the same transaction
    (``rules_changed``). A file carrying its history (``versions``, ``terms``, ``tariff_changes``) loads as its
    first state and then each change from its own date (data-formats.md "Dated rules inside scheme.json").
    """
    snapshots = split_history(data, file)
    if len(snapshots) == 1:
        return _load_one(session, data, today=today, effective=effective_from or today, at=None, actor=actor, file=file)
    for day, snap in snapshots:  # the whole file is validated before anything is written
        parse_scheme(snap, file if day is None else f"{file} (as of {day.isoformat()})")
    opening = parse_scheme(snapshots[0][1], file)["opening_date"]
    summary = _load_one(session, snapshots[0][1], today=today, effective=opening, at=opening, actor=actor, file=file)
    for day, snap in snapshots[1:]:
        step = _load_one(session, snap, today=today, effective=day, at=day, actor=actor, file=file)
        summary.changes.extend(step.changes or [])
    return summary


def _load_one(session, data: Any, *, today: date, effective: date, at: date | None, actor, file: str) -> LoadSummary:
    """Load one plain scheme.json; changed rules take effect from ``effective``. ``at`` None compares the file with
    the latest rules; a date compares it with the rules in force on that date (a history's state as of it)."""
    spec = parse_scheme(data, file)
    federation = None
    if spec["federation"]:
        federation = session.scalar(select(Federation).where(Federation.code == spec["federation"]))
        if federation is None:
            raise _rejected(
                N_("federation %(federation)s is not loaded (load it first)"),
                "federation",
                file,
                federation=spec["federation"],
            )
        if federation.currency != spec["currency"]:
            raise _rejected(
                N_("the federation's currency is %(currency)s, the scheme's %(currency2)s"),
                "currency",
                file,
                currency=federation.currency,
                currency2=spec["currency"],
            )
    scheme = session.scalar(select(Scheme).where(Scheme.code == spec["code"]))
    summary = LoadSummary(changes=[])
    fields = {
        k: spec[k] for k in ("name", "country", "target_population", "opening_date", "opening_reserve", "opening_cash")
    }
    if scheme is None:
        scheme = Scheme(
            code=spec["code"],
            currency=spec["currency"],
            federation=federation,
            locale=f"fr_{spec['country']}" if spec["country"] in _FRENCH_COUNTRIES else "en",
            settings={},
            **fields,
        )
        session.add(scheme)
        session.flush()
        summary.created = True
        record(
            session,
            actor=actor,
            entity="scheme",
            entity_id=scheme.id,
            scheme_id=scheme.id,
            action="load",
            after={"code": scheme.code, **fields},
        )
    else:
        if scheme.currency != spec["currency"]:
            raise _rejected(
                N_("the scheme's currency is %(currency)s; it cannot change"),
                "currency",
                file,
                currency=scheme.currency,
            )
        before = {k: getattr(scheme, k) for k in fields if getattr(scheme, k) != fields[k]}
        if before or scheme.federation_id != (federation.id if federation else None):
            for k in before:
                setattr(scheme, k, fields[k])
            scheme.federation = federation
            record(
                session,
                actor=actor,
                entity="scheme",
                entity_id=scheme.id,
                scheme_id=scheme.id,
                action="update",
                before=before,
                after={k: fields[k] for k in before},
            )
            summary.changes.append("details updated")
    products = {p.code: p for p in scheme.products}
    for p in spec["products"]:
        product = products.get(p["code"])
        if product is None:
            product = Product(scheme=scheme, code=p["code"], name=p["name"])
            session.add(product)
            _add_version(session, product, p, spec["opening_date"])
            _record_added(
                session,
                product,
                actor=actor,
                entity="product",
                scheme_id=scheme.id,
                after={"code": p["code"], "name": p["name"], **_version_values(p)},
                summary=summary,
                label=f"product {p['code']}",
            )
            continue
        _rename(
            session,
            product,
            p["name"],
            actor=actor,
            entity="product",
            scheme_id=scheme.id,
            summary=summary,
            label=f"product {p['code']} renamed",
        )
        latest = product.versions[-1]
        base = latest if at is None else version_on([x for x in product.versions if x.status == "active"], at)
        if not _same_rules(base, p):
            if effective <= latest.effective_from:
                raise _rejected(
                    N_(
                        "product %(code)s already has a version from %(latest)s; a change takes effect after it"
                        " (--effective-from)"
                    ),
                    "products",
                    file,
                    code=p["code"],
                    latest=latest.effective_from.isoformat(),
                    effective=effective.isoformat(),
                )
            _check_date(session, scheme, effective, file)
            _add_version(session, product, p, effective)
            record(
                session,
                actor=actor,
                entity="product",
                entity_id=product.id,
                scheme_id=scheme.id,
                action="new_version",
                after={"effective_from": effective, **_version_values(p)},
            )
            summary.changes.append(f"product {p['code']}: new version from {effective.isoformat()}")
    programmes = {g.code: g for g in scheme.programmes}
    for g in spec["programmes"]:
        existing = programmes.get(g["code"])
        if existing is None:
            programme = SubsidyProgramme(scheme=scheme, **g)
            session.add(programme)
            _record_added(
                session,
                programme,
                actor=actor,
                entity="subsidy_programme",
                scheme_id=scheme.id,
                after=g,
                summary=summary,
                label=f"programme {g['code']}",
            )
            continue
        _update_changed(
            session,
            existing,
            {k: g[k] for k in ("funder", "valid_from", "valid_to", "position")},
            actor=actor,
            entity="subsidy_programme",
            scheme_id=scheme.id,
            summary=summary,
            label=f"programme {g['code']}",
            shown=str,
        )
        latest = existing.terms[-1] if existing.terms else None
        base = latest if at is None else terms_on(existing, at)
        if not same_terms(base, g["share"], g["categories"]):
            if latest is not None and effective <= latest.effective_from:
                raise _rejected(
                    N_(
                        "programme %(code)s already has terms from %(latest)s; a change takes effect after it"
                        " (--effective-from)"
                    ),
                    "subsidy_programmes",
                    file,
                    code=g["code"],
                    latest=latest.effective_from.isoformat(),
                )
            _check_date(session, scheme, effective, file)
            add_programme_terms(
                session, existing, effective_from=effective, share=g["share"], categories=g["categories"], actor=actor
            )
            summary.changes.append(f"programme {g['code']}: new terms from {effective.isoformat()}")
    providers = {p.code: p for p in scheme.providers}
    for pr in spec["providers"]:
        existing = providers.get(pr["code"])
        tariffs = pr["tariffs"]
        values = {k: pr[k] for k in ("name", "kind", "contract_from", "contract_to")}
        is_new = existing is None
        if is_new:
            existing = Provider(scheme=scheme, code=pr["code"], **values)
            session.add(existing)
            session.flush()
            _record_added(
                session,
                existing,
                actor=actor,
                entity="provider",
                scheme_id=scheme.id,
                after={"code": pr["code"], **values, **{f"tariff {k}": x for k, x in tariffs.items()}},
                summary=summary,
                label=f"provider {pr['code']}",
            )
        else:
            _update_changed(
                session,
                existing,
                values,
                actor=actor,
                entity="provider",
                scheme_id=scheme.id,
                summary=summary,
                label=f"provider {pr['code']}",
            )
        dated = [] if is_new else existing.tariff_history()
        if is_new:
            for bcode, amt in tariffs.items():
                session.add(
                    Tariff(provider=existing, effective_from=pr["contract_from"], benefit_code=bcode, amount=amt)
                )
            continue
        base = (dated[-1][1] if dated else {}) if at is None else tariffs_on(dated, at)
        if base != tariffs:
            problem = tariff_date_problem(existing, dated, effective)
            if problem:
                raise _rejected(
                    N_("provider %(code)s: %(problem)s (--effective-from)"),
                    "providers",
                    file,
                    code=pr["code"],
                    problem=problem,
                )
            _check_date(session, scheme, effective, file)
            _add_tariff_list(session, existing, effective, dated[-1][1] if dated else {}, tariffs)
            record(
                session,
                actor=actor,
                entity="provider",
                entity_id=existing.id,
                scheme_id=scheme.id,
                action="tariffs",
                before={"effective_from": effective, **base},
                after={"effective_from": effective, **tariffs},
            )
            summary.changes.append(f"provider {pr['code']}: new tariffs from {effective.isoformat()}")
    session.flush()
    if summary.changes and not summary.created:
        # A version, programme or currency may have changed what every household owes: derived rows follow.
        rules_changed(session, scheme)
    return summary


def tariff_date_problem(provider: Provider, dated: list, day: date) -> UserError | None:
    """Why a new tariff list cannot start on ``day`` (plain English, the file loader's words), or None: not before
    the provider's contract, and after its latest list (amendments are added in date order, never retroactively)."""
    if day < provider.contract_from:
        return UserError(
            N_("a tariff change from %(day)s is before the contract starts (%(start)s)"),
            day=day.isoformat(),
            start=provider.contract_from.isoformat(),
        )
    if dated and day <= dated[-1][0]:
        return UserError(
            N_("the tariffs already change on %(day)s; a change takes effect after it"), day=dated[-1][0].isoformat()
        )
    return None


def _add_tariff_list(session, provider: Provider, day: date, previous: dict, tariffs: dict) -> None:
    """Store ``tariffs`` as the provider's whole list from ``day`` (dropped codes: a row with no amount)."""
    for bcode, amt in rows_for_change(previous, tariffs).items():
        session.add(Tariff(provider=provider, effective_from=day, benefit_code=bcode, amount=amt))
    session.flush()
    session.expire(provider, ["tariffs"])


def _check_date(session, scheme: Scheme, day: date, file: str) -> None:
    """A file's rule change may not take effect on or before a closed period's end (``check_rules_date``)."""
    try:
        check_rules_date(session, scheme, day)
    except VersionError as exc:
        raise _rejected(exc.message, "effective_from", file, **exc.params) from exc


def add_programme_terms(
    session, programme: SubsidyProgramme, *, effective_from: date, share: Decimal, categories, actor=None
) -> SubsidyProgrammeTerms:
    """Give ``programme`` new terms from ``effective_from`` (audited); the caller has checked the date and calls
    ``rules_changed`` once it is done."""
    terms = SubsidyProgrammeTerms(effective_from=effective_from, share=share, categories=list(categories))
    programme.terms.append(terms)
    session.flush()
    record(
        session,
        actor=actor,
        entity="subsidy_programme",
        entity_id=programme.id,
        scheme_id=programme.scheme_id,
        action="new_terms",
        after={"effective_from": effective_from, "share": str(share), "categories": ", ".join(categories)},
    )
    return terms


def change_programme_terms(
    session, programme: SubsidyProgramme, *, effective_from: date, share, categories, actor
) -> SubsidyProgrammeTerms | None:
    """A programme's share or categories change from ``effective_from`` (a programme edited on screen): periods
    that start before that day keep the old terms. Refused (``VersionError``, in the user's words) when the share is
    not between 0 and 1, no category is given, the date is before the programme starts or not after its latest
    terms, or falls in a closed pool period. Nothing changes when the terms are the same. Every household's derived
    rows are recomputed in the same transaction."""
    try:
        share = v.share(share)
    except FieldError as exc:
        raise VersionError(N_("the share must be between 0 and 1")) from exc
    categories = [str(c).strip() for c in categories or () if str(c).strip()]
    if not categories:
        raise VersionError(N_("list at least one household category"))
    if effective_from < programme.valid_from:
        raise VersionError(
            N_("the programme starts on %(day)s; its terms cannot change before"), day=programme.valid_from.isoformat()
        )
    latest = programme.terms[-1] if programme.terms else None
    if latest is not None and effective_from <= latest.effective_from:
        raise VersionError(
            N_("the programme already has terms from %(day)s; choose a later date"),
            day=latest.effective_from.isoformat(),
        )
    if same_terms(terms_on(programme, effective_from), share, categories):
        return None
    check_rules_date(session, programme.scheme, effective_from)
    terms = add_programme_terms(
        session, programme, effective_from=effective_from, share=share, categories=categories, actor=actor
    )
    rules_changed(session, programme.scheme)
    return terms


_FRENCH_COUNTRIES = {
    "SN",
    "ML",
    "BF",
    "CI",
    "BJ",
    "TG",
    "NE",
    "GN",
    "CM",
    "CD",
    "CG",
    "GA",
    "TD",
    "MG",
    "RW",
    "BI",
    "HT",
    "FR",
    "BE",
    "MA",
    "TN",
    "DZ",
    "CF",
    "DJ",
    "KM",
    "MR",
}


def version_in_force(versions, day: date):
    """The active product version in force on ``day`` (``core.dates.version_on``, the one rule)."""
    return version_on([version for version in versions if version.status == "active"], day)
