"""The test library system's holdings and patrons, shared by the ACS server process and the tests.

Dates are relative to ``today`` (passed to the server), so "overdue" means the same in both.
Card numbers start with 90, which no CPR number can (no day 90), so they read as library cards.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

TODAY = date(2026, 3, 2)
INSTITUTION = "DK-761500"
LIBRARY_NAME = "Glostrup Bibliotek (test)"
LOGIN = ("sc-door-1", "s3cret")


@dataclass
class Book:
    """An item: its title and, when lent, its due date (days from today)."""

    item_id: str
    title: str
    due_in_days: int | None = None
    refuse_renewal: str | None = None  # the ACS's own words (AF) when it refuses

    def due(self, today: date) -> date | None:
        """The due date relative to ``today``."""
        return None if self.due_in_days is None else today + timedelta(days=self.due_in_days)


@dataclass
class Member:
    """A patron: card, PIN (None: no PIN set), name, flags (patron status positions), holdings."""

    card: str
    pin: str | None
    name: str
    birth: str | None = None  # PB, YYYYMMDD
    flags: frozenset[int] = frozenset()
    loans: list[str] = field(default_factory=list)
    ready: list[str] = field(default_factory=list)  # holds on the pickup shelf (AS)
    waiting: list[str] = field(default_factory=list)  # holds not yet available (CD)
    fee_amount: str | None = None  # BV, as the library system writes it ("45.00")
    fines: list[str] = field(default_factory=list)  # AV fine items, in the server's own words
    email: str | None = None  # BE


BOOKS = {
    b.item_id: b
    for b in (
        Book("5010941603", "Harry Potter og De Vises Sten", due_in_days=10),
        Book("4933448504", "Fankultur og fanfiktion", due_in_days=-3),
        Book("5120684762", "Kubo – den modige samurai", due_in_days=-1),
        Book("5118709375", "Æbler på Ærø", 20, refuse_renewal="Reserveret af anden låner"),
        Book("3846731813", "Prinsesse Mononoke"),
        Book("3843081011", "Øst for Vesterled"),
        Book("6000000001", "Fornyes gerne", due_in_days=2),
        Book("6000000002", "Fornyes ikke", due_in_days=2, refuse_renewal="Maks. antal fornyelser"),
        Book("6000000003", "Også til fornyelse", due_in_days=5),
        Book("6000000004", "Spærret lån", due_in_days=1),
    )
}

# Patron status positions (SIP2 spec): 0 charge privileges denied, 4 card reported lost,
# 6 too many items overdue.
PATRONS = {
    m.card: m
    for m in (
        Member(
            "9000000001",
            "1234",
            "Søren Ærø Åberg",
            birth="19800301",
            loans=["5010941603", "4933448504", "5120684762", "5118709375"],
            ready=["3846731813"],
            waiting=["3843081011"],
        ),
        Member("9000000002", "2222", "Blokeret Bent", birth="19700101", flags=frozenset({0})),
        Member("9000000003", "3333", "Mistet Mette", birth="19900101", flags=frozenset({4})),
        Member("9000000004", "4444", "Forsinket Frede", birth="19600101", flags=frozenset({6})),
        Member("9000000005", None, "Uden Pinkode"),  # answers CQ Y to any password, even none
        Member("9000000006", "6666", "Lille Lise", birth="20150601"),
        Member("0103801234", "0000", "Cpr Carl"),  # a CPR number as patron id, no PB sent
        Member(
            "9000000007",
            "7777",
            "Fornyer Frida",
            loans=["6000000001", "6000000002"],
            email="frida@example.dk",
        ),
        Member("9000000008", "8888", "Alt Aase", loans=["6000000003", "6000000002"]),
        Member("9000000009", "9999", "Spærret Sune", flags=frozenset({0}), loans=["6000000004"]),
        Member(
            "9000000010",
            "1010",
            "Gebyr Gitte",
            flags=frozenset({1, 10}),  # renewal privileges denied, excessive outstanding fines
            loans=["6000000001"],
            fee_amount="245.50",
            fines=["4933448504 Overskredet lånetid 45.50", "5120684762 Erstatning 200.00"],
        ),
    )
}
