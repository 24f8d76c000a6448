"""A test library system: a pysip2 ACS serving :mod:`tests.services.sip2.library` over TCP.

Run as a process (``python -m tests.services.sip2.acs_server --port 0``); it prints ``READY
<port>`` once it listens. It answers as Koha and Evergreen do: one item list per 63 according to
the summary field, bare item identifiers in the lists, the ``PB`` birth date extension in 64, CQ
left out for unknown cards, and CQ ``Y`` for a patron without a PIN whatever the password.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date, timedelta
from typing import Any

import anyio
from pysip2 import (
    END_PATRON_SESSION,
    HOLD,
    ITEM_INFORMATION,
    LOGIN,
    PATRON_INFORMATION,
    PATRON_STATUS,
    RENEW,
    RENEW_ALL,
    EndPatronSessionRequest,
    EndSessionResponse,
    HoldRequest,
    HoldResponse,
    ItemInformationRequest,
    ItemInformationResponse,
    LoginRequest,
    LoginResponse,
    PatronInformationRequest,
    PatronInformationResponse,
    PatronStatusRequest,
    PatronStatusResponse,
    RenewAllRequest,
    RenewAllResponse,
    RenewRequest,
    RenewResponse,
    SIP2Server,
)
from pysip2 import models as sip_models

from tests.services.sip2.library import BOOKS, INSTITUTION, LIBRARY_NAME, PATRONS, Member


class PatronInformationExtended(PatronInformationResponse, frozen=True, kw_only=True):
    """64 with the Envisionware extensions Koha and Evergreen send: PB birth date, PC class."""

    birth_date: str | None = None
    patron_class: str | None = None


def _register_extension() -> None:
    # pysip2 encodes from its layout table; adding a layout for the subclass is how a vendor
    # extension gets onto the wire without touching the library.
    base = sip_models.spec_for_type(PatronInformationResponse)
    extra = (sip_models.ident("birth_date", "PB"), sip_models.ident("patron_class", "PC"))
    spec = sip_models.MessageSpec(
        "64", PatronInformationExtended, base.fields[:-2] + extra + base.fields[-2:]
    )
    sip_models.MESSAGE_SPECS_BY_TYPE[PatronInformationExtended] = spec


def _status(member: Member | None) -> str:
    flags = member.flags if member else frozenset()
    return "".join("Y" if i in flags else " " for i in range(14))


def _password_ok(member: Member, given: str | None) -> bool:
    return member.pin is None or (bool(given) and given == member.pin)


def _sip_date(day: date | None) -> str:
    return "" if day is None else day.strftime("%Y%m%d") + "    235959"


class Library:
    """The ACS's state: loans' due dates move when renewed."""

    def __init__(self, today: date) -> None:
        self.today = today
        self.due = {b.item_id: b.due(today) for b in BOOKS.values()}
        # Holds not yet available: each patron's list (CD) and each title's queue, in order.
        self.waiting = {m.card: list(m.waiting) for m in PATRONS.values()}
        self.queues: dict[str, list[str]] = {}
        for card, held in self.waiting.items():
            for title in held:
                self.queues.setdefault(title, []).append(card)
        self.queues.setdefault("3843081011", []).insert(0, "9000000004")  # someone is ahead

    def hold(self, card: str, title: str, add: bool) -> tuple[str | None, int | None]:
        """Place or cancel ``card``'s hold on ``title``: the refusal, or the queue position."""
        queue = self.queues.setdefault(title, [])
        if add:
            if card in queue:
                return "Materialet er allerede reserveret", None
            queue.append(card)
            self.waiting[card].append(title)
            return None, len(queue)
        if card not in queue:
            return "Der er ingen reservation at slette", None
        queue.remove(card)
        self.waiting[card].remove(title)
        return None, None

    def overdue(self, item: str) -> bool:
        """Lent and due before today."""
        due = self.due.get(item)
        return due is not None and due < self.today

    def renew(self, item: str) -> str | None:
        """Renew ``item``; the refusal text, or None if renewed."""
        book = BOOKS.get(item)
        if book is None:
            return "Ukendt materiale"
        if book.refuse_renewal:
            return book.refuse_renewal
        current = self.due.get(item) or self.today
        self.due[item] = current + timedelta(days=14)
        return None


class Handlers:
    """The ACS's answers, one coroutine per SIP2 route."""

    def __init__(self, library: Library, login: tuple[str, str] | None) -> None:
        self.library, self.login = library, login

    async def log_in(self, req: LoginRequest, ctx: Any) -> LoginResponse:
        """93: the configured user and password, or anyone when none is configured."""
        ok = self.login is None or (req.login_user_id, req.login_password) == self.login
        return LoginResponse(ok="1" if ok else "0")

    async def patron_status(self, req: PatronStatusRequest, ctx: Any) -> PatronStatusResponse:
        """23: BL, and CQ only for a known card (as some servers do)."""
        member = PATRONS.get(req.patron_identifier)
        cq = None if member is None else "Y" if _password_ok(member, req.patron_password) else "N"
        return PatronStatusResponse(
            patron_status=_status(member),
            language=req.language,
            transaction_date=ctx.now_18(),
            institution_id=INSTITUTION,
            patron_identifier=req.patron_identifier,
            personal_name=member.name if member else "",
            valid_patron="Y" if member else "N",
            valid_patron_password=cq,
        )

    async def patron_information(
        self, req: PatronInformationRequest, ctx: Any
    ) -> PatronInformationResponse:
        """63: counts, the one list the summary asks for, PB birth date, PC class."""
        member = PATRONS.get(req.patron_identifier)
        password = req.patron_password
        cq = (
            None
            if member is None or password is None
            else ("Y" if _password_ok(member, password) else "N")
        )
        lists, counts = self._lists(member, req.summary)
        return PatronInformationExtended(
            patron_status=_status(member),
            language=req.language,
            transaction_date=ctx.now_18(),
            hold_items_count=f"{counts[0]:04d}",
            overdue_items_count=f"{counts[1]:04d}",
            charged_items_count=f"{counts[2]:04d}",
            fine_items_count="0000",
            recall_items_count="0000",
            unavailable_holds_count=f"{counts[5]:04d}",
            institution_id=INSTITUTION,
            patron_identifier=req.patron_identifier,
            personal_name=member.name if member else "",
            valid_patron="Y" if member else "N",
            valid_patron_password=cq,
            birth_date=member.birth if member else None,
            patron_class="voksen" if member else None,
            email_address=member.email if member and cq != "N" else None,  # not to a wrong PIN
            hold_items=lists.get("AS", ()),
            overdue_items=lists.get("AT", ()),
            charged_items=lists.get("AU", ()),
            unavailable_hold_items=lists.get("CD", ()),
        )

    def _lists(
        self, member: Member | None, summary: str
    ) -> tuple[dict[str, tuple[str, ...]], tuple[int, ...]]:
        if member is None:
            return {}, (0,) * 6
        overdue = tuple(i for i in member.loans if self.library.overdue(i))
        # SIP2 spec: the one Y in the summary picks the list (hold, overdue, charged, …).
        lists = {
            0: {"AS": tuple(member.ready)},
            1: {"AT": overdue},
            2: {"AU": tuple(member.loans)},
            5: {"CD": tuple(self.library.waiting[member.card])},
        }.get(summary.find("Y"), {})
        waiting = len(self.library.waiting[member.card])
        counts = (len(member.ready), len(overdue), len(member.loans), 0, 0, waiting)
        return lists, counts

    async def item_information(
        self, req: ItemInformationRequest, ctx: Any
    ) -> ItemInformationResponse:
        """17: 04 charged with its due date, 03 available, 01 unknown."""
        book = BOOKS.get(req.item_identifier)
        due = self.library.due.get(req.item_identifier)
        return ItemInformationResponse(
            circulation_status="04" if due else ("03" if book else "01"),
            security_marker="00",
            fee_type="01",
            transaction_date=ctx.now_18(),
            due_date=_sip_date(due) or None,
            item_identifier=req.item_identifier,
            title_identifier=book.title if book else "",
        )

    async def renew(self, req: RenewRequest, ctx: Any) -> RenewResponse:
        """29: 14 more days, or the refusal in AF."""
        item = req.item_identifier or ""
        refusal = self.library.renew(item)
        book = BOOKS.get(item)
        return RenewResponse(
            ok="0" if refusal else "1",
            renewal_ok="N" if refusal else "Y",
            magnetic_media="N",
            desensitize="N",
            transaction_date=ctx.now_18(),
            institution_id=INSTITUTION,
            patron_identifier=req.patron_identifier,
            item_identifier=item,
            title_identifier=book.title if book else "",
            due_date=_sip_date(self.library.due.get(item)),
            screen_message=(refusal,) if refusal else (),
        )

    async def renew_all(self, req: RenewAllRequest, ctx: Any) -> RenewAllResponse:
        """65: BM/BN per loan, or refused as a whole for a blocked patron."""
        member = PATRONS.get(req.patron_identifier)
        if member is None or 0 in member.flags:
            return RenewAllResponse(
                ok="0",
                renewed_count="0000",
                unrenewed_count="0000",
                transaction_date=ctx.now_18(),
                institution_id=INSTITUTION,
                screen_message=("Lånerkortet er spærret",),
            )
        results = {item: self.library.renew(item) for item in member.loans}
        renewed = tuple(i for i, r in results.items() if r is None)
        unrenewed = tuple(i for i, r in results.items() if r is not None)
        return RenewAllResponse(
            ok="1",
            renewed_count=f"{len(renewed):04d}",
            unrenewed_count=f"{len(unrenewed):04d}",
            transaction_date=ctx.now_18(),
            institution_id=INSTITUTION,
            renewed_items=renewed,
            unrenewed_items=unrenewed,
            screen_message=tuple(sorted({r for r in results.values() if r})),
        )

    async def hold(self, req: HoldRequest, ctx: Any) -> HoldResponse:
        """15: add (+) or delete (-) on the title (AJ) or item (AB); BR is the queue position.
        A wrong PIN, a blocked patron (charge or hold privileges denied) or an unknown title is
        refused in AF, as Koha does."""
        member = PATRONS.get(req.patron_identifier)
        title = req.title_identifier or req.item_identifier or ""
        refusal: str | None
        position: int | None = None
        if member is None or not _password_ok(member, req.patron_password):
            refusal = "Ugyldigt lånerkort eller pinkode"
        elif member.flags & {0, 3}:
            refusal = "Lånerkortet er spærret"
        elif req.hold_mode not in ("+", "-"):
            refusal = "Reservationen kan ikke ændres her"
        elif req.hold_mode == "+" and title not in BOOKS:
            refusal = "Ukendt materiale"
        else:
            refusal, position = self.library.hold(member.card, title, req.hold_mode == "+")
        return HoldResponse(
            ok="0" if refusal else "1",
            available="N",
            transaction_date=ctx.now_18(),
            queue_position=str(position) if position else None,
            institution_id=INSTITUTION,
            patron_identifier=req.patron_identifier,
            item_identifier=req.item_identifier,
            title_identifier=req.title_identifier,
            screen_message=(refusal,) if refusal else (),
        )

    async def end_session(self, req: EndPatronSessionRequest, ctx: Any) -> EndSessionResponse:
        """35: always ended."""
        return EndSessionResponse(
            end_session="Y",
            transaction_date=ctx.now_18(),
            institution_id=INSTITUTION,
            patron_identifier=req.patron_identifier,
        )


def build_server(library: Library, charset: str, login: tuple[str, str] | None) -> SIP2Server:
    """The pysip2 server with every route aabent uses."""
    _register_extension()
    app = SIP2Server(
        encoding=charset,
        institution_id=INSTITUTION,
        library_name=LIBRARY_NAME,
        login_required=login is not None,
    )
    h = Handlers(library, login)
    app.route(LOGIN)(h.log_in)
    app.route(PATRON_STATUS)(h.patron_status)
    app.route(PATRON_INFORMATION)(h.patron_information)
    app.route(ITEM_INFORMATION)(h.item_information)
    app.route(RENEW)(h.renew)
    app.route(RENEW_ALL)(h.renew_all)
    app.route(END_PATRON_SESSION)(h.end_session)
    app.route(HOLD)(h.hold)
    return app


async def _serve(port: int, charset: str, login: tuple[str, str] | None, today: date) -> None:
    app = build_server(Library(today), charset, login)
    async with app.start(host="127.0.0.1", port=port) as bound:
        print(f"READY {bound}", flush=True)
        await anyio.sleep_forever()


def main(argv: list[str] | None = None) -> None:
    """Parse arguments and serve until killed."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--charset", default="utf-8")
    parser.add_argument("--login", default=None, help="user:password to require a 93 login")
    parser.add_argument("--today", default=None, help="YYYY-MM-DD the holdings are dated from")
    args = parser.parse_args(argv)
    login = tuple(args.login.split(":", 1)) if args.login else None
    today = date.fromisoformat(args.today) if args.today else date.today()
    try:
        anyio.run(_serve, args.port, args.charset, login, today)
    except KeyboardInterrupt:
        sys.exit(0)


if __name__ == "__main__":
    main()
