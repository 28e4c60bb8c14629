"""The database handle and the column types every feature shares.

Money is stored as integer thousandths behind one ``Money`` type, so it is exact on SQLite (whose NUMERIC
round-trips through float) and on PostgreSQL alike; rates and shares likewise as integer millionths. Both come
back as ``Decimal``, also from SQL aggregates (``func.sum`` keeps the column's type).
"""

from __future__ import annotations

from decimal import Decimal
from functools import wraps

from flask import current_app, g, has_request_context
from flask_sqlalchemy import SQLAlchemy
from flask_sqlalchemy.session import Session as FlaskSession
from sqlalchemy import BigInteger, MetaData, create_engine
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

# A naming convention gives every constraint a stable name, so migrations can drop and alter them on both
# databases (Alembic cannot address an unnamed constraint).
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base of every model."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


#: Where the application keeps the reporting replica's engine (``MHI_REPORTING_DATABASE_URL``): an engine of its
#: own, not a Flask-SQLAlchemy bind, since no table lives there and ``create_all`` must never reach it.
REPORTING_ENGINE = "mhi.reporting_engine"


def init_reporting(app) -> None:
    """Open the reporting replica's engine when one is configured (a streaming replica of the primary)."""
    url = app.config.get("MHI_REPORTING_DATABASE_URL")
    if url:
        options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
        app.extensions[REPORTING_ENGINE] = create_engine(url, **options)


class RoutingSession(FlaskSession):
    """The session of every request, job and command: the primary database, except the plain reads of a view
    marked ``@reporting_read`` when a reporting replica is configured.

    Only a SELECT without FOR UPDATE goes to the replica; a flush, an INSERT/UPDATE/DELETE, raw SQL and a locking
    read stay on the primary, so a report view that audits what it showed still writes where writes belong.
    Without the replica setting, or outside a request, nothing changes.
    """

    def get_bind(self, mapper=None, clause=None, bind=None, **kwargs):
        if bind is None and not self._flushing and _reporting_wanted(clause):
            engine = current_app.extensions.get(REPORTING_ENGINE)
            if engine is not None:
                return engine
        return super().get_bind(mapper=mapper, clause=clause, bind=bind, **kwargs)


def _reporting_wanted(clause) -> bool:
    """A plain read inside a view that asked for the replica."""
    if not (has_request_context() and g.get("mhi_reporting_read")):
        return False
    return bool(getattr(clause, "is_select", False)) and getattr(clause, "_for_update_arg", None) is None


def reporting_read(view):
    """Mark a view as a pure read of figures (a report, an export): its SELECTs may be served by the reporting
    replica, which may lag the primary by a few seconds. Register views, the desk and every write stay on the
    primary."""

    @wraps(view)
    def routed(*args, **kwargs):
        g.mhi_reporting_read = True
        return view(*args, **kwargs)

    return routed


db = SQLAlchemy(model_class=Base, session_options={"class_": RoutingSession})


class ScaledDecimal(TypeDecorator):
    """A Decimal stored exactly as an integer count of 10**-scale units."""

    impl = BigInteger
    cache_ok = True

    def __init__(self, scale: int):
        super().__init__()
        self.scale = scale
        self._factor = Decimal(10) ** scale

    def process_bind_param(self, value, dialect):
        """Decimal → integer units; refuses floats and values finer than the scale (they would be lost)."""
        if value is None:
            return None
        if isinstance(value, float):
            raise TypeError("money and rates are Decimal, never float")
        scaled = Decimal(value) * self._factor
        if scaled != scaled.to_integral_value():
            raise ValueError(f"{value} has more than {self.scale} decimals")
        return int(scaled)

    def process_result_value(self, value, dialect):
        """Integer units (or an aggregate of them) → Decimal."""
        if value is None:
            return None
        result = Decimal(int(value)).scaleb(-self.scale)
        # Plain notation without trailing zeros: 1500 rather than 1500.000 or 1.5E+3.
        return result.quantize(Decimal(1)) if result == result.to_integral_value() else result.normalize()

    @property
    def python_type(self):
        return Decimal


class Money(ScaledDecimal):
    """Every amount of money: thousandths of the currency unit (enough for TND, KWD's 3 decimals)."""

    cache_ok = True

    def __init__(self):
        super().__init__(3)


class Rate(ScaledDecimal):
    """Shares, rates and ratios that are rules (coverage rate 0.7, subsidy share 0.5): millionths."""

    cache_ok = True

    def __init__(self):
        super().__init__(6)


#: The first key of the advisory lock a transaction takes on a scheme before it writes any of the scheme's totals
#: kept by its writes (``lock_scheme_totals``); the second key is the scheme's id.
SCHEME_TOTALS_LOCK = 17_017


def lock_scheme_totals(session, scheme_id: int) -> None:
    """On PostgreSQL, hold the scheme's totals lock until the transaction ends (docs/decisions.md "One lock per
    scheme before its totals").

    The totals kept by the writes (coverage changes, period totals, due totals) are written by several statements
    of a transaction, each locking the total rows it changes in key order — but not in one order across the
    statements: two refreshes of different households of one scheme can lock shared total rows in crossed orders,
    and PostgreSQL then aborts one as a deadlock. Every transaction that writes them therefore takes this lock
    first, before the households and before any total row: the refresh, the stored ledgers' repair, every import
    (``core.tabular.lock_scheme_for_import``) and the person triggers (coverage_totals). Writers of one scheme
    then follow each other for the few milliseconds of a desk's write; other schemes are not held up. Taken twice
    in one transaction, it is already held. SQLite has a single writer."""
    from sqlalchemy import text

    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text("SELECT pg_advisory_xact_lock(:key, :scheme)"), {"key": SCHEME_TOTALS_LOCK, "scheme": scheme_id}
        )


def engine_seeing_as_this(session, tables):
    """On PostgreSQL, the engine when this transaction has not yet changed a row of ``tables`` (a sequence of
    Table objects): another connection then reads those tables as this one does — the committed rows — so a long
    read of them can run there, on the other core, while this connection is busy (the members import reads the
    register during the persons' COPY, issue 17). None on SQLite, when the session is not bound to an engine, when
    PostgreSQL does not count the transaction's writes (``track_counts`` off), or once this transaction inserted,
    updated or deleted a row of one of ``tables``: the other connection would not see those changes."""
    from sqlalchemy import text
    from sqlalchemy.engine import Engine

    bind = session.get_bind()
    if not isinstance(bind, Engine) or bind.dialect.name != "postgresql":
        return None
    # pg_stat_xact_user_tables: this transaction's counts so far (COPY and rolled-back savepoints included), plus
    # those of the connection's earlier transactions until it has been idle a second or so: a false "changed" (the
    # register then read here, as before), never a false "unchanged".
    changed = session.execute(
        text(
            "SELECT current_setting('track_counts') <> 'on' OR EXISTS (SELECT 1 FROM pg_stat_xact_user_tables"
            " WHERE relid = ANY(CAST(:names AS regclass[])) AND n_tup_ins + n_tup_upd + n_tup_del > 0)"
        ),
        {"names": [table.name for table in tables]},
    ).scalar_one()
    return None if changed else bind


def one_of(session, column, values):
    """``column IN values`` for a long list of ``values`` (a batch of ids): on PostgreSQL one array parameter,
    ``column = ANY(:values)``, since psycopg rewrites a statement's every placeholder in Python and thousands of
    them cost more than the query (issue 17, import speed); elsewhere a plain IN list."""
    from sqlalchemy import ARRAY, any_, bindparam

    values = list(values)
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam(None, values, type_=ARRAY(column.type)))
    return column.in_(values)


def _forked(run) -> tuple[int, int]:
    """Fork a process that runs ``run()`` and sends its (picklable) result through a pipe: (pid, the pipe's read
    end), for ``_collected``. The child never touches what it inherited from this process (connections, threads'
    locks): ``run`` opens its own engine; the child leaves by ``os._exit``, so nothing of this process runs at its
    exit, and a failure is reported on stderr, with an empty pipe."""
    import os
    import pickle
    import signal
    import sys
    import traceback

    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        status = 1
        try:
            os.close(read_end)
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            result = run()
            with os.fdopen(write_end, "wb") as out:
                pickle.dump(result, out, protocol=pickle.HIGHEST_PROTOCOL)
            status = 0
        except BaseException:  # noqa: BLE001 — reported on stderr; the caller does the work itself
            traceback.print_exc(file=sys.stderr)
        finally:
            os._exit(status)
    os.close(write_end)
    return pid, read_end


def _collected(pid: int, read_end: int) -> tuple[bool, object]:
    """(True, the result) of a ``_forked`` process, once it has ended, or (False, None) if it failed."""
    import os
    import pickle

    with os.fdopen(read_end, "rb") as source:
        data = source.read()
    _, status = os.waitpid(pid, 0)
    return (True, pickle.loads(data)) if status == 0 and data else (False, None)


def _abandoned(children) -> None:
    """Stop and wait for ``_forked`` processes whose results are not wanted (the caller failed): none is left
    blocked on its pipe, holding a connection."""
    import os
    import signal

    for pid, read_end in children:
        os.kill(pid, signal.SIGTERM)
        os.close(read_end)
        os.waitpid(pid, 0)


def read_apart(engine, work):
    """Start ``work(engine)``, a long read on connections of its own, in a process forked for it, and return the
    function that waits for its result: this process goes on meanwhile (the members import copies its households
    and persons and writes their derived rows while the register is read for likely duplicates, issue 17). The
    child works on an engine of its own, on ``engine``'s database, so it sees what any new connection sees: the
    committed rows. ``work`` returns something picklable.

    On SQLite, or without ``os.fork``, ``work`` runs when its result is asked for; so does it when the child
    failed (its traceback is on stderr). The returned function takes ``abandon=True`` when the result is not
    wanted (the caller failed): the child is then stopped (once: a second call does nothing)."""
    import os

    from sqlalchemy.pool import NullPool

    if engine.dialect.name != "postgresql" or not hasattr(os, "fork"):
        return lambda abandon=False: None if abandon else work(engine)
    url = engine.url

    def run():
        own = create_engine(url, poolclass=NullPool)
        try:
            return work(own)
        finally:
            own.dispose()

    pending = [_forked(run)]

    def result(abandon: bool = False):
        # Once taken or abandoned, the child is gone: abandoning it again does nothing.
        if abandon:
            _abandoned(pending)
            pending.clear()
            return None
        done, value = _collected(*pending.pop())
        return value if done else work(engine)

    return result


def split_over_processes(session, work, parts: int) -> list:
    """``[work(connection, k, parts) for k in range(parts)]`` on PostgreSQL with part 0 read here, on ``session``'s
    connection, and each other part in a process forked for it (``_forked``), on a connection of its own: a long
    read that is Python's work (the members import's scan of the register, issue 17) then uses every core. Every
    part sees what ``session`` sees: the transaction must be REPEATABLE READ (or SERIALIZABLE) and must not have
    written, and the children import its snapshot (``pg_export_snapshot``). ``work`` returns something picklable.

    A child that fails (a connection refused, a signal) costs time, not the answer: its part is read here. Without
    ``os.fork``, every part is read here."""
    import os
    import re

    from sqlalchemy import text
    from sqlalchemy.pool import NullPool

    connection = session.connection()
    if parts < 2 or not hasattr(os, "fork") or connection.dialect.name != "postgresql":
        return [work(connection, k, parts) for k in range(parts)]
    snapshot = connection.execute(text("SELECT pg_export_snapshot()")).scalar_one()
    if not re.fullmatch(r"[0-9A-F-]+", snapshot):  # inlined below: SET TRANSACTION takes no parameter
        raise ValueError(f"unexpected snapshot id {snapshot!r}")
    url = connection.engine.url

    def part(k: int):
        engine = create_engine(url, poolclass=NullPool)
        with engine.connect() as own:
            own = own.execution_options(isolation_level="REPEATABLE READ")
            with own.begin():
                own.execute(text(f"SET TRANSACTION SNAPSHOT '{snapshot}'"))
                result = work(own, k, parts)
        engine.dispose()
        return result

    children = {k: _forked(lambda k=k: part(k)) for k in range(1, parts)}  # part → (pid, read end)
    try:
        results = {0: work(connection, 0, parts)}
    except BaseException:
        _abandoned(children.values())
        raise
    for k, child in children.items():
        done, value = _collected(*child)
        results[k] = value if done else work(connection, k, parts)
    return [results[k] for k in range(parts)]
