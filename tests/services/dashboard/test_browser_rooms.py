"""Room bookings in the dashboard, in headless Chromium against a running server: staff book a
free slot for a patron, see it today, cancel it; Danish first, English one click away."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from services.dashboard.server import Server
from services.store.dashboard import Role
from services.store.engine import make_engine, make_sessionmaker
from services.store.rooms import RoomBookingRecord
from services.store.schema import create_schema
from tests.conftest import Broker
from tests.services.dashboard.conftest import PASSWORD, add_staff, site_settings

CARD = "10000001"
ROOMS = "/site/glostrup/rooms"  # the example site's id (config/aabent.toml)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, mqtt_broker: Broker) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("rooms")
    settings = site_settings(tmp, mqtt_broker)
    engine = make_engine(f"sqlite:///{tmp / 'server.sqlite'}")
    create_schema(engine)
    sessions = make_sessionmaker(engine)
    add_staff(sessions, "otto", Role.OPERATOR)
    add_staff(sessions, "vera", Role.VIEWER)
    running = Server(settings, engine)
    running.start_background()
    yield running
    running.stop()
    engine.dispose()


@pytest.fixture
def page(browser: Browser, server: Server) -> Iterator[Page]:
    url = f"http://127.0.0.1:{server.settings.dashboard.port}"
    context = browser.new_context(viewport={"width": 1366, "height": 900}, base_url=url)
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    context.close()


def login(page: Page, user: str) -> None:
    page.goto("/login")
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator("#branches")).to_be_visible()  # the overview of every branch first


def test_staff_book_for_a_patron_see_it_today_and_cancel_it(
    page: Page, server: Server, artifacts: Path
) -> None:
    login(page, "otto")
    page.goto(ROOMS)
    expect(page.locator("main h1")).to_have_text("Booking af lokaler")
    expect(page.locator("#today")).to_contain_text("Ingen bookinger i dag.")
    first = page.locator("#book select[name=slot] option").first
    label = first.inner_text()
    assert label.startswith("Studierummet: ")
    page.fill("#book input[name=card]", CARD)
    page.fill("#book input[name=companions]", "2")
    page.click("#book button[type=submit]")
    expect(page.locator("p.ack")).to_have_text("Lokalet er booket.")
    today = page.locator("#today tbody tr").first
    expect(today).to_contain_text("booket")
    expect(today).to_contain_text("personale otto")
    assert CARD not in page.content()  # the pseudonym only
    assert page.locator("#book select[name=slot] option").first.inner_text() != label  # taken
    page.screenshot(path=str(artifacts / "dashboard-rooms-da.png"), full_page=True)

    page.click("a.lang")
    expect(page.locator("main h1")).to_have_text("Room bookings")
    expect(page.locator("#today tbody tr").first).to_contain_text("booked")
    page.screenshot(path=str(artifacts / "dashboard-rooms-en.png"), full_page=True)
    page.locator("#today tbody tr").first.locator("button").click()
    expect(page.locator("p.ack")).to_have_text("The booking is cancelled.")
    expect(page.locator("#today tbody tr").first).to_contain_text("No bookings today.")
    with server.engine.connect() as c:
        states = list(c.execute(select(RoomBookingRecord.state, RoomBookingRecord.via)))
    assert [tuple(r) for r in states] == [("cancelled", "staff")]


def test_a_taken_slot_is_refused_in_words(page: Page, server: Server) -> None:
    login(page, "otto")
    page.goto(ROOMS)
    option = page.locator("#book select[name=slot] option").nth(1).get_attribute("value")
    assert option is not None
    for card in (CARD, "10000003"):
        page.goto(ROOMS)
        page.locator("#book select[name=slot]").evaluate(
            "(el, v) => { const o = new Option('x', v); el.add(o); el.value = v; }", option
        )
        page.fill("#book input[name=card]", card)
        page.click("#book button[type=submit]")
    expect(page.locator("main")).to_contain_text("Den tid er allerede booket.")


def test_a_viewer_sees_the_bookings_but_no_form(page: Page) -> None:
    login(page, "vera")
    page.goto(ROOMS)
    expect(page.locator("#today")).to_be_visible()
    assert page.locator("#book").count() == 0


def test_the_rooms_page_has_no_untranslated_string(page: Page, server: Server) -> None:
    from tests.services.dashboard.test_browser import SAME_IN_BOTH, TEXTS

    login(page, "otto")
    names = {"otto", "Studierummet", server.settings.site.name, "aabent", "English", "Dansk"}
    texts: dict[str, set[str]] = {}
    for lang in ("da", "en"):
        origin = "/".join(page.url.split("/")[:3])  # one cookie for the whole site, path /
        page.context.add_cookies([{"name": "aabent_lang", "value": lang, "url": origin + "/"}])
        page.goto(ROOMS)
        texts[lang] = set(page.evaluate(TEXTS))
    same = {t for t in texts["da"] & texts["en"] if not SAME_IN_BOTH.match(t)}
    same = {t for t in same if not any(t.startswith(n) for n in names)}
    assert not same, f"untranslated (the same in Danish and English): {sorted(same)}"
