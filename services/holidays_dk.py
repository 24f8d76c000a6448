"""Danish public holidays (helligdage) by date, with their Danish names, computed per year.

Only the days that are helligdage by law are listed: nytårsdag, skærtorsdag, langfredag,
påskedag, 2. påskedag, Kristi himmelfartsdag, pinsedag, 2. pinsedag, juledag and 2. juledag
(the ``public`` category of the ``holidays`` package for ``DK``). Grundlovsdag, juleaftensdag,
nytårsaftensdag and 1. maj are customary days off, not helligdage; the package files them under
``optional``, and a library that closes on them lists them as exception days. Store bededag is a
helligdag until 2023 and not from 2024 (lov nr. 46 af 28/02/2023); the package knows this.
"""

from __future__ import annotations

from datetime import date

import holidays

COUNTRY = "DK"
LANGUAGE = "da"


class DanishHolidays:
    """Names Danish public holidays by date; each year is computed once, when first asked."""

    def __init__(self) -> None:
        self._years: dict[int, dict[date, str]] = {}

    def name(self, day: date) -> str | None:
        """The holiday's Danish name (``"Juledag"``), or None on an ordinary day."""
        return self._year(day.year).get(day)

    def _year(self, year: int) -> dict[date, str]:
        found = self._years.get(year)
        if found is None:
            # expand=False: a lookup must never quietly add another year to this one's table.
            table = holidays.country_holidays(
                COUNTRY, years=year, language=LANGUAGE, categories=("public",), expand=False
            )
            found = self._years[year] = dict(table.items())
        return found
