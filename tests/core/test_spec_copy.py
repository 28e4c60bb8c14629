"""The repository carries its own copy of the contracts (``docs/spec``) so that a clone with nothing beside it
passes ``make test``. When the shared contracts sit beside the clone (``../shared/spec``, as on the developers'
machines and in CI), the copy must be identical to them, file for file and byte for byte."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
COPY = REPO / "docs" / "spec"
SHARED = REPO.parent / "shared" / "spec"


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_the_repository_carries_the_examples():
    """What the replay tests read is in the repository itself."""
    for name in ("ndiagane", "ndiagane-expected", "fatick", "fatick-expected"):
        assert (COPY / "examples" / name / "federation.json").is_file(), name
    assert (COPY / "examples" / "fandene-study.json").is_file()


def test_copy_matches_the_shared_contracts():
    """docs/spec is the shared contracts, unchanged: a change upstream fails here until it is copied in."""
    if not SHARED.is_dir():
        pytest.skip("no ../shared/spec beside this clone: nothing to compare the copy with")
    shared, copy = _files(SHARED), _files(COPY)
    assert sorted(copy) == sorted(shared), "files differ: copy ../shared/spec into docs/spec"
    changed = [name for name in shared if shared[name] != copy[name]]
    assert not changed, f"docs/spec differs from ../shared/spec in {changed}: copy it in again"
