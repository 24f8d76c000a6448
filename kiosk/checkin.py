"""Who is checking in: the little the event program needs to know about a card's holder."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from services.core.credentials import Credential, SiteKey
from services.core.patrons import PatronDirectory


@dataclass(frozen=True)
class Identity:
    """The holder's patron id and the pseudonym events carry (never the card number), and the
    address the directory has for a receipt ("" for none; never shown, left out of ``repr``)."""

    patron_id: str
    pseudonym: str
    email: str = field(default="", repr=False)


class LookupUnavailable(Exception):
    """The directory could not be asked who holds the card."""


# Identity for a known card, None for a card nobody holds; raises LookupUnavailable.
Identify = Callable[[Credential], Identity | None]


def identify_with(directory: PatronDirectory, key: SiteKey) -> Identify:
    """Look a card up in ``directory`` without a PIN; the event pseudonym comes from ``key``."""

    def identify(credential: Credential) -> Identity | None:
        try:
            auth = directory.authenticate(credential, None)
        except Exception as exc:  # the directory's own store or network failed: same to a patron
            raise LookupUnavailable(type(exc).__name__) from exc
        if not auth.reachable:
            raise LookupUnavailable("the directory cannot be asked")
        if auth.patron is None:
            return None
        patron = auth.patron
        return Identity(patron.patron_id, key.pseudonym(credential), patron.email)

    return identify
