"""A patron's standing at the door, from a SIP2 patron reply. Pure.

The door admits only when the library system says both *valid patron* (BL) and *valid patron
password* (CQ) with an explicit ``Y``: some servers leave CQ out for unknown cards, and some answer
CQ ``Y`` to an empty password, so a missing field is a no and a blank PIN is never checked at all.
The 14 patron status flags (SIP2 spec, Patron Status Response) map to a
:class:`~services.core.patrons.PatronStatus`: a lost card is ``CARD_LOST``; any flag in the site's
``deny_flags`` (default: charge privileges denied, which is how FBS and Koha show a blocked
patron) is ``BLOCKED``. The other flags (too many overdue, fines…) are the library's business at
the desk, not the door's, unless a site lists them.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date

from services.core.cpr import CprError, birth_date
from services.core.credentials import Credential, CredentialKind
from services.core.patrons import Authentication, Patron, PatronStatus, PinCheck
from services.sip2.replies import PATRON_FLAGS, PatronReply

DEFAULT_DENY_FLAGS = frozenset({"charge_privileges_denied"})


def status_of(
    flags: Collection[str], deny_flags: Collection[str] = DEFAULT_DENY_FLAGS
) -> PatronStatus:
    """The door's view of the patron status flags."""
    if "card_reported_lost" in flags:
        return PatronStatus.CARD_LOST
    if any(flag in deny_flags for flag in flags):
        return PatronStatus.BLOCKED
    return PatronStatus.ACTIVE


def check_deny_flags(deny_flags: Collection[str]) -> None:
    """Raise ValueError naming a flag that is not one of the 14 SIP2 patron status flags."""
    unknown = sorted(set(deny_flags) - set(PATRON_FLAGS))
    if unknown:
        raise ValueError(f"unknown patron status flags {unknown}; known: {list(PATRON_FLAGS)}")


def blank(pin: str | None) -> bool:
    """True for no PIN or one of only spaces: it is never sent as a PIN to be judged."""
    return pin is None or not pin.strip()


def _birth(reply: PatronReply, credential: Credential) -> date | None:
    if reply.birth_date is not None:
        return reply.birth_date
    if credential.kind is CredentialKind.CPR:
        try:
            return birth_date(credential.number)
        except CprError:
            return None
    return None


def authentication(
    reply: PatronReply,
    credential: Credential,
    pin: str | None,
    patron_id: str,
    deny_flags: Collection[str] = DEFAULT_DENY_FLAGS,
) -> Authentication:
    """What the door learns from ``reply`` for card + PIN; ``patron_id`` is a pseudonym."""
    if reply.valid_patron is not True:
        return Authentication(patron=None, pin=PinCheck.NOT_GIVEN)
    if blank(pin):
        check = PinCheck.NOT_GIVEN
    else:
        check = PinCheck.OK if reply.valid_password is True else PinCheck.WRONG
    patron = Patron(
        patron_id=patron_id,
        name=reply.personal_name,
        status=status_of(reply.flags, deny_flags),
        birth_date=_birth(reply, credential),
        email=reply.email,
    )
    return Authentication(patron=patron, pin=check)
