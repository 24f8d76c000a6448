"""Danish public holidays (helligdage) by date, with their Danish names, computed per year.

Only the days that are helligdage by law are listed: nytårsdag, skærtorsdag, langfredag,
påskedag, 2. påskedag, Kristi himmelfartsdag, pinsedag, 2. pinsedag, juledag and 2. juledag
(the ``public`` category of the ``holidays`` package for ``DK``). Grundlovsdag, juleaftensdag,
nytårsaftensdag and 1. maj are customary days off, not helligdage; the package files them under
``optional``, and a library that closes on them lists them as exception days. Store bededag is a
helligdag until 2023 and not from 2024 (lov nr. 46 af 28/02/2023); the package knows this.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from typing import Protocol

# A missing year is computed with the four after it: a kiosk or door controller that runs into
# the new year (or looks a week ahead in December) then finds it kept, not importing the package.
YEARS_AT_ONCE = 5


class YearStore(Protocol):
    """Somewhere holiday tables can be kept between processes."""

    def load(self, year: int) -> Mapping[date, str] | None:
        """The table of ``year`` if kept, else None."""

    def save(self, tables: Mapping[int, Mapping[date, str]]) -> None:
        """Keep these tables, by year."""


YearComputer = Callable[[range], Mapping[int, Mapping[date, str]]]
"""Computes the tables of some years (``services.runtime.holidays_dk.public_holidays``)."""


class DanishHolidays:
    """Names Danish public holidays by date; each year is computed once, when first asked.

    The ``holidays`` package behind ``compute`` loads tables of many countries (some 17 MB) to
    answer for one; with a ``store`` a process that finds the year already kept never imports it.
    """

    def __init__(self, compute: YearComputer, store: YearStore | None = None) -> None:
        self._years: dict[int, dict[date, str]] = {}
        self._compute = compute
        self._store = store

    def name(self, day: date) -> str | None:
        """The holiday's Danish name (``"Juledag"``), or None on an ordinary day."""
        return self._year(day.year).get(day)

    def _year(self, year: int) -> dict[date, str]:
        found = self._years.get(year)
        if found is not None:
            return found
        kept = self._store.load(year) if self._store is not None else None
        if kept is not None:
            found = self._years[year] = dict(kept)
            return found
        tables = {y: dict(t) for y, t in self._compute(range(year, year + YEARS_AT_ONCE)).items()}
        self._years.update(tables)
        if self._store is not None:
            self._store.save(tables)
        return tables[year]
