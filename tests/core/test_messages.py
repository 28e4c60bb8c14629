"""Every message a person reads is a message id with parameters (issue 16, "Every message translatable").

The source of mhi/ is read as a syntax tree: a ``raise`` of a user-facing error, or a ``Problem(...)``, whose
message is a plain string, an f-string or a string formatted in place fails, because gettext can only find a
message written as a constant template (``N_("… %(name)s …")``) with its values beside it.
"""

from __future__ import annotations

import ast
from decimal import Decimal
from pathlib import Path

import pytest

from mhi.core.errors import N_, Term, UserError, say
from mhi.core.validation import FieldError, InputRejected, Problem

ROOT = Path(__file__).resolve().parents[2] / "mhi"

#: Exceptions that never reach a person as a message: programming errors, and the command line's own (the
#: command line speaks English, cli.md). ``PasswordRejected`` carries a reason code, said by auth/forms.py.
NOT_FOR_READERS = {
    "AssertionError",
    "AttributeError",
    "IndexError",
    "KeyError",
    "LookupError",
    "NotImplementedError",
    "RuntimeError",
    "SystemExit",
    "TypeError",
    "Rejected",  # mhi/core/cli.py: the command line's refusal, English like every CLI message
    "BadParameter",
    "UsageError",
    "ClickException",
    "PasswordRejected",  # a reason code (too_short, common, …), each said by auth/forms.py
    "JobFailed",  # a message id of core/jobs.py with its parameters
    "DeactivationRefused",  # a reason code (self, last_admin), said by auth/views.py
    "TokenError",  # a reason code (inactive, expiry_past, …), said by auth/views.py
}

#: (file, exception) pairs whose plain-string raises are checks of the program's own invariants or of the
#: operator's configuration, never of what a clerk typed: each says why.
INTERNAL = {
    ("core/backup.py", "BackupRefused"): "flask backup / restore only: the command line speaks English",
    ("core/db.py", "ValueError"): "the Money column refusing a value the services already rounded",
    ("core/jobs.py", "ValueError"): "registering job handlers at start-up",
    ("core/sheets.py", "ValueError"): "a column kind or format unknown to the code",
    ("core/pdf.py", "FileNotFoundError"): "a font missing from the server",
    ("core/storage.py", "FileNotFoundError"): "MHI_STORAGE_DIR missing on the server",
    ("cards/receipt.py", "ValueError"): "a slip size unknown to the code",
    ("contributions/rules.py", "ValueError"): "the engine's inputs, built by services that validated them",
    ("pooling/rules.py", "ValueError"): "pool rules, validated when federation.json is loaded",
    ("pooling/stress.py", "ValueError"): "the stress test's own arguments, set by the view",
    ("messaging/gateways.py", "ValueError"): "MHI_SMS_* settings of the server",
    ("messaging/gateways.py", "GatewayError"): "the SMS gateway's answer, kept in the outbox's technical log",
    ("feasibility/method.py", "ValueError"): "caught by load_study_text and reported as a StudyError",
    ("feasibility/services.py", "ValueError"): "the comparison view always sends 2 to 4 studies",
    ("reports/indicators.py", "ValueError"): "periods are read by reports/services.py first",
}


def _name(func: ast.expr) -> str:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return ""


def _is_plain_text(node: ast.expr) -> bool:
    """A message written in place: a literal, an f-string, ``"…" % x`` or ``"…".format(x)``."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return True
    if isinstance(node, ast.JoinedStr):
        return True
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod):
        return _is_plain_text(node.left)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format":
        return _is_plain_text(node.func.value)
    return False


def plain_messages(root: Path = ROOT) -> list[str]:
    """Every raise or Problem(...) of mhi/ whose message is not a message id: ``file:line: Class: text``."""
    found = []
    for path in sorted(root.rglob("*.py")):
        if "translations" in path.parts:
            continue
        relative = path.relative_to(root).as_posix()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
                call = node.exc
                name = _name(call.func)
                if name in NOT_FOR_READERS or (relative, name) in INTERNAL:
                    continue
            elif isinstance(node, ast.Call) and _name(node.func) == "Problem":
                call, name = node, "Problem"
            else:
                continue
            arguments = list(call.args)
            # InputRejected([Problem(...)]) is checked through its Problem; a list of texts is not.
            if arguments and isinstance(arguments[0], ast.List):
                arguments = [e for e in arguments[0].elts if not isinstance(e, ast.Call)]
            for argument in arguments[:1]:
                if _is_plain_text(argument):
                    found.append(f"{relative}:{node.lineno}: {name}: {ast.unparse(argument)[:80]}")
    return found


def test_no_user_facing_error_is_raised_with_plain_text():
    assert plain_messages() == [], "raise these with N_('… %(name)s …') and the values as parameters"


def test_the_check_finds_plain_text(tmp_path):
    """The walk fails on each shape of message written in place, and passes a message id."""
    (tmp_path / "bad.py").write_text(
        "raise ClaimError(f'claim {ref} exists')\n"
        "raise ClaimError('no claim')\n"
        "raise ClaimError('claim %s' % ref)\n"
        "raise ClaimError('claim {}'.format(ref))\n"
        "problems.append(Problem(f'row {n}', row=n))\n"
        "raise InputRejected([Problem('empty')])\n"
    )
    (tmp_path / "good.py").write_text(
        "raise ClaimError(N_('claim %(ref)s exists'), ref=ref)\n"
        "raise ClaimError.of(exc)\n"
        "raise TypeError(f'internal {x}')\n"
        "problems.append(Problem(N_('row %(n)s'), row=n, params={'n': n}))\n"
    )
    found = plain_messages(tmp_path)
    assert len(found) == 6 and all(line.startswith("bad.py") for line in found)


def test_str_is_english_and_translated_is_french(app):
    error = FieldError(N_("%(value)s must be more than 0"), "amount", value=Decimal("1250.5"))
    assert str(error) == "1250.5 must be more than 0"
    assert error.field == "amount" and error.params == {"value": Decimal("1250.5")}
    with app.test_request_context(headers={"Accept-Language": "fr"}):
        from flask_babel import force_locale

        with force_locale("fr"):
            assert error.translated() == "1\u202f250,5 doit être supérieur à 0"
            assert say(error) == error.translated()
            assert say(KeyError("x")) == "'x'"
            # a term put into a message is translated with it
            typed = FieldError(
                N_("%(text)s is not a valid %(what)s (1 to 40 letters, digits, / - _ .)"),
                text="'?'",
                what=Term("receipt number"),
            )
            assert "numéro de reçu" in typed.translated()
            # a problem keeps its message id through retyping, and its row
            problem = Problem.of(error, row=3, column="amount")
            assert problem.params == error.params and problem.row == 3
            assert problem.translated() == "ligne 3, amount: 1\u202f250,5 doit être supérieur à 0"
            rejected = InputRejected([problem])
            assert "doit être supérieur à 0" in rejected.translated()
            assert "must be more than 0" in str(rejected)
    assert error.translated() == "1250.5 must be more than 0"  # outside a request: English


def test_retyping_keeps_the_message_id():
    class Mine(UserError):
        pass

    original = FieldError(N_("%(value)s is not an amount"), value="x")
    retyped = Mine.of(original, "amount")
    assert isinstance(retyped, Mine) and retyped.message == original.message and retyped.params == {"value": "x"}
    assert retyped.field == "amount"
    with pytest.raises(Mine):
        raise retyped


def test_a_message_kept_as_data_is_english_text_said_in_french(app):
    """``Message``: a message listed rather than raised (a study's errors) is a ``str`` of its English, carrying
    its msgid and parameters for the page."""
    from flask_babel import force_locale

    from mhi.core.errors import Message

    message = Message(N_("%(value)s must be at least %(low)s"), value=Decimal("-1.5"), low=Decimal(0))
    assert message == "-1.5 must be at least 0" and f"x: {message}" == "x: -1.5 must be at least 0"
    assert message.message == "%(value)s must be at least %(low)s"
    with app.test_request_context(headers={"Accept-Language": "fr"}), force_locale("fr"):
        assert say(message) == "-1,5 doit être au moins égal à 0"
    assert message.translated() == "-1.5 must be at least 0"  # outside a request: English
