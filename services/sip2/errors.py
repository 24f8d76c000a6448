"""What can go wrong talking to the library system, as the callers need to tell it apart.

Everything the door treats as "the library system did not answer" is a :class:`Sip2Unavailable`;
the directory falls back to its offline cache on exactly those. Only some of them say the library
system is down (``outage``): a timeout, a lost or refused connection, a refused login. A reply
that failed its checks for one request (:class:`ReplyError`, an FBS ``<error>``) is that
request's failure, and the health state does not move on it. A malformed frame is a
:class:`~services.sip2.messages.FrameError` (pure parsing) until the client has judged it.
"""

from __future__ import annotations


class Sip2Error(Exception):
    """Base of every SIP2 client error; messages never contain card numbers or PINs."""


class Sip2Unavailable(Sip2Error):
    """No usable answer: down, unreachable, backing off, or every reply failed its checks."""

    outage = True  # the library system as a whole is not answering (health goes offline)


class Sip2Timeout(Sip2Unavailable):
    """The library system did not answer within the request's timeout."""


class ConnectionLost(Sip2Unavailable):
    """The connection closed before a whole reply arrived."""


class ReplyError(Sip2Unavailable):
    """Replies kept failing verification (checksum, garbage, wrong message) after resends."""

    outage = False  # one request's answer, not the system: the next request is asked as usual


class ReplyMismatch(ReplyError):
    """A reply that does not answer the request (another message, patron, item or sequence),
    or bytes that are not a frame: the stream is confused, so the connection is replaced."""


class OutcomeUnknown(Sip2Unavailable):
    """A request that changes something (a renewal) went out but no believable reply came back:
    it may have been done. Callers say so and read the state again; they never resend it."""

    outage = False


class LoginRefused(Sip2Unavailable):
    """94 Login Response with ok = 0: wrong login user or password in the settings."""


class FbsError(Sip2Unavailable):
    """FBS answered its envelope with ``<error>`` (or a REST exception) instead of a reply."""

    outage = False  # about this message; a wrong login fails the health checks as well


class PatronRefused(Sip2Error):
    """The library system answered, but not for this card + PIN (kiosk account requests)."""

    def __init__(self, message: str, *, wrong_pin: bool = False) -> None:
        super().__init__(message)
        self.wrong_pin = wrong_pin  # a card it knows with a PIN it does not accept
