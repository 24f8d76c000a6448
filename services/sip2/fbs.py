"""FBS's SIP2-over-HTTPS envelope. Pure: text in, text out.

FBS (Fælles Bibliotekssystem, the Danish libraries' system) offers SIP2 to self-service devices as
one HTTPS POST per message to ``<base>/rest/sip2/DK-<agency>``. The body is a ``sip`` element in
the ``http://axiell.com/Schema/sip.xsd`` namespace with ``login`` and ``password`` attributes and
the message in ``<request>``; the answer carries it in ``<response>``, or an ``<error>`` text, or a
REST exception (``<restExceptionInfo>`` with ``<errorCode>``). There is no 93 login and no AY/AZ
trailer: HTTPS authenticates and protects each message.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from xml.sax.saxutils import escape, quoteattr

from services.sip2.errors import FbsError, ReplyError

NAMESPACE = "http://axiell.com/Schema/sip.xsd"
_AGENCY = re.compile(r"^(?:DK-)?(\d{6})$")


def agency_id(agency: str) -> str:
    """``"761500"`` or ``"DK-761500"`` -> ``"DK-761500"``, the form FBS uses in URLs and AO."""
    m = _AGENCY.match(agency.strip())
    if m is None:
        raise ValueError(f"{agency!r} is not an agency number (six digits, optionally DK-)")
    return f"DK-{m[1]}"


def endpoint(base_url: str, agency: str) -> str:
    """The agency's SIP2 endpoint under ``base_url`` (``https://host[:port][/prefix]``)."""
    return f"{base_url.rstrip('/')}/rest/sip2/{agency_id(agency)}"


def envelope(message: str, login: str, password: str) -> bytes:
    """The request body for one SIP2 message (without its CR)."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<ns1:sip xmlns:ns1="{NAMESPACE}" login={quoteattr(login)} password={quoteattr(password)}>'
        f"<request>{escape(message)}</request></ns1:sip>"
    ).encode()


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _masked(text: str) -> str:
    # FBS's error texts may quote the patron; keep card and CPR numbers out of logs anyway.
    return re.sub(r"\d{6,}", lambda m: "****" + m[0][-2:], text)


def reply_text(body: bytes) -> str:
    """The SIP2 message inside an FBS answer; raises FbsError for ``<error>``, ReplyError else."""
    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        raise ReplyError("FBS answered something that is not XML") from None
    found: dict[str, str] = {}
    for element in root.iter():
        found.setdefault(_local(element.tag), (element.text or "").strip())
    if "response" in found:
        return found["response"]
    if "error" in found:
        raise FbsError(f"FBS error: {_masked(found['error']) or 'no text'}")
    if "errorCode" in found:
        ref = found.get("correlationId", "?")
        raise FbsError(f"FBS error: {found['errorCode']} (correlation id {ref})")
    raise ReplyError("FBS answered XML without response or error")


def request_text(body: bytes) -> tuple[str, str, str]:
    """``(login, password, message)`` of a request envelope; the other side of :func:`envelope`.

    Used by the test FBS server and for logging what was sent; raises ValueError if malformed.
    """
    root = ET.fromstring(body)
    if _local(root.tag) != "sip":
        raise ValueError("not a sip envelope")
    request = next((e for e in root.iter() if _local(e.tag) == "request"), None)
    if request is None:
        raise ValueError("no request element")
    return root.get("login", ""), root.get("password", ""), request.text or ""


def response_envelope(message: str | None, error: str | None = None) -> bytes:
    """An FBS answer carrying ``message``, or ``error`` (the test FBS server sends these)."""
    inner = f"<response>{escape(message)}</response>" if message is not None else ""
    if error is not None:
        inner = f"<error>{escape(error)}</error>"
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        f'<ns2:sip xmlns:ns2="{NAMESPACE}">{inner}</ns2:sip>'
    ).encode()
