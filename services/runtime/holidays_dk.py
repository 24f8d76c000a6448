"""Danish public holidays computed by the ``holidays`` package: the computer behind
:class:`services.core.holidays.DanishHolidays`.

Only the ``public`` category counts (see :mod:`services.core.holidays` for which days that is).
"""

from __future__ import annotations

from datetime import date

COUNTRY = "DK"
LANGUAGE = "da"


def public_holidays(years: range) -> dict[int, dict[date, str]]:
    """The public holidays of ``years``, by year, with their Danish names."""
    import holidays  # here, not at the top: a kept year must not pay for the import

    # expand=False: a lookup must never quietly add another year to these tables.
    table = holidays.country_holidays(
        COUNTRY, years=years, language=LANGUAGE, categories=("public",), expand=False
    )
    tables: dict[int, dict[date, str]] = {year: {} for year in years}
    for day, name in table.items():
        tables[day.year][day] = name
    return tables
