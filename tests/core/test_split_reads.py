"""A long read split over processes (``core.db.split_over_processes``, issue 17): on PostgreSQL each part but the
first is read by a process forked for it, all on the caller's snapshot; a part whose process fails is read by the
caller; on SQLite every part is read by the caller. A read apart (``core.db.read_apart``): on PostgreSQL a forked
process reads while the caller goes on; on SQLite, or when that process fails, the caller reads when it asks."""

from __future__ import annotations

import os
from functools import partial

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from mhi.core.db import db, read_apart, split_over_processes
from mhi.schemes.models import Federation
from tests.factories import make_federation, record_forks


def _codes(connection, k: int, n: int) -> tuple[int, int, int, list[str]]:
    """Which process read part ``k`` of ``n``, and the federations it saw."""
    return os.getpid(), k, n, list(connection.execute(select(Federation.code).order_by(Federation.code)).scalars())


def test_the_parts_of_a_split_read_are_read_apart_on_one_snapshot(ctx):
    make_federation(db.session, "FED-A")
    engine = db.engine
    postgresql = engine.dialect.name == "postgresql"
    with engine.connect() as connection:
        if postgresql:
            connection.execution_options(isolation_level="REPEATABLE READ")
        with connection.begin(), Session(bind=connection) as reader:
            assert reader.scalar(select(Federation.code)) == "FED-A"  # the snapshot is taken
            if postgresql:
                # Committed once the reader's snapshot is taken: no part may see it (on SQLite the reader's shared
                # lock would hold this writer until the read ends).
                make_federation(db.session, "FED-B")
            parts = split_over_processes(reader, _codes, 3)
    assert [(k, n, seen) for _, k, n, seen in parts] == [(0, 3, ["FED-A"]), (1, 3, ["FED-A"]), (2, 3, ["FED-A"])]
    readers = [pid for pid, *_ in parts]
    if postgresql:
        assert readers[0] == os.getpid() and len(set(readers)) == 3
    else:
        assert readers == [os.getpid()] * 3


def _fails_apart(connection, k: int, n: int, parent: int = os.getpid()):
    if os.getpid() != parent:
        raise RuntimeError("a part's process fails")
    return _codes(connection, k, n)


def test_a_part_whose_process_fails_is_read_by_the_caller(ctx, capfd):
    make_federation(db.session, "FED-A")
    engine = db.engine
    with engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            connection.execution_options(isolation_level="REPEATABLE READ")
        with connection.begin(), Session(bind=connection) as reader:
            parts = split_over_processes(reader, _fails_apart, 2)
    assert parts == [(os.getpid(), 0, 2, ["FED-A"]), (os.getpid(), 1, 2, ["FED-A"])]
    if engine.dialect.name == "postgresql":
        assert "a part's process fails" in capfd.readouterr().err  # the child's traceback, on stderr


def _fails_here(connection, k: int, n: int, parent: int = os.getpid()):
    if os.getpid() == parent:
        raise RuntimeError("the caller's part fails")
    return _codes(connection, k, n)


def test_when_the_callers_part_fails_no_child_is_left_behind(ctx, monkeypatch):
    make_federation(db.session, "FED-A")
    engine = db.engine
    forked = record_forks(monkeypatch)
    with engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            connection.execution_options(isolation_level="REPEATABLE READ")
        with connection.begin(), Session(bind=connection) as reader:
            with pytest.raises(RuntimeError, match="the caller's part fails"):
                split_over_processes(reader, _fails_here, 3)
    assert len(forked) == (2 if engine.dialect.name == "postgresql" else 0)
    for pid in forked:
        with pytest.raises(ChildProcessError):  # stopped and waited for: not running, not a zombie
            os.waitpid(pid, os.WNOHANG)


def _federations(engine, parent: int | None = None) -> tuple[int, list[str]]:
    """Which process read, and the federations it saw; fails in any process but ``parent`` if given."""
    if parent is not None and os.getpid() != parent:
        raise RuntimeError("the reading process fails")
    with engine.connect() as connection:
        return os.getpid(), list(connection.execute(select(Federation.code).order_by(Federation.code)).scalars())


def test_a_read_apart_runs_in_a_process_of_its_own_while_the_caller_writes(ctx):
    make_federation(db.session, "FED-A")
    engine = db.engine
    result = read_apart(engine, _federations)
    make_federation(db.session, "FED-B")  # the caller goes on meanwhile (committed: seen or not, by timing)
    reader, seen = result()
    if engine.dialect.name == "postgresql":
        assert reader != os.getpid() and seen[0] == "FED-A"
    else:
        assert (reader, seen) == (os.getpid(), ["FED-A", "FED-B"])  # read when asked


def test_a_read_apart_whose_process_fails_is_read_by_the_caller(ctx, capfd):
    make_federation(db.session, "FED-A")
    result = read_apart(db.engine, partial(_federations, parent=os.getpid()))
    assert result() == (os.getpid(), ["FED-A"])
    if db.engine.dialect.name == "postgresql":
        assert "the reading process fails" in capfd.readouterr().err  # the child's traceback, on stderr


def test_an_abandoned_read_apart_leaves_no_child(ctx, monkeypatch):
    make_federation(db.session, "FED-A")
    forked = record_forks(monkeypatch)
    result = read_apart(db.engine, _federations)
    assert result(abandon=True) is None
    assert len(forked) == (1 if db.engine.dialect.name == "postgresql" else 0)
    for pid in forked:
        with pytest.raises(ChildProcessError):  # stopped and waited for: not running, not a zombie
            os.waitpid(pid, os.WNOHANG)
