"""The kiosk's two languages: string catalogs in TOML, and a translator Kivy rules bind to.

No user-facing text lives in code: every string comes from ``kiosk/locale/<lang>.toml`` by a
dotted key (``"home.staffed_until"``). The view models format their texts through
:class:`Translator`; the ``.kv`` files read fixed captions from ``app.tr.s['nav.search']``,
and since ``s`` is replaced on a language switch, Kivy re-evaluates every such rule.
"""

from __future__ import annotations

import string
import tomllib
from collections.abc import Mapping
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from kivy.event import EventDispatcher
from kivy.properties import DictProperty, OptionProperty

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
LANGUAGES = ("da", "en")
DEFAULT_LANGUAGE = "da"


def _flatten(tree: Mapping[str, Any], prefix: str = "") -> dict[str, str | list[str]]:
    out: dict[str, str | list[str]] = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(_flatten(value, name + "."))
        else:
            out[name] = value
    return out


def placeholders(text: str) -> set[str]:
    """The ``{names}`` a catalog string expects."""
    return {field for _, field, _, _ in string.Formatter().parse(text) if field}


class Catalog:
    """One language's strings by dotted key; a missing key is a bug and raises KeyError."""

    def __init__(self, lang: str, strings: Mapping[str, str | list[str]]) -> None:
        self.lang = lang
        self.strings = dict(strings)

    @classmethod
    def load(cls, lang: str, folder: Path = LOCALE_DIR) -> Catalog:
        """Read ``<folder>/<lang>.toml``."""
        with (folder / f"{lang}.toml").open("rb") as f:
            return cls(lang, _flatten(tomllib.load(f)))

    def text(self, key: str, **values: object) -> str:
        """The string ``key`` with ``values`` filled in."""
        found = self.strings[key]
        if not isinstance(found, str):
            raise KeyError(f"{self.lang}: {key} is a list, not a string")
        return found.format(**values) if values else found

    def plural(self, key: str, n: int, **values: object) -> str:
        """``key.one`` for 1, else ``key.other``; ``{n}`` is filled in."""
        return self.text(f"{key}.{'one' if n == 1 else 'other'}", n=n, **values)

    def names(self, key: str) -> list[str]:
        """A list of names (weekdays, months)."""
        found = self.strings[key]
        if not isinstance(found, list):
            raise KeyError(f"{self.lang}: {key} is not a list")
        return found

    def plain(self) -> dict[str, str]:
        """The strings without placeholders or lists, for fixed captions in ``.kv`` rules."""
        return {k: v for k, v in self.strings.items() if isinstance(v, str)}

    def number_text(self, n: int) -> str:
        """``10.000`` in Danish, ``10,000`` in English."""
        return f"{n:,}".replace(",", self.text("format.thousands"))

    def time_text(self, value: time | datetime) -> str:
        """``07:00``: the 24-hour clock, as in Danish and on the library's door."""
        return f"{value.hour:02d}:{value.minute:02d}"

    def date_text(self, value: date, *, weekday: bool = True) -> str:
        """``tirsdag 3. marts`` / ``Tuesday 3 March``."""
        month = self.names("format.months")[value.month - 1]
        if not weekday:
            return self.text("format.short_date", day=value.day, month=month)
        day_name = self.names("format.weekdays")[value.weekday()]
        return self.text("format.date", weekday=day_name, day=value.day, month=month)

    def when(self, moment: datetime, today: date) -> str:
        """A time today (``18:00``), tomorrow (``i morgen kl. 07:00``) or on a named day."""
        day = moment.date()
        if day == today:
            return self.time_text(moment)
        label = self.text("format.tomorrow") if (day - today).days == 1 else self.date_text(day)
        return self.text("format.day_time", day=label, time=self.time_text(moment))


class Translator(EventDispatcher):  # type: ignore[misc]
    """The current language; ``s`` holds its plain strings for ``.kv`` rules to bind to."""

    lang = OptionProperty(DEFAULT_LANGUAGE, options=list(LANGUAGES))
    s = DictProperty({})

    def __init__(self, lang: str = DEFAULT_LANGUAGE, **kwargs: Any) -> None:
        self._catalogs = {code: Catalog.load(code) for code in LANGUAGES}
        super().__init__(**kwargs)
        self.lang = lang
        self.s = self._catalogs[lang].plain()

    @property
    def catalog(self) -> Catalog:
        """The catalog of the current language."""
        return self._catalogs[self.lang]

    def on_lang(self, _instance: Any, lang: str) -> None:
        """Swap the strings; every bound rule and view model text follows."""
        self.s = self._catalogs[lang].plain()

    def toggle(self) -> None:
        """Danish <-> English."""
        self.lang = "en" if self.lang == "da" else "da"

    def _(self, key: str, **values: object) -> str:
        """The string ``key`` in the current language."""
        return self.catalog.text(key, **values)


def capital(text: str) -> str:
    """The first letter upper-case, the rest untouched (``str.capitalize`` lowers "March")."""
    return text[:1].upper() + text[1:]
