"""Generate a demo federation: set-up dicts (as federation.json / scheme.json) and CSV rows (as members.csv,
contributions.csv, claims.csv, expenses.csv; subsidy_receipts.csv once the dues are known), seeded so that every run is the same for a
given reference day.

Households follow the behaviours schemes see: regular payers, prepayers, late payers who lapse and come back,
drop-outs, and fully subsidised indigent households.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from mhi.core.dates import add_months

FIRST_F = [
    "Awa",
    "Fatou",
    "Aïssatou",
    "Mariama",
    "Khady",
    "Ndèye",
    "Coumba",
    "Bineta",
    "Seynabou",
    "Rokhaya",
    "Adama",
    "Dieynaba",
    "Astou",
    "Marème",
    "Yacine",
]
FIRST_M = [
    "Moussa",
    "Mamadou",
    "Ousmane",
    "Ibrahima",
    "Cheikh",
    "Abdoulaye",
    "Modou",
    "Souleymane",
    "Babacar",
    "Serigne",
    "Aliou",
    "Pape",
    "Lamine",
    "El Hadji",
    "Omar",
]
LAST = [
    "Ndiaye",
    "Diop",
    "Fall",
    "Sow",
    "Sène",
    "Faye",
    "Gueye",
    "Ba",
    "Thiam",
    "Diouf",
    "Sarr",
    "Mbaye",
    "Cissé",
    "Ndour",
    "Lô",
    "Diallo",
    "Kane",
    "Dieng",
]

SCHEMES = [
    ("MUT-KEUR", "Mutuelle de santé de Keur Moussa", ["Keur Moussa", "Pout Diack", "Kessoukhatt"], 3200),
    ("MUT-NOTTO", "Mutuelle de santé de Notto", ["Notto", "Gouye Gui", "Keur Mbir"], 2600),
    ("MUT-FANDENE", "Mutuelle de santé de Fandène", ["Fandène", "Silmang", "Keur Ibra"], 1800),
]


@dataclass(frozen=True)
class Transfer:
    """A funder's payment of one programme's quarter; its amount is what the quarter owes (``subsidy_receipt_rows``)."""

    reference: str
    programme_code: str
    quarter_from: date
    quarter_to: date
    day: date


@dataclass
class DemoScheme:
    """One demo scheme: its scheme.json dict and its CSV rows."""

    setup: dict
    members: list[dict] = field(default_factory=list)
    contributions: list[dict] = field(default_factory=list)
    subsidy_transfers: list[Transfer] = field(default_factory=list)
    claims: list[dict] = field(default_factory=list)
    expenses: list[dict] = field(default_factory=list)


def federation_setup(opening: date) -> dict:
    """The demo federation with its guarantee pool."""
    return {
        "code": "UMT-DEMO",
        "name": "Union des mutuelles de santé de Thiès (démo)",
        "currency": "XOF",
        "pool": {
            "contribution_rate": "0.05",
            "opening_balance": "500000",
            "opening_date": opening.isoformat(),
            "excess_of_loss": {"threshold": "60000", "share": "0.7", "limit": "400000"},
            "stop_loss": {"attachment_ratio": "0.85", "share": "0.5"},
        },
    }


def scheme_setup(code: str, name: str, opening: date, target: int) -> dict:
    """A scheme.json for one demo mutuelle (monthly per-person contribution, the usual benefit package)."""
    prefix = code.split("-")[1]
    return {
        "code": code,
        "name": name,
        "country": "SN",
        "currency": "XOF",
        "federation": "UMT-DEMO",
        "target_population": target,
        "opening_date": opening.isoformat(),
        "opening_reserve": "500000",
        "opening_cash": "500000",
        "products": [
            {
                "code": "BASE",
                "name": "Paquet de base",
                "contribution": {"basis": "person", "amount": "500", "period": "month", "registration_fee": "1000"},
                "waiting_period_days": 90,
                "grace_period_days": 30,
                "lapse_after_days": 120,
                "submission_limit_days": 90,
                "benefits": [
                    {
                        "code": "OPD",
                        "name": "Consultation et médicaments essentiels",
                        "kind": "service",
                        "coverage_rate": "0.8",
                        "ceiling_per_case": "6000",
                        "ceiling_per_year": "25000",
                        "max_cases_per_year": 10,
                    },
                    {
                        "code": "HOSP",
                        "name": "Hospitalisation",
                        "kind": "service",
                        "coverage_rate": "0.7",
                        "ceiling_per_case": "100000",
                        "ceiling_per_year": "150000",
                    },
                    {
                        "code": "MAT",
                        "name": "Accouchement",
                        "kind": "service",
                        "coverage_rate": "1",
                        "ceiling_per_case": "25000",
                        "max_cases_per_year": 1,
                        "waiting_period_days": 270,
                    },
                    {
                        "code": "DEATH",
                        "name": "Allocation décès",
                        "kind": "cash",
                        "amount": "25000",
                        "waiting_period_days": 180,
                        "max_cases_per_year": 1,
                    },
                ],
            }
        ],
        "subsidy_programmes": [
            {
                "code": "CMU-50",
                "funder": "État du Sénégal (CMU)",
                "categories": ["standard", "indigent"],
                "share": "0.5",
                "valid_from": opening.isoformat(),
                "valid_to": None,
            },
            {
                "code": "CMU-IND",
                "funder": "État du Sénégal (CMU, bourses de sécurité familiale)",
                "categories": ["indigent"],
                "share": "0.5",
                "valid_from": opening.isoformat(),
                "valid_to": None,
            },
        ],
        "providers": [
            {
                "code": f"PS-{prefix}",
                "name": f"Poste de santé de {name.split(' de ')[-1]}",
                "kind": "health_post",
                "contract_from": opening.isoformat(),
                "contract_to": None,
                "tariffs": {"OPD": "2000"},
            },
            {
                "code": f"CS-{prefix}",
                "name": f"Centre de santé de {name.split(' de ')[-1]}",
                "kind": "health_centre",
                "contract_from": opening.isoformat(),
                "contract_to": None,
                "tariffs": {"OPD": "3000", "MAT": "25000"},
            },
            {
                "code": "HR-THIES",
                "name": "Hôpital régional de Thiès",
                "kind": "hospital",
                "contract_from": opening.isoformat(),
                "contract_to": None,
                "tariffs": {"HOSP": "150000"},
            },
        ],
    }


def generate(today: date, households_per_scheme: int = 60, seed: int = 2026) -> tuple[dict, list[DemoScheme]]:
    """The whole demo: federation dict and, per scheme, its set-up and rows; dates end before ``today``."""
    rng = random.Random(seed)
    opening = date(today.year - 2, 1, 1)
    federation = federation_setup(opening)
    schemes = []
    for code, name, villages, target in SCHEMES:
        demo = DemoScheme(setup=scheme_setup(code, name, opening, target))
        _households(rng, demo, code.split("-")[1], villages, opening, today, households_per_scheme)
        _subsidy_transfers(rng, demo, opening, today)
        _expenses(rng, demo, code.split("-")[1], opening, today)
        schemes.append(demo)
    return federation, schemes


def _person(rng: random.Random, sex: str, born_from: int, born_to: int) -> tuple[str, date]:
    first = rng.choice(FIRST_F if sex == "F" else FIRST_M)
    born = date(rng.randint(born_from, born_to), rng.randint(1, 12), rng.randint(1, 28))
    return first, born


def _households(rng, demo: DemoScheme, prefix: str, villages, opening: date, today: date, count: int) -> None:
    """Members, receipts and claims of ``count`` households."""
    receipt_no = 0
    claim_no = 0
    provider_opd = [f"PS-{prefix}", f"CS-{prefix}"]
    last_day = today - timedelta(days=1)
    for h in range(1, count + 1):
        ref = f"{prefix}-{h:04d}"
        village = villages[h % len(villages)]
        enrol = opening + timedelta(days=rng.randint(0, max(1, (today - opening).days - 200)))
        last = rng.choice(LAST)
        behaviour = rng.choices(["regular", "prepayer", "late", "dropout", "indigent"], [45, 10, 20, 15, 10])[0]
        size = rng.randint(2, 7)
        people = []
        head_sex = rng.choice("FM")
        first, born = _person(rng, head_sex, 1955, 1995)
        people.append(("head", head_sex, first, last, born))
        if size > 1:
            sex = "M" if head_sex == "F" else "F"
            first, born = _person(rng, sex, 1960, 2000)
            people.append(("spouse", sex, first, rng.choice(LAST) if sex == "F" else last, born))
        for _ in range(size - len(people)):
            sex = rng.choice("FM")
            first, born = _person(rng, sex, 2006, enrol.year - 1)
            people.append(("child", sex, first, last, born))
        phone = f"77{rng.randint(1000000, 9999999)}"
        for i, (relation, sex, first, family, born) in enumerate(people, start=1):
            demo.members.append(
                {
                    "household_ref": ref,
                    "member_no": f"{ref}-{i:02d}",
                    "first_name": first,
                    "last_name": family,
                    "sex": sex,
                    "date_of_birth": born.isoformat(),
                    "relationship": relation,
                    "enrolment_date": enrol.isoformat(),
                    "exit_date": "",
                    "product_code": "BASE" if relation == "head" else "",
                    "category": "indigent" if behaviour == "indigent" and relation == "head" else "",
                    "village": village,
                    "phone": phone if relation == "head" else "",
                    "national_id": "",
                }
            )
        # Receipts: the member half of 500 per person per month is 250; the registration fee's half is 500.
        monthly = 250 * size
        if behaviour != "indigent":
            paid_to = enrol
            day = enrol
            stop = last_day if behaviour != "dropout" else enrol + timedelta(days=rng.randint(120, 400))
            first_payment = True
            while day <= min(stop, last_day):
                months = {"regular": 1, "prepayer": 6, "late": rng.choice([1, 2, 3]), "dropout": 1}[behaviour]
                amount = monthly * months + (500 if first_payment else 0)
                receipt_no += 1
                demo.contributions.append(
                    {
                        "receipt_no": f"RC-{prefix}-{receipt_no:06d}",
                        "household_ref": ref,
                        "date": day.isoformat(),
                        "amount": str(amount),
                        "method": rng.choice(["cash", "cash", "mobile_money"]),
                        "collector": f"Relais {village}",
                    }
                )
                first_payment = False
                paid_to = add_months(paid_to, months)
                gap = {"late": rng.randint(40, 100)}.get(behaviour, 0)
                day = max(day + timedelta(days=7), paid_to - timedelta(days=rng.randint(0, 10)) + timedelta(days=gap))
        # Claims: a few visits a year per person, now and then a hospital stay or a delivery.
        for i, (_relation, sex, _first, _family, _born) in enumerate(people, start=1):
            member_no = f"{ref}-{i:02d}"
            visits = rng.randint(0, 4)
            for _ in range(visits):
                dos = enrol + timedelta(days=rng.randint(75, max(76, (last_day - enrol).days)))
                if dos > last_day - timedelta(days=3):
                    continue
                claim_no += 1
                kind = rng.choices(["OPD", "HOSP", "MAT"], [85, 10, 5 if sex == "F" else 0])[0]
                amount = {
                    "OPD": rng.randint(8, 45) * 100,
                    "HOSP": rng.randint(15, 250) * 1000,
                    "MAT": rng.randint(15, 30) * 1000,
                }[kind]
                provider = {"OPD": rng.choice(provider_opd), "HOSP": "HR-THIES", "MAT": f"CS-{prefix}"}[kind]
                submitted = dos + timedelta(days=rng.randint(1, 25))
                if submitted >= today:
                    submitted = last_day
                paid = submitted + timedelta(days=rng.randint(7, 45))
                demo.claims.append(
                    {
                        "claim_ref": f"{prefix}-C{claim_no:06d}",
                        "member_no": member_no,
                        "provider_code": provider,
                        "benefit_code": kind,
                        "date_of_service": dos.isoformat(),
                        "date_submitted": submitted.isoformat(),
                        "amount_claimed": str(amount),
                        "paid_on": paid.isoformat() if paid < today else "",
                        "diagnosis_code": {
                            "OPD": rng.choice(["B54", "J06.9", "A09", "J18.9"]),
                            "HOSP": "K35.8",
                            "MAT": "O80",
                        }[kind],
                    }
                )


def _subsidy_transfers(rng, demo: DemoScheme, opening: date, today: date) -> None:
    """When the State pays each quarter's subsidies: 10 to 40 days after the quarter ends, as it usually does.

    How much is not decided here: each transfer pays exactly what the programme owes for its quarter (the
    ``subsidies_due`` of the indicators, per programme), which the demo computes once the register and the
    receipts are loaded (``mhi.demo.cli``). The quarters whose transfer has not arrived by the demo's day are the
    deliberate outstanding amount: what the funder still owes.
    """
    n = 0
    quarter = opening
    while add_months(quarter, 3) < today:
        for code in ("CMU-50", "CMU-IND"):
            day = add_months(quarter, 3) + timedelta(days=rng.randint(10, 40))
            if day >= today:
                continue
            n += 1
            demo.subsidy_transfers.append(
                Transfer(
                    reference=f"OV-{demo.setup['code'].split('-')[1]}-{n:03d}",
                    programme_code=code,
                    quarter_from=quarter,
                    quarter_to=add_months(quarter, 3) - timedelta(days=1),
                    day=day,
                )
            )
        quarter = add_months(quarter, 3)


def subsidy_receipt_rows(demo: DemoScheme, due: dict[tuple[str, date], Decimal]) -> list[dict]:
    """subsidy_receipts.csv rows: each transfer pays ``due[(programme, quarter start)]`` (none when nothing is due)."""
    rows = []
    for transfer in demo.subsidy_transfers:
        amount = due.get((transfer.programme_code, transfer.quarter_from), Decimal(0))
        if amount > 0:
            rows.append(
                {
                    "reference": transfer.reference,
                    "programme_code": transfer.programme_code,
                    "date": transfer.day.isoformat(),
                    "amount": str(amount),
                }
            )
    return rows


#: The study the demo's first product of MUT-FANDENE was decided on: its assumptions, set before the scheme ran,
#: are more than 20 % away from what the scheme then saw (a consultation costs more than assumed), so the
#: product's page shows the experience warning (mhi/feasibility/experience.py).
STUDY_SCHEME = "MUT-FANDENE"


def demo_study() -> dict:
    """A feasibility study input (feasibility.md) for the demo's BASE package."""
    return {
        "name": "Mutuelle de Fandène — étude de faisabilité",
        "currency": "XOF",
        "target_population": 1800,
        "household_size": "5",
        "services": [
            {"code": "OPD", "name": "Consultation", "frequency": "1.2", "unit_cost": "1500", "coverage_rate": "0.8",
             "ceiling_per_case": "6000"},
            {"code": "HOSP", "name": "Hospitalisation", "frequency": "0.03", "unit_cost": "60000",
             "coverage_rate": "0.7", "ceiling_per_case": "100000"},
            {"code": "MAT", "name": "Accouchement", "frequency": "0.03", "unit_cost": "20000", "coverage_rate": "1",
             "ceiling_per_case": "25000"},
            {"code": "DEATH", "name": "Allocation décès", "frequency": "0.008", "unit_cost": "25000",
             "coverage_rate": "1"},
        ],
        "insurance_effect": "0.10",
        "loadings": {"admin": "0.15", "reserve": "0.05", "safety": "0.05"},
        "loading_basis": "gross",
        "rounding": "500",
        "subsidy_share": "0.5",
        "per_capita_income": "400000",
        "willingness_to_pay": ["3000", "4000", "5000", "6000", "6000", "8000"],
        "fixed_costs": "300000",
        "variable_cost_per_beneficiary": "300",
        "collection_rate": "0.90",
        "renewal_rate": "0.80",
        "new_enrolment": [300, 150, 150],
        "waiting_period_months": 3,
        "opening_reserve": "500000",
    }  # fmt: skip


def _expenses(rng, demo: DemoScheme, prefix: str, opening: date, today: date) -> None:
    """Monthly running costs: the manager's allowance, rent, sometimes printing, transport and training."""
    n = 0
    month = opening
    while add_months(month, 1) <= today:
        items = [("staff", 15000, "Indemnité du gérant"), ("premises", 3000, "Loyer du local")]
        if rng.random() < 0.3:
            items.append(("printing", rng.randint(2, 8) * 1000, "Cartes et carnets de reçus"))
        if rng.random() < 0.4:
            items.append(("transport", rng.randint(2, 6) * 1000, "Tournée de collecte"))
        if rng.random() < 0.1:
            items.append(("training", 20000, "Formation des relais"))
        for category, amount, description in items:
            n += 1
            demo.expenses.append(
                {
                    "reference": f"PC-{prefix}-{n:04d}",
                    "date": (add_months(month, 1) - timedelta(days=1)).isoformat(),
                    "category": category,
                    "amount": str(amount),
                    "description": description,
                }
            )
        month = add_months(month, 1)
