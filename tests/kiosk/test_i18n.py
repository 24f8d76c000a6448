"""The two catalogs say the same things, and dates read as Danes and English speakers write them."""

from __future__ import annotations

from datetime import date, datetime, time

from kiosk.i18n import LANGUAGES, Catalog, Translator, placeholders


def test_every_language_has_every_key_with_the_same_placeholders() -> None:
    catalogs = {lang: Catalog.load(lang) for lang in LANGUAGES}
    da = catalogs["da"].strings
    for lang, catalog in catalogs.items():
        assert set(catalog.strings) == set(da), lang
        for key, text in catalog.strings.items():
            if isinstance(text, str):
                assert placeholders(text) == placeholders(str(da[key])), f"{lang}: {key}"
            else:
                assert len(text) == len(da[key]), f"{lang}: {key}"


def test_dates_times_and_plurals() -> None:
    da, en = Catalog.load("da"), Catalog.load("en")
    tuesday = date(2026, 3, 3)
    assert da.date_text(tuesday) == "tirsdag 3. marts"
    assert en.date_text(tuesday) == "Tuesday 3 March"
    assert da.date_text(tuesday, weekday=False) == "3. marts"
    assert da.time_text(time(7, 0)) == "07:00"
    assert da.plural("search.count", 1) == "1 titel"
    assert da.plural("search.count", 3) == "3 titler"
    assert en.plural("program.seats_left", 1) == "1 seat left"


def test_when_names_today_tomorrow_or_the_day() -> None:
    da = Catalog.load("da")
    today = date(2026, 3, 3)
    assert da.when(datetime(2026, 3, 3, 18, 0), today) == "18:00"
    assert da.when(datetime(2026, 3, 4, 7, 0), today) == "i morgen kl. 07:00"
    assert da.when(datetime(2026, 3, 6, 7, 0), today) == "fredag 6. marts kl. 07:00"


def test_switching_language_replaces_the_strings_kv_rules_bind_to() -> None:
    tr = Translator("da")
    assert tr.s["nav.search"] == "Søg efter bøger"
    seen: list[str] = []
    tr.bind(s=lambda _tr, strings: seen.append(strings["nav.search"]))
    tr.toggle()
    assert tr.lang == "en" and seen == ["Search for books"]
    assert tr._("home.staffed_until", time="18:00") == "Staffed until 18:00"


def test_no_english_text_is_left_in_danish() -> None:
    # the same word in both languages only where it is one: "OK"
    same = {"keys.ok", "account.ok"}
    da, en = Catalog.load("da").strings, Catalog.load("en").strings
    untranslated = {k for k, text in en.items() if text == da[k] and isinstance(text, str)}
    assert untranslated - same == set()
