"""``aabent sip2 check`` and ``aabent sip2 patron CARD``: is the library system there, and what
does it say about one card. For staff setting up a branch; the PIN is prompted, never echoed."""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import Any

from services.core.credentials import Credential
from services.settings import Settings
from services.sip2.errors import Sip2Unavailable
from services.sip2.messages import mask_value
from services.sip2.replies import SUPPORTED_MESSAGES
from services.sip2.standing import blank, status_of

EXIT_UNAVAILABLE = 1
EXIT_REFUSED = 3


def add_commands(sub: Any) -> None:
    """Register ``sip2 check`` and ``sip2 patron``."""
    p = sub.add_parser("sip2", help="talk to the library system over SIP2")
    actions = p.add_subparsers(dest="sip2_action", required=True, metavar="ACTION")
    check = actions.add_parser("check", help="log in, send SC status, print what it supports")
    check.set_defaults(handler=_check)
    patron = actions.add_parser("patron", help="ask for one patron (PIN prompted, not echoed)")
    patron.add_argument("card", help="card number or CPR number")
    patron.add_argument("--no-pin", action="store_true", help="ask without a PIN")
    patron.set_defaults(handler=_patron)


def _yn(value: bool) -> str:
    return "yes" if value else "no"


def _check(args: argparse.Namespace, settings: Settings) -> int:
    from services.sip2.build import build_client

    client = build_client(settings)
    try:
        status = client.sc_status()
    except Sip2Unavailable as exc:
        print(f"library system unavailable: {exc}", file=sys.stderr)
        return EXIT_UNAVAILABLE
    finally:
        client.transport.close()
    name = status.library_name or "(no name)"
    print(f"library system: {name} (institution {status.institution_id})")
    print(
        f"online: {_yn(status.online)}  protocol: {status.protocol_version}  "
        f"timeout: {status.timeout_period}  retries: {status.retries_allowed}"
    )
    print(
        f"checkin: {_yn(status.checkin_ok)}  checkout: {_yn(status.checkout_ok)}  "
        f"renewals: {_yn(status.renewal_policy)}  offline ok: {_yn(status.offline_ok)}"
    )
    print("supports: " + (", ".join(status.supported) or "nothing"))
    missing = [m for m in SUPPORTED_MESSAGES if m not in status.supported]
    print("does not support: " + (", ".join(missing) or "-"))
    for text in status.screen_messages:
        print(f"message: {text}")
    return 0 if status.online else EXIT_UNAVAILABLE


def _read_pin() -> str:
    if sys.stdin.isatty():
        return getpass.getpass("PIN: ")
    return sys.stdin.readline().rstrip("\r\n")  # piped, e.g. from a test or a password store


def _patron(args: argparse.Namespace, settings: Settings) -> int:
    from services.sip2.build import build_client

    credential = Credential.from_text(args.card)
    pin = None if args.no_pin else _read_pin()
    client = build_client(settings)
    try:
        reply = client.patron_information(credential.number, None if blank(pin) else pin)
    except Sip2Unavailable as exc:
        print(f"library system unavailable: {exc}", file=sys.stderr)
        return EXIT_UNAVAILABLE
    finally:
        client.transport.close()
    pin_text = "not given" if blank(pin) else "accepted" if reply.valid_password else "refused"
    print(f"card {mask_value('AA', credential.number)} ({credential.kind})")
    print(f"valid patron: {_yn(reply.valid_patron is True)}  PIN: {pin_text}")
    if reply.valid_patron is True:
        standing = status_of(reply.flags, settings.sip2.deny_flags)
        print(f"name: {reply.personal_name}")
        print(f"door standing: {standing}  flags: {', '.join(sorted(reply.flags)) or 'none'}")
        born = reply.birth_date.isoformat() if reply.birth_date else "not given"
        print(f"birth date: {born}")
    for text in reply.screen_messages:
        print(f"message: {text}")
    ok = reply.valid_patron is True and (blank(pin) or reply.valid_password is True)
    return 0 if ok else EXIT_REFUSED
