"""Imports flow one way (STYLE.md, issue 17): core → auth → schemes → members → contributions → (payments) →
subsidies → claims → pooling → {reports, cards, feasibility}, then what reads everything (api, fhir, home, audit,
demo). Payments (group payers, operators: receipts of contributions) came later and sits after contributions.

Every import is walked with ``ast`` — function-level ones included — in every module of ``mhi``. A feature's
domain modules (models, services, queries, rules, imports, …) import only features before it; its delivery modules
(``views``, ``cli``, ``forms``, ``uploads``: the web and command-line layer that wires features together and owns
the transaction) may also call a later feature's services, as a request handler does. ``core`` names no feature.
The features' domain graph has no cycle.
"""

from __future__ import annotations

import ast
from pathlib import Path

import mhi

ORDER = (
    "core",
    "auth",
    "schemes",
    "governance",  # assemblies and resolutions: read by the version activation (feasibility) and statements (cards)
    "members",
    "contributions",
    "payments",  # group payers and payment operators: receipts of contributions
    "subsidies",
    "claims",
    "pooling",
    "messaging",  # the SMS outbox reads receipts, ledgers and claims; cards queue "card ready"
    "reports",
    "cards",
    "feasibility",
    "api",  # the JSON API and FHIR read everything, nothing reads them
    "fhir",
    "home",
    "audit",
    "demo",
)
#: Delivery modules: they may import any feature but core (request and command handlers compose features).
DELIVERY = {"views", "cli", "forms", "uploads", "setup_views"}
#: Known exceptions, each with its reason (docs/decisions.md).
EXCEPTIONS = {
    ("pooling", "reports"): "pooling.md defines the settlement on each scheme's indicators",
}
ROOT = Path(mhi.__file__).resolve().parent


def _imports() -> list[tuple[str, str, str, int]]:
    """(importing module path, its feature, imported feature, line) for every import of an ``mhi`` feature."""
    found = []
    for path in sorted(ROOT.rglob("*.py")):
        relative = path.relative_to(ROOT)
        if len(relative.parts) < 2:
            continue  # mhi/__init__.py: the app factory wires every feature
        feature = relative.parts[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                if node.module == "mhi":
                    names = [alias.name for alias in node.names]
                elif node.module.startswith("mhi."):
                    names = [node.module.split(".")[1]]
            elif isinstance(node, ast.Import):
                names = [alias.name.split(".")[1] for alias in node.names if alias.name.startswith("mhi.")]
            for target in names:
                if target != feature and (ROOT / target).is_dir():
                    found.append((str(relative), feature, target, node.lineno))
    return found


def test_every_feature_is_placed():
    features = {p.name for p in ROOT.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert features <= set(ORDER), f"place these features in ORDER: {sorted(features - set(ORDER))}"


def test_imports_flow_one_way():
    rank = {feature: index for index, feature in enumerate(ORDER)}
    wrong = []
    for module, feature, target, line in _imports():
        if feature == "core":
            wrong.append(f"{module}:{line} core imports {target} (core names no feature)")
        elif Path(module).stem in DELIVERY:
            continue
        elif rank[target] > rank[feature] and (feature, target) not in EXCEPTIONS:
            wrong.append(f"{module}:{line} {feature} imports {target}, which comes after it")
    assert wrong == []


def test_no_cycle_between_features():
    graph: dict[str, set[str]] = {}
    for module, feature, target, _ in _imports():
        if Path(module).stem not in DELIVERY and (feature, target) not in EXCEPTIONS:
            graph.setdefault(feature, set()).add(target)
    state: dict[str, str] = {}
    cycles = []

    def visit(node: str, trail: list[str]) -> None:
        state[node] = "open"
        for target in sorted(graph.get(node, ())):
            if state.get(target) == "open":
                cycles.append(" → ".join([*trail[trail.index(target) :], target]))
            elif target not in state:
                visit(target, [*trail, target])
        state[node] = "done"

    for feature in sorted(graph):
        if feature not in state:
            visit(feature, [feature])
    assert cycles == []


def test_the_walk_sees_function_level_imports(tmp_path):
    """The walk reads imports inside functions too (the ones that hid core's reach into features)."""
    seen = {(module, target) for module, _, target, _ in _imports()}
    assert ("reports/ledgers.py", "contributions") in seen  # top-level
    assert ("reports/cli.py", "schemes") in seen  # inside a command function
