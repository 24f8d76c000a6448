"""``aabent sip2 check`` and ``aabent sip2 patron CARD``: is the library system there, and what
would the door do with one card. For staff setting up a branch; the PIN is prompted, never echoed.

``patron`` gives the door's own answer in self-service hours: the library system's reply read by
:mod:`services.sip2.standing` and judged by :func:`services.core.access.decide` with the site's
``[access]`` rules (the door's PIN lockouts, opening hours and occupancy are not consulted).
Exit codes: 0 admitted, 1 no answer, 3 card or PIN refused, 4 the patron refused (blocked, card
lost, expired, under age).
"""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import Any

from services.core.access import AccessRules, Decision, DoorContext, Reason, decide
from services.core.credentials import Credential
from services.core.patrons import Authentication, PinCheck
from services.core.schedule import OpeningState
from services.settings import Settings
from services.sip2.errors import Sip2Unavailable
from services.sip2.messages import mask_value
from services.sip2.replies import SUPPORTED_MESSAGES
from services.sip2.standing import authentication, blank

EXIT_UNAVAILABLE = 1
EXIT_REFUSED = 3  # the card is not known, or the PIN is wrong or missing
EXIT_PATRON_REFUSED = 4  # a known card the door refuses: blocked, card lost, expired, under age


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
        return _unavailable(exc, settings)
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


def _unavailable(exc: Sip2Unavailable, settings: Settings) -> int:
    print(f"library system unavailable: {exc}", file=sys.stderr)
    if settings.sip2.transport == "tcp" and not settings.sip2.login_user:
        print(
            "no login_user is set in [sip2]: most SIP2 servers (Koha, Evergreen's SIPServer) "
            "answer only after a 93 login; set login_user and password_file",
            file=sys.stderr,
        )
    return EXIT_UNAVAILABLE


# Refusals about the card or the PIN, and those about the patron's standing (see docs/sip2.md).
_CARD_OR_PIN = {Reason.UNKNOWN_CARD, Reason.WRONG_PIN, Reason.PIN_REQUIRED}


def _exit_code(decision: Decision) -> int:
    if decision.granted:
        return 0
    return EXIT_REFUSED if decision.reason in _CARD_OR_PIN else EXIT_PATRON_REFUSED


def _pin_text(auth: Authentication, pin: str | None, card_only: bool) -> str:
    if card_only:
        return "not asked (card-only site)"
    if auth.patron is None:
        return "not judged (the card is not known)"
    return {PinCheck.OK: "accepted", PinCheck.WRONG: "wrong", PinCheck.NOT_GIVEN: "not given"}[
        auth.pin
    ]


def _patron(args: argparse.Namespace, settings: Settings) -> int:
    """The door's answer for one card (+ PIN) in self-service hours, and why."""
    from services.sip2.build import build_client, site_clock

    credential = Credential.from_text(args.card)
    card_only = not settings.access.pin_required
    typed = None if args.no_pin or card_only else _read_pin()
    pin = None if blank(typed) else typed
    client = build_client(settings)
    try:
        reply = client.patron_information(credential.number, pin)
    except Sip2Unavailable as exc:
        return _unavailable(exc, settings)
    finally:
        client.transport.close()
    auth = authentication(reply, credential, pin, "sip2:cli", settings.sip2.deny_flags)
    a = settings.access
    rules = AccessRules(a.pin_required, a.min_age_unstaffed, a.capacity)
    decision = decide(site_clock(settings)(), auth, _SELF_SERVICE, rules)
    print(f"card {mask_value('AA', credential.number)} ({credential.kind})")
    print(f"valid patron: {_yn(auth.patron is not None)}  PIN: {_pin_text(auth, pin, card_only)}")
    if auth.patron is not None:
        print(f"name: {auth.patron.name}")
        print(f"standing: {auth.patron.status}  flags: {', '.join(sorted(reply.flags)) or 'none'}")
        born = auth.patron.birth_date
        source = "library system" if reply.birth_date is not None else "CPR number"
        print(f"birth date: {born.isoformat()} (from the {source})" if born else "birth date: -")
    for text in reply.screen_messages:
        print(f"message: {' '.join(text.split())}")
    verdict = "admitted" if decision.granted else f"refused: {decision.reason}"
    print(f"door, self-service hours: {verdict} ({decision.message})")
    return _exit_code(decision)


_SELF_SERVICE = DoorContext(opening=OpeningState.SELF_SERVICE)
