"""Time 10,000 member cards in one PDF (targets: under 20 s and under 500 MB peak memory), against two floors.

Run with ``.venv/bin/python bench/bench_cards.py [--cards N] [--photo-share 1.0] [--database-url URL]`` from the
repository root. Each measurement runs in a fresh process so its peak RSS (``resource.getrusage``) is its own:

- ``app``: the application's path, ``print_cards`` on a register of N persons (households of 5) in a database
  (a temporary SQLite file unless ``--database-url``): the query, the chunked loading with photos, the drawing.
- ``floor``: the same drawing code (``render_cards``) fed cards already in memory: no app, no database.
- ``stock``: plain ReportLab drawing the same card's strings, the photo and ReportLab's own ``QrCodeWidget``
  rendered with ``renderPDF`` — what a straightforward implementation costs.

Prints wall and CPU seconds, pages per second, peak RSS and PDF size for each. On a shared machine the wall
time depends on the other load; the CPU time is what the work itself costs.
"""

from __future__ import annotations

import argparse
import io
import json
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

HOUSEHOLD_SIZE = 5
TARGET_SECONDS = 20
TARGET_MB = 500
FIRST_NAMES = ("Aïssatou", "François", "Mamadou", "Fatou", "Ndèye", "Ibrahima", "Khady", "Moussa")
LAST_NAMES = ("Lô", "Ndiaye-Sène", "Diop", "Fall", "Sarr", "Faye", "Ba", "Sow")


def photos(count: int) -> list[bytes]:
    """``count`` distinct small JPEG portraits (distinct bytes: ReportLab would embed a repeated image once)."""
    from PIL import Image, ImageDraw

    result = []
    for n in range(count):
        image = Image.new("RGB", (90, 112), (150 + n % 100, 180 + n % 70, 200 + n % 50))
        draw = ImageDraw.Draw(image)
        draw.ellipse((22, 12, 68, 66), fill=(230, 200 - n % 40, 170))
        draw.rectangle((14, 70, 76, 112), fill=(60, 60 + n % 90, 120))
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=80)
        result.append(buffer.getvalue())
    return result


def person_fields(n: int) -> dict:
    """The card fields of the n-th person of the bench register."""
    return {
        "member_no": f"BEN-{n:06d}",
        "first_name": FIRST_NAMES[n % len(FIRST_NAMES)],
        "last_name": LAST_NAMES[(n // 3) % len(LAST_NAMES)],
        "sex": "F" if n % 2 else "M",
        "date_of_birth": date(1960, 1, 1) + timedelta(days=(n * 37) % 20000),
    }


def app_config(url: str) -> dict:
    """The application's configuration for the bench database."""
    return {"TESTING": True, "SECRET_KEY": "bench", "SQLALCHEMY_DATABASE_URI": url}


def setup(url: str, cards: int, photo_share: float) -> None:
    """Fill an empty database with one scheme and ``cards`` persons in households of five (bulk inserts)."""
    from decimal import Decimal

    from sqlalchemy import insert

    from mhi import create_app
    from mhi.core.db import db
    from mhi.members.models import Household, Person
    from mhi.schemes.models import Product, ProductVersion, Scheme

    app = create_app(app_config(url))
    enrolment = date.today() - timedelta(days=30)  # recent: nobody is struck off on the print day
    with app.app_context():
        db.drop_all()
        db.create_all()
        scheme = Scheme(
            code="BENCH",
            name="Mutuelle de santé de Ndiagane",
            country="SN",
            currency="XOF",
            locale="fr_SN",
            opening_date=date(2024, 1, 1),
            settings={"card_layout": "person"},
        )
        product = Product(scheme=scheme, code="BASE", name="Paquet de base")
        version = ProductVersion(
            product=product,
            effective_from=date(2024, 1, 1),
            basis="person",
            amount=Decimal(300),
            period_months=1,
            grace_period_days=30,
        )
        db.session.add_all([scheme, product, version])
        db.session.flush()
        households = -(-cards // HOUSEHOLD_SIZE)
        db.session.execute(
            insert(Household),
            [
                {
                    "scheme_id": scheme.id,
                    "ref": f"H-{h:05d}",
                    "product_id": product.id,
                    "category": "standard",
                    "village": f"Village {h % 40:02d}",
                    "phone": "",
                    "language": "",
                    "enrolment_date": enrolment,
                }
                for h in range(households)
            ],
        )
        ids = dict(db.session.execute(db.select(Household.ref, Household.id)).all())
        pictures = photos(int(cards * photo_share))
        rows = []
        for n in range(cards):
            rows.append(
                {
                    "scheme_id": scheme.id,
                    "household_id": ids[f"H-{n // HOUSEHOLD_SIZE:05d}"],
                    "relation": "head" if n % HOUSEHOLD_SIZE == 0 else "child",
                    "enrolment_date": enrolment,
                    "village": "",
                    "phone": "",
                    "national_id": "",
                    "exit_reason": "",
                    "photo": pictures[n] if n < len(pictures) else None,
                    **person_fields(n),
                }
            )
            if len(rows) == 2000:
                db.session.execute(insert(Person), rows)
                rows = []
        if rows:
            db.session.execute(insert(Person), rows)
        db.session.commit()


def run_app(url: str) -> dict:
    """The application's path: print everyone's cards from the database."""
    from mhi import create_app
    from mhi.cards.services import make_scope, print_cards
    from mhi.core.db import db
    from mhi.schemes.models import Scheme

    app = create_app(app_config(url))
    with app.app_context():
        scheme = db.session.scalar(db.select(Scheme).where(Scheme.code == "BENCH"))
        started, cpu = time.perf_counter(), time.process_time()
        count, pdf = print_cards(
            db.session, scheme, make_scope("all"), on=date.today(), language="fr", gettext=lambda s: s
        )
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    return {"cards": count, "seconds": elapsed, "cpu": cpu, "bytes": len(pdf)}


def memory_cards(cards: int, photo_share: float) -> list:
    """The bench register's cards, built in memory (the floors' input)."""
    from mhi.cards.services import PersonCard

    pictures = photos(int(cards * photo_share))
    result = []
    for n in range(cards):
        fields = person_fields(n)
        result.append(
            PersonCard(
                member_no=fields["member_no"],
                name=f"{fields['first_name']} {fields['last_name']}",
                household_ref=f"H-{n // HOUSEHOLD_SIZE:05d}",
                date_of_birth=fields["date_of_birth"],
                sex=fields["sex"],
                product="Paquet de base",
                member_since=date(2024, 1, 1),
                photo=pictures[n] if n < len(pictures) else None,
            )
        )
    return result


def run_floor(cards: int, photo_share: float) -> dict:
    """The same drawing code without the application or a database."""
    from mhi.cards.pdf import render_cards

    items = memory_cards(cards, photo_share)
    started, cpu = time.perf_counter(), time.process_time()
    pdf = render_cards(
        items, scheme_name="Mutuelle de santé de Ndiagane", logo=None, locale="fr_SN", gettext=lambda s: s
    )
    return {
        "cards": cards,
        "seconds": time.perf_counter() - started,
        "cpu": time.process_time() - cpu,
        "bytes": len(pdf),
    }


def run_stock(cards: int, photo_share: float) -> dict:
    """Plain ReportLab: the card's strings, its photo and the stock QrCodeWidget drawn by renderPDF."""
    from babel.dates import format_date
    from reportlab.graphics import renderPDF
    from reportlab.graphics.barcode.qr import QrCodeWidget
    from reportlab.graphics.shapes import Drawing
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen.canvas import Canvas

    from mhi.core.pdf import FONT, FONT_BOLD, register_fonts

    register_fonts()
    items = memory_cards(cards, photo_share)
    started, cpu = time.perf_counter(), time.process_time()
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4, pageCompression=1)
    width, height = 85.6 * mm, 54 * mm
    for index, card in enumerate(items):
        slot = index % 10
        x, y = 19.4 * mm + (slot % 2) * width, 13.5 * mm + (4 - slot // 2) * height
        canvas.rect(x, y, width, height)
        canvas.setFont(FONT_BOLD, 8.5)
        canvas.drawString(x + 3 * mm, y + height - 5 * mm, "Mutuelle de santé de Ndiagane")
        canvas.setFont(FONT_BOLD, 10)
        canvas.drawString(x + 25 * mm, y + 40 * mm, card.name)
        canvas.setFont(FONT, 7.5)
        for line, text in enumerate(
            (
                card.member_no,
                card.household_ref,
                format_date(card.date_of_birth, "medium", locale="fr_SN"),
                card.sex,
                card.product,
                format_date(card.member_since, "medium", locale="fr_SN"),
            )
        ):
            canvas.drawString(x + 25 * mm, y + (35 - 3.3 * line) * mm, text)
        if card.photo:
            canvas.drawImage(ImageReader(io.BytesIO(card.photo)), x + 3 * mm, y + 16 * mm, 19 * mm, 24 * mm)
        widget = QrCodeWidget(card.member_no, barLevel="M", barWidth=23 * mm, barHeight=23 * mm)
        drawing = Drawing(23 * mm, 23 * mm)
        drawing.add(widget)
        renderPDF.draw(drawing, canvas, x + width - 24 * mm, y + 1 * mm)
        if slot == 9:
            canvas.showPage()
    if len(items) % 10:
        canvas.showPage()
    canvas.save()
    return {
        "cards": cards,
        "seconds": time.perf_counter() - started,
        "cpu": time.process_time() - cpu,
        "bytes": len(buffer.getvalue()),
    }


def measure(kind: str, args) -> dict:
    """Run one measurement in a fresh process and read its result (its own peak RSS included)."""
    command = [
        sys.executable,
        __file__,
        "--child",
        kind,
        "--cards",
        str(args.cards),
        "--photo-share",
        str(args.photo_share),
        "--database-url",
        args.database_url,
    ]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def child(args) -> None:
    """The body of one measuring process: print its result as JSON on the last line."""
    if args.child == "app":
        result = run_app(args.database_url)
    elif args.child == "floor":
        result = run_floor(args.cards, args.photo_share)
    else:
        result = run_stock(args.cards, args.photo_share)
    # ru_maxrss is in kilobytes on Linux: the process's peak resident memory, setup included.
    result["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))


def main() -> None:
    """Set up the register, then measure the app, the floor and stock ReportLab."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cards", type=int, default=10_000)
    parser.add_argument("--photo-share", type=float, default=1.0, help="share of persons with a photo")
    parser.add_argument("--database-url", default="")
    parser.add_argument("--skip-stock", action="store_true")
    parser.add_argument("--child", choices=("app", "floor", "stock"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    with tempfile.TemporaryDirectory() as folder:
        if not args.database_url:
            args.database_url = f"sqlite:///{folder}/bench.sqlite"
        started = time.perf_counter()
        setup(args.database_url, args.cards, args.photo_share)
        print(
            f"register: {args.cards:,} persons, {args.photo_share:.0%} with a photo, set up in "
            f"{time.perf_counter() - started:.1f} s ({args.database_url.split(':')[0]})"
        )
        kinds = ("app", "floor") if args.skip_stock else ("app", "floor", "stock")
        results = {kind: measure(kind, args) for kind in kinds}
    for kind, result in results.items():
        pages = -(-result["cards"] // 10)
        print(
            f"{kind:>5}: {result['cards']:,} cards, {pages:,} pages in {result['seconds']:.2f} s = "
            f"{pages / result['seconds']:.0f} pages/s (CPU {result['cpu']:.2f} s = "
            f"{pages / result['cpu']:.0f} pages/s); peak RSS {result['peak_mb']:.0f} MB; PDF {result['bytes'] / 1e6:.1f} MB"
        )
    app = results["app"]
    ok = app["seconds"] < TARGET_SECONDS and app["peak_mb"] < TARGET_MB
    print(f"targets (< {TARGET_SECONDS} s, < {TARGET_MB} MB): {'met' if ok else 'MISSED'}")


if __name__ == "__main__":
    main()
