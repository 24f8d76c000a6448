"""The idle poster's view model over a real programme, and the QR code it shows."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from zoneinfo import ZoneInfo

import segno

from kiosk.background import Inline
from kiosk.i18n import Translator
from kiosk.qr import qr_png
from kiosk.viewmodels.poster import PosterViewModel
from services.program.desk import ProgramDesk
from tests.kiosk.conftest import Seeded
from tests.kiosk.library import NOW_ACTIVITY_TITLE, TALK_ACTIVITY_TITLE, TALK_URL

ZONE = ZoneInfo("Europe/Copenhagen")


def poster(tr: Translator, seeded: Seeded) -> PosterViewModel:
    clock = lambda: seeded.now  # noqa: E731
    desk = ProgramDesk(seeded.sessions, kiosk="k1", clock=clock, window=timedelta(minutes=30))
    vm = PosterViewModel(tr, Inline(), program=desk.upcoming, clock=clock, tz=ZONE)
    vm.load()
    return vm


def test_the_weeks_activities_with_a_qr_code_where_they_have_a_page(
    tr: Translator, seeded: Seeded
) -> None:
    vm = poster(tr, seeded)
    assert vm.title == "Ugens program på biblioteket" and vm.empty == ""
    cards = {c["title"]: c for c in vm.activities}
    assert set(cards) == {NOW_ACTIVITY_TITLE, TALK_ACTIVITY_TITLE}
    talk = cards[TALK_ACTIVITY_TITLE]
    assert talk["url"] == TALK_URL and talk["scan"] == "Scan koden for at læse mere"
    assert talk["when"].startswith("I morgen ")
    assert cards[NOW_ACTIVITY_TITLE]["url"] == "" and cards[NOW_ACTIVITY_TITLE]["scan"] == ""
    tr.toggle()
    assert vm.title == "This week at the library"
    assert vm.activities[-1]["scan"] == "Scan the code to read more"


def test_an_empty_week_says_so(tr: Translator, seeded: Seeded) -> None:
    vm = PosterViewModel(tr, Inline(), program=lambda _days: [], clock=lambda: seeded.now, tz=ZONE)
    vm.load()
    assert vm.activities == [] and vm.empty == "Ingen arrangementer de næste syv dage"


def test_the_qr_png_holds_the_address_module_for_module() -> None:
    import io

    from PIL import Image

    png = Image.open(io.BytesIO(qr_png(TALK_URL, scale=4))).convert("L")
    width = png.size[0]
    expected = [list(map(bool, row)) for row in segno.make(TALK_URL, error="m").matrix]
    assert modules(lambda x, y: png.getpixel((x, y)) < 128, width, 4) == expected


def modules(
    dark: Callable[[int, int], bool], width: int, scale: int, border: int = 4
) -> list[list[bool]]:
    """The dark modules read back from the pixels of a code drawn at ``scale``, top row first."""
    size = width // scale - 2 * border
    half = scale // 2
    return [
        [dark((border + c) * scale + half, (border + r) * scale + half) for c in range(size)]
        for r in range(size)
    ]
