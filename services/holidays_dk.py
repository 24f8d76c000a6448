"""Danish public holidays (helligdage) by date, with their Danish names, computed per year.

Only the days that are helligdage by law are listed: nytårsdag, skærtorsdag, langfredag,
påskedag, 2. påskedag, Kristi himmelfartsdag, pinsedag, 2. pinsedag, juledag and 2. juledag
(the ``public`` category of the ``holidays`` package for ``DK``). Grundlovsdag, juleaftensdag,
nytårsaftensdag and 1. maj are customary days off, not helligdage; the package files them under
``optional``, and a library that closes on them lists them as exception days. Store bededag is a
helligdag until 2023 and not from 2024 (lov nr. 46 af 28/02/2023); the package knows this.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Protocol

COUNTRY = "DK"
LANGUAGE = "da"


class YearStore(Protocol):
    """Somewhere a year's holiday table can be kept between processes."""

    def load(self, year: int) -> Mapping[date, str] | None:
        """The table of ``year`` if kept, else None."""

    def save(self, year: int, table: Mapping[date, str]) -> None:
        """Keep the table of ``year``."""


class DanishHolidays:
    """Names Danish public holidays by date; each year is computed once, when first asked.

    The ``holidays`` package loads the tables of every country it knows (some 17 MB) to answer
    for one; with a ``store`` a process that finds the year already kept never imports it.
    """

    def __init__(self, store: YearStore | None = None) -> None:
        self._years: dict[int, dict[date, str]] = {}
        self._store = store

    def name(self, day: date) -> str | None:
        """The holiday's Danish name (``"Juledag"``), or None on an ordinary day."""
        return self._year(day.year).get(day)

    def _year(self, year: int) -> dict[date, str]:
        found = self._years.get(year)
        if found is None:
            kept = self._store.load(year) if self._store is not None else None
            found = self._years[year] = dict(kept) if kept is not None else _compute(year)
            if kept is None and self._store is not None:
                self._store.save(year, found)
        return found


def _compute(year: int) -> dict[date, str]:
    import holidays  # here, not at the top: a kept year must not pay for the import

    # expand=False: a lookup must never quietly add another year to this one's table.
    table = holidays.country_holidays(
        COUNTRY, years=year, language=LANGUAGE, categories=("public",), expand=False
    )
    return dict(table.items())
