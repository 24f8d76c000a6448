"""The one console command, ``aabent``, with a subcommand per job.

Each job's module contributes its own subcommands through ``add_commands(subparsers)``; this
file only lists those modules, so a door controller does not import Kivy and the kiosk does not
import gpiozero until the subcommand that needs them runs.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import re
import sys
from collections.abc import Callable, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from services.settings import DEFAULT_CONFIG, ConfigError, Settings, load_settings

# Modules with ``add_commands(subparsers) -> None``; imported only to register their parsers,
# their heavy imports happen inside the handlers.
COMMAND_MODULES = (
    "services.cli.check_config",
    "hardware.cli",
    "services.cli.building",
    "services.patrons.cli",
    "services.patrons.lists_cli",
    "services.patrons.rooms_cli",
    "services.bus.cli",
    "services.catalogue.cli",
    "services.sip2.cli",
    "services.dashboard.cli",
    "services.recorder.cli",
    "services.program.cli",
    "kiosk.cli",
)

OWN_PACKAGES = {"services", "hardware", "kiosk"}
# Import names that differ from their distribution's name.
DISTRIBUTION_OF = {"serial": "pyserial", "recurring_ical_events": "recurring-ical-events"}

Handler = Callable[[argparse.Namespace, Settings], int]


def build_parser() -> argparse.ArgumentParser:
    """The full ``aabent`` parser, every job's subcommands included."""
    parser = argparse.ArgumentParser(prog="aabent", description=__doc__.splitlines()[0])
    parser.add_argument(
        "-c",
        "--config",
        type=Path,
        default=None,
        help=f"settings file (default: {DEFAULT_CONFIG}; AABENT__SECTION__KEY overrides)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            # A door Pi installs only the `door` extra: the kiosk's Kivy is simply not there.
            # A missing module of our own is a bug, and must not be hidden.
            if (exc.name or "").split(".")[0] in OWN_PACKAGES:
                raise
            _unavailable(sub, name, exc.name or "?")
            continue
        module.add_commands(sub)
    return parser


def _unavailable(sub: Any, module: str, missing: str) -> None:
    """Say which package is missing instead of failing every other subcommand."""
    command = module.split(".")[-2] if module.endswith(".cli") else module.split(".")[-1]
    # No option prefixes: whatever options the real job takes are swallowed, not refused.
    p = sub.add_parser(
        command, help=f"(unavailable here: needs {missing})", add_help=False, prefix_chars="\0"
    )
    p.add_argument("rest", nargs="*")

    def handler(_args: argparse.Namespace, _settings: Settings) -> int:
        return missing_package(command, missing)

    p.set_defaults(handler=handler)


def missing_package(command: str, module: str) -> int:
    """Name the package ``command`` needs and the extras that install it; the exit code, 3."""
    top = module.split(".")[0]
    distribution, extras = extras_providing(top)
    how = " or ".join(f"aabent[{extra}]" for extra in extras) or "aabent[all]"
    print(
        f"aabent {command}: needs the Python package {distribution!r}, not installed here "
        f"(install {how})",
        file=sys.stderr,
    )
    return 3


def extras_providing(top_module: str) -> tuple[str, list[str]]:
    """The distribution that provides ``top_module`` and the extras of ours that require it,
    from the installed metadata (so pyproject.toml stays the one list)."""
    distribution = DISTRIBUTION_OF.get(top_module, top_module)
    try:
        requires = metadata.requires("aabent") or []
    except metadata.PackageNotFoundError:
        return distribution, []
    extras = []
    for line in requires:
        name = re.split(r"[\s\[<>=!~;]", line, maxsplit=1)[0]
        extra = re.search(r"""extra\s*==\s*["']([^"']+)["']""", line)
        if extra and name.lower() == distribution.lower() and extra[1] not in ("all", "test"):
            extras.append(extra[1])
    return distribution, extras


def main(argv: Sequence[str] | None = None) -> int:
    """Parse, load settings once, run the handler; a bad config exits 2 with its message."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # Alembic announces every plugin at INFO; a migration that runs is logged by our schema module.
    logging.getLogger("alembic").setLevel(logging.DEBUG if args.verbose else logging.WARNING)
    # Whatever aabent writes (databases with PIN failures, the outbox, keys, locks) is readable
    # by its group at most, however it was started: `sudo -u aabent aabent patrons import`
    # may create the controller's database before the unit (UMask=0027) ever runs.
    os.umask(os.umask(0) | 0o027)
    handler: Handler = args.handler
    if getattr(args, "config_from_arg", False) and args.file:
        args.config = Path(args.file)
    try:
        settings = load_settings(args.config)
    except ConfigError as exc:
        print(f"aabent: invalid settings\n{exc}", file=sys.stderr)
        return 2
    try:
        return handler(args, settings)
    except ModuleNotFoundError as exc:
        # A job's heavy packages are imported when it runs: a door Pi has no Kivy, a server no
        # gpiozero. A missing module of our own is a bug, and must not be hidden.
        if (exc.name or "").split(".")[0] in OWN_PACKAGES or not exc.name:
            raise
        return missing_package(args.command, exc.name)
    except ConfigError as exc:
        print(f"aabent: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
