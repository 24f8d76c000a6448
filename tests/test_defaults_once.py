"""Each default is stated once: the others name it instead of repeating the number.

SIP2 timeout, health interval and rise (``services.settings.sip2``), PIN timeout
(``services.core.readers``), access rules, lockout policy and loan rules (their cores).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from services.core.access import AccessRules
from services.core.account import LoanRules
from services.core.lockout import LockoutPolicy
from services.settings import AccessSettings, KioskSettings

ROOT = Path(__file__).resolve().parents[1]


def _default_of(path: str, owner: str, name: str) -> ast.expr:
    """The default expression of parameter ``name`` of ``owner`` (a function, or a class's
    ``__init__``), or of field ``name`` of class ``owner`` (the first argument of its Field)."""
    tree = ast.parse((ROOT / path).read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and node.name == owner:
            for item in node.body:
                if isinstance(item, ast.AnnAssign) and getattr(item.target, "id", "") == name:
                    value = item.value
                    if isinstance(value, ast.Call) and value.args:
                        return value.args[0]
                    assert value is not None
                    return value
            init = next(i for i in node.body if getattr(i, "name", "") == "__init__")
            return _parameter_default(init, name)
    raise AssertionError(f"{owner} not in {path}")


def _parameter_default(function: ast.AST, name: str) -> ast.expr:
    assert isinstance(function, ast.FunctionDef)
    args = function.args
    positional = list(zip(reversed(args.args), reversed(args.defaults), strict=False))
    keyword = [(a, d) for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True) if d]
    for arg, default in positional + keyword:
        if arg.arg == name and default is not None:
            return default
    raise AssertionError(f"no default for {name}")


@pytest.mark.parametrize(
    ("path", "owner", "name"),
    [
        ("services/sip2/client.py", "Sip2Client", "timeout_s"),
        ("services/sip2/directory.py", "Sip2Directory", "timeout_s"),
        ("services/sip2/directory.py", "Sip2Directory", "health_interval_s"),
        ("services/sip2/directory.py", "Sip2Directory", "health_rise"),
        ("services/sip2/health.py", "HealthMonitor", "interval_s"),
        ("services/sip2/health.py", "Health", "rise"),
        ("services/settings/doors.py", "ReaderSettings", "pin_timeout_s"),
        ("services/runtime/serial_reader.py", "SerialReader", "pin_timeout_s"),
        ("hardware/wiegand.py", "WiegandReader", "pin_timeout_s"),
        ("services/settings/access.py", "AccessSettings", "capacity"),
        ("services/settings/access.py", "AccessSettings", "min_age_unstaffed"),
        ("services/settings/access.py", "AccessSettings", "pin_lockout_failures"),
        ("services/settings/access.py", "AccessSettings", "reader_throttle_seconds"),
        ("services/settings/kiosk.py", "KioskSettings", "max_renewals"),
        ("services/settings/kiosk.py", "KioskSettings", "renewal_days"),
    ],
)
def test_a_default_stated_elsewhere_is_named_not_repeated(path: str, owner: str, name: str) -> None:
    assert not isinstance(_default_of(path, owner, name), ast.Constant)


def test_the_settings_defaults_are_the_cores() -> None:
    access = AccessSettings()
    assert access.lockout_policy() == LockoutPolicy()
    assert AccessRules(access.pin_required, access.min_age_unstaffed, access.capacity) == (
        AccessRules()
    )
    assert KioskSettings().loan_rules() == LoanRules()
