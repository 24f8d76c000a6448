"""``aabent check-config FILE``: validate a settings file and nothing more."""

from __future__ import annotations

import argparse
from typing import Any

from services.settings import Settings


def add_commands(sub: Any) -> None:
    """Register ``check-config``."""
    p = sub.add_parser("check-config", help="validate a settings file; exit 2 if invalid")
    p.add_argument("file", nargs="?", help="the file (default: --config or config/aabent.toml)")
    p.set_defaults(handler=_check, config_from_arg=True)


def _check(args: argparse.Namespace, settings: Settings) -> int:
    doors = ", ".join(settings.doors) or "no doors"
    print(f"ok: site {settings.site.id} ({settings.site.name}), {doors}")
    return 0
