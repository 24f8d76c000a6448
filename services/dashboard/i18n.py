"""The dashboard's words: Danish first, English one click away, none of them in code.

Every ``locale/<lang>/*.toml`` is merged into one catalogue per language, so a feature adds its
own file (``locale/da/evening.toml``, ``locale/en/evening.toml``) without touching anyone else's.
Tables become dotted keys (``[event] "access.denied" = …`` is ``event.access.denied``). Loading
fails, naming the file and key, when a key is defined twice or one language lacks a key the
other has, so a page can never show a key instead of a word.

The language is the ``aabent_lang`` cookie when it names a catalogue, otherwise the site's
(``dashboard.language``). Times say the day when it is not today ("i går 23:10",
"tirsdag 1. december 07:00"), never a bare clock that could be any day.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

LOCALE = Path(__file__).resolve().parent / "locale"
LANG_COOKIE = "aabent_lang"


class CatalogueError(ValueError):
    """The translation files disagree; the message names the file and the key."""


def _flatten(table: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in table.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, name + "."))
        else:
            flat[name] = value
    return flat


def _load_language(folder: Path) -> dict[str, Any]:
    texts: dict[str, Any] = {}
    where: dict[str, str] = {}
    for path in sorted(folder.glob("*.toml")):
        with path.open("rb") as f:
            for key, value in _flatten(tomllib.load(f)).items():
                if key in texts:
                    raise CatalogueError(f"{path}: {key} is already defined in {where[key]}")
                texts[key], where[key] = value, path.name
    return texts


@dataclass(frozen=True)
class Catalogue:
    """Every language's texts by key."""

    texts: Mapping[str, Mapping[str, Any]]

    @classmethod
    def load(cls, folder: Path = LOCALE) -> Catalogue:
        """Read ``folder/<lang>/*.toml``; every language must have the same keys."""
        texts = {d.name: _load_language(d) for d in sorted(folder.iterdir()) if d.is_dir()}
        if not texts:
            raise CatalogueError(f"{folder}: no language folders")
        every = set().union(*(t.keys() for t in texts.values()))
        for lang, own in texts.items():
            missing = sorted(every - own.keys())
            if missing:
                raise CatalogueError(f"{folder / lang}: no text for {', '.join(missing[:10])}")
        return cls(texts)

    @property
    def languages(self) -> list[str]:
        """The languages there are catalogues for."""
        return list(self.texts)

    def choose(self, wanted: str | None, default: str) -> str:
        """``wanted`` if there is a catalogue for it, else ``default``."""
        return wanted if wanted is not None and wanted in self.texts else default

    def text(self, lang: str, key: str, **values: object) -> str:
        """The text of ``key`` in ``lang``, with ``{placeholders}`` filled in."""
        template = self.texts[lang][key]
        return str(template).format(**values) if values else str(template)

    def maybe(self, lang: str, key: str) -> str | None:
        """The text of ``key``, or None when there is none (e.g. a code from a newer door)."""
        value = self.texts[lang].get(key)
        return None if value is None else str(value)

    def section(self, lang: str, *prefixes: str) -> dict[str, Any]:
        """Every text whose key starts with one of ``prefixes`` (for the page's script)."""
        return {k: v for k, v in self.texts[lang].items() if k.startswith(prefixes)}


@dataclass(frozen=True)
class Words:
    """One request's language: texts, door names and times with their day."""

    catalogue: Catalogue
    lang: str
    today: date

    def __call__(self, key: str, **values: object) -> str:
        return self.catalogue.text(self.lang, key, **values)

    def code(self, area: str, value: object) -> str:
        """A code (event type, reason, state) in words; the code itself if it has none."""
        text = None if value is None else self.catalogue.maybe(self.lang, f"{area}.{value}")
        return text if text is not None else str(value or "")

    def sentence(self, where: str, etype: str, reason: str | None) -> str:
        """An event as a librarian says it: "Hovedindgang: adgang nægtet — forkert PIN-kode"."""
        text = f"{where}: {self.code('event', etype)}"
        return f"{text} — {self.code('reason', reason)}" if reason else text

    def number(self, value: float, decimals: int = 1) -> str:
        """A decimal number with the language's decimal mark."""
        return f"{value:.{decimals}f}".replace(".", self("format.decimal_mark"))

    def when(self, value: datetime | None, seconds: bool = False) -> str:
        """A time with its day unless today: "14:03", "i går 23:10", "tirsdag 1. december 07:00"."""
        if value is None:
            return ""
        clock = value.strftime("%H:%M:%S" if seconds else "%H:%M")
        day = value.date()
        if day == self.today:
            return clock
        if day == self.today - timedelta(days=1):
            return self("time.yesterday_at", time=clock)
        if day == self.today + timedelta(days=1):
            return self("time.tomorrow_at", time=clock)
        weekday = self.catalogue.texts[self.lang]["time.weekdays"][day.weekday()]
        month = self.catalogue.texts[self.lang]["time.months"][day.month - 1]
        text = self("time.date", weekday=weekday, day=day.day, month=month)
        if day.year != self.today.year:
            text = f"{text} {day.year}"
        return self("time.date_at", date=text, time=clock)
