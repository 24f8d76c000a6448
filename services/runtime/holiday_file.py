"""A file that keeps the Danish holiday tables between processes, and the site's schedule on it.

The tables depend only on the year and on the law as the ``holidays`` package knows it, so the
file names the package version it was computed with and is ignored after an upgrade.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from datetime import date
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from services.core.holidays import DanishHolidays
from services.core.schedule import Schedule
from services.runtime.holidays_dk import public_holidays
from services.settings import Settings

log = logging.getLogger(__name__)

FILE_NAME = "holidays-dk.json"


def _package() -> str:
    try:
        return f"holidays {version('holidays')}"
    except PackageNotFoundError:
        return "holidays ?"


class HolidayFile:
    """Holiday tables in a JSON file; a missing, stale or broken file is simply recomputed."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._package = _package()

    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            log.warning("%s: unreadable, holidays are computed again (%s)", self.path, exc)
            return {}
        if not isinstance(data, dict) or data.get("package") != self._package:
            return {}
        return data

    def load(self, year: int) -> Mapping[date, str] | None:
        """The kept table of ``year``, or None."""
        table = self._read().get("years", {}).get(str(year))
        if not isinstance(table, dict):
            return None
        try:
            return {date.fromisoformat(day): str(name) for day, name in table.items()}
        except (TypeError, ValueError):
            return None

    def save(self, tables: Mapping[int, Mapping[date, str]]) -> None:
        """Keep these years' tables (written whole and renamed into place, so never half)."""
        data = self._read() or {"package": self._package, "years": {}}
        for year, table in tables.items():
            days = sorted(table.items())
            data["years"][str(year)] = {day.isoformat(): name for day, name in days}
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
            os.replace(tmp, self.path)
        except OSError as exc:
            log.warning("%s: holidays not kept (%s)", self.path, exc)


def site_schedule(settings: Settings) -> Schedule:
    """The site's schedule, with its holiday tables kept in the data folder."""
    holidays = DanishHolidays(public_holidays, HolidayFile(settings.site.data_dir / FILE_NAME))
    return Schedule(
        settings.schedule.opening_hours(), ZoneInfo(settings.site.timezone), holidays=holidays
    )
