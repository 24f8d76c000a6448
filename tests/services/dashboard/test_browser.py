"""The dashboard in headless Chromium against a running server, broker and simulated door.

One browser for the module; each test has its own context (cookies). Screenshots go to
tests/artifacts/ for a person to look at.
"""

from __future__ import annotations

import json
import queue
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from services.bus.client import MqttBus
from services.bus.topics import Topics
from services.dashboard.users import list_users, remove_user, set_password, set_role, set_site_role
from services.store.dashboard import CommandAudit, Role
from services.store.engine import make_sessionmaker
from services.store.recorder import put_state
from tests.conftest import Broker
from tests.services.dashboard.conftest import PASSWORD, add_staff
from tests.services.dashboard.harness import Site, running_site, wait_until

DESK = {"width": 1366, "height": 900}
S = "/site/browser"  # the branch's pages (harness.running_site's site id)
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, mqtt_broker: Broker) -> Iterator[Site]:
    with running_site(tmp_path_factory.mktemp("branch"), mqtt_broker) as running:
        yield running


@pytest.fixture
def page(browser: Browser, site: Site) -> Iterator[Page]:
    context = browser.new_context(viewport=DESK, base_url=site.url, accept_downloads=True)
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
    page.goto(f"{S}/")
    expect(page.locator("#conn")).to_have_text("live")


def door_field(page: Page, field: str) -> Any:
    return page.locator(f'#door-main [data-field="{field}"]')


def test_swipe_appears_live_and_operator_unlocks_remotely(
    page: Page, site: Site, artifacts: Path
) -> None:
    login(page, "otto")
    expect(door_field(page, "lock")).to_have_text("låst")
    expect(page.locator("#plan-main")).to_have_class("plan-door good")  # on the floor plan
    site.sim("main", "swipe", json.dumps({"card": "10000001", "pin": "1234"}).encode())
    granted = page.locator('#feed li[data-type="access.granted"]')
    expect(granted.first).to_contain_text("Hovedindgang: adgang givet")
    expect(door_field(page, "lock")).to_have_text("låst", timeout=15_000)  # 5 s unlock ends

    form = page.locator("#door-main form.command")
    form.locator("input[name=reason]").fill("Parcel delivery at the main door")
    form.locator("input[name=seconds]").fill("120")
    form.locator("button[value=unlock]").click()
    expect(form.locator(".outcome")).to_have_text("Udført: lås op")
    assert form.locator("input[name=reason]").input_value() == ""  # no stale reason
    expect(door_field(page, "lock")).to_have_text("låst op")
    expect(page.locator("#plan-main")).to_have_class("plan-door warn")
    page.screenshot(path=str(artifacts / "dashboard-live-operator.png"), full_page=True)

    form.locator("input[name=reason]").fill("Parcel delivered")
    form.locator("button[value=lock]").click()
    expect(form.locator(".outcome")).to_have_text("Udført: lås")
    expect(door_field(page, "lock")).to_have_text("låst")
    page.goto(f"{S}/commands")
    expect(page.locator("tbody tr").nth(1)).to_contain_text("Parcel delivery")
    expect(page.locator("tbody tr").nth(1)).to_contain_text("udført")


def test_operator_acknowledges_a_forced_door(page: Page, site: Site, artifacts: Path) -> None:
    login(page, "otto")
    site.sim("main", "contact", b"open")  # opened while locked: forced open
    expect(door_field(page, "alarm")).to_have_text("brudt op")
    alarm = page.locator("#alarm-panel li.sev-critical").first
    expect(alarm).to_contain_text("kritisk")
    alarm.locator("input[name=comment]").fill("Checked on camera: staff member with a key")
    alarm.locator("button").click()
    expect(page.locator("#alarm-panel")).to_contain_text("Kvitteret af otto")
    page.screenshot(path=str(artifacts / "dashboard-alarm-acknowledged.png"), full_page=True)
    site.sim("main", "contact", b"closed")  # cleared and acknowledged: nothing left to do
    expect(page.locator("#alarm-panel")).to_contain_text("Ingen alarmer kræver opmærksomhed")
    page.goto(f"{S}/alarms")
    handled = page.locator("table tbody tr").first
    expect(handled).to_contain_text("otto")
    expect(handled).to_contain_text("Checked on camera")


def test_statistics_export_csv(page: Page, site: Site, artifacts: Path) -> None:
    login(page, "otto")
    site.sim("main", "walk", b"in")
    expect(page.locator("#occ-inside")).not_to_have_text("0")
    page.goto(f"{S}/stats")
    with page.expect_download() as download:
        page.click("#csv-entries")
    text = Path(download.value.path()).read_text(encoding="utf-8-sig")
    lines = text.splitlines()
    assert lines[0] == "start,card_entries,counted_entries"
    assert sum(int(line.split(",")[2]) for line in lines[1:]) >= 1  # the walk in
    assert sum(int(line.split(",")[1]) for line in lines[1:]) >= 1  # the swipe
    expect(page.locator("figure.chart svg").first).to_be_visible()
    page.screenshot(path=str(artifacts / "dashboard-statistics.png"), full_page=True)


def test_viewer_sees_no_commands_and_is_refused(
    browser: Browser, site: Site, artifacts: Path
) -> None:
    context = browser.new_context(viewport=PHONE, base_url=site.url, is_mobile=True)
    page = context.new_page()
    try:
        login(page, "vera")
        expect(page.locator("#door-main")).to_be_visible()
        assert page.locator("form.command").count() == 0
        status = page.evaluate(
            """async () => {
                const body = new FormData();
                body.append("action", "lock"); body.append("reason", "try");
                const headers = {"X-CSRF-Token": document.body.dataset.csrf,
                                 Accept: "application/json"};
                const url = "/site/browser/doors/main/command";
                const r = await fetch(url, {method: "POST", body, headers});
                return r.status;
            }"""
        )
        assert status == 403
        page.screenshot(path=str(artifacts / "dashboard-viewer-phone.png"), full_page=True)
    finally:
        context.close()


# --- sessions that really end -------------------------------------------------------------------


def _stream_count(site: Site) -> int:
    assert site.server.dashboard is not None
    return site.server.dashboard.hub.clients


def _closed_within(site: Site, before: int, limit_s: float) -> float:
    started = time.monotonic()
    wait_until(lambda: _stream_count(site) < before, timeout=limit_s)
    return time.monotonic() - started


def test_logging_out_in_another_tab_ends_this_tab_s_stream_at_once(
    page: Page, site: Site, artifacts: Path
) -> None:
    login(page, "otto")
    other = page.context.new_page()
    other.goto(f"{S}/commands")
    before = _stream_count(site)
    other.click("header form.logout button")
    took = _closed_within(site, before, 1.0)
    expect(page.locator("#logged-out")).to_be_visible(timeout=2_000)
    expect(page.locator("main")).to_be_hidden()
    expect(page.locator("#alarm-panel form")).to_have_count(0)
    assert took < 1.0
    page.screenshot(path=str(artifacts / "dashboard-logged-out-da.png"), full_page=True)


@pytest.mark.parametrize("change", ["remove", "passwd", "role"])
def test_removing_a_user_or_changing_password_or_role_ends_their_stream(
    page: Page, site: Site, change: str
) -> None:
    name = f"tove-{change}"
    add_staff(make_sessionmaker(site.engine), name, Role.OPERATOR)
    login(page, name)
    before = _stream_count(site)
    with make_sessionmaker(site.engine)() as session, session.begin():  # as `aabent users` does
        if change == "remove":
            remove_user(session, name)
        elif change == "passwd":
            set_password(session, name, "a brand new long secret")
        else:
            set_role(session, name, Role.VIEWER)
    assert _closed_within(site, before, 1.0) < 1.0
    expect(page.locator("#logged-out")).to_be_visible(timeout=2_000)


# --- Danish first, English one click away, on a desk and on a 360 px phone ----------------------

SITE_PAGES = ["/", "/alarms", "/commands", "/stats", "/events", "/year"]
PAGES = [
    "/",
    *(f"{S}{p}" for p in SITE_PAGES),
    "/municipality/stats",
    "/municipality/year",
    "/users",
]
PHONE_360 = {"width": 360, "height": 780}
# Words that are the same in both languages by nature: names, numbers, codes.
SAME_IN_BOTH = re.compile(r"^[\d\s.,:;/–\-+%()·|]*$|^aabent\b|^Alarm$")

TEXTS = """() => {
  const out = [];
  const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walk.nextNode()) {
    const node = walk.currentNode, el = node.parentElement;
    // Staff's own words (reasons, comments) are marked translate="no", as HTML intends.
    if (!el || el.closest("script, style, code, [hidden], [translate=no]")) continue;
    if (!el.checkVisibility()) continue;
    const text = node.textContent.trim();
    if (text) out.push(text);
  }
  for (const el of document.querySelectorAll("[placeholder], [aria-label]")) {
    for (const a of ["placeholder", "aria-label"]) {
      if (el.getAttribute(a)) out.push(el.getAttribute(a));
    }
  }
  return out;
}"""


def _visible_texts(page: Page, lang: str, path: str, artifacts: Path, shot: str) -> set[str]:
    # One cookie for the whole site (path /), as the language switch sets it.
    origin = "/".join(page.url.split("/")[:3])
    page.context.add_cookies([{"name": "aabent_lang", "value": lang, "url": origin + "/"}])
    page.goto(path)
    if path == f"{S}/":
        expect(page.locator("#conn")).to_have_text("live" if lang == "da" else "live now")
        expect(page.locator("#alarm-panel")).not_to_contain_text("…")
    assert page.locator("html").get_attribute("lang") == lang
    page.screenshot(path=str(artifacts / shot), full_page=True)
    return set(page.evaluate(TEXTS))


def test_every_page_in_danish_and_english_with_no_untranslated_string(
    page: Page, site: Site, artifacts: Path
) -> None:
    add_staff(make_sessionmaker(site.engine), "ada", Role.ADMIN)
    login(page, "ada")
    names = {site.settings.site.name, "ada", *(d.name or k for k, d in site.settings.doors.items())}
    names |= set(site.settings.doors) | {"door-1", "door-main", "kiosk", "recorder", "dashboard"}
    names |= {ANNEX, "front", site.settings.site.id}  # the other branch's id and door
    with make_sessionmaker(site.engine)() as session:
        names |= {u.username for u in list_users(session)}
    for path in PAGES:
        slug = path.strip("/").replace("/", "-") or "overview"
        texts = {
            lang: _visible_texts(page, lang, path, artifacts, f"dashboard-{slug}-{lang}.png")
            for lang in ("da", "en")
        }
        same = {
            t for t in texts["da"] & texts["en"] if not SAME_IN_BOTH.match(t) and t not in names
        }
        same = {t for t in same if not any(t.startswith(n) for n in names)}
        assert not same, f"{path}: untranslated (the same in Danish and English): {sorted(same)}"
    page.context.clear_cookies()
    for lang in ("da", "en"):
        page.context.add_cookies([{"name": "aabent_lang", "value": lang, "url": site.url}])
        page.goto("/login")
        assert page.locator("html").get_attribute("lang") == lang
        page.screenshot(path=str(artifacts / f"dashboard-login-{lang}.png"), full_page=True)


def test_an_english_string_in_the_danish_page_is_caught(page: Page, site: Site) -> None:
    """The check above is not blind: an untranslated string on a page is found."""
    login(page, "otto")
    page.goto(f"{S}/commands")
    page.evaluate("document.querySelector('h1').textContent = 'Commands'")
    danish = set(page.evaluate(TEXTS))
    page.context.add_cookies([{"name": "aabent_lang", "value": "en", "url": site.url}])
    page.goto(f"{S}/commands")
    assert "Commands" in danish & set(page.evaluate(TEXTS))


def test_every_page_fits_a_360_px_phone(browser: Browser, site: Site, artifacts: Path) -> None:
    context = browser.new_context(viewport=PHONE_360, base_url=site.url, is_mobile=True)
    context.set_default_timeout(10_000)
    phone = context.new_page()
    try:
        add_staff(make_sessionmaker(site.engine), "adam", Role.ADMIN)
        login(phone, "adam")
        for path in PAGES:
            phone.goto(path)
            if path == f"{S}/":
                expect(phone.locator("#conn")).to_have_text("live")
            width = phone.evaluate("document.documentElement.scrollWidth")
            assert width <= PHONE_360["width"], f"{path} is {width} px wide on a 360 px phone"
            nav = phone.evaluate(
                "[...document.querySelectorAll('header nav a')].every(a => "
                "a.getBoundingClientRect().right <= innerWidth)"
            )
            assert nav, f"{path}: a menu item is off-screen"
            slug = path.strip("/").replace("/", "-") or "overview"
            phone.screenshot(path=str(artifacts / f"dashboard-{slug}-phone.png"), full_page=True)
    finally:
        context.close()


def test_several_alarms_are_acknowledged_at_once_with_one_comment(page: Page, site: Site) -> None:
    from datetime import UTC, datetime

    from services.store.recorder import AlarmRecord

    with make_sessionmaker(site.engine)() as session, session.begin():
        for source in ("kiosk-a", "kiosk-b"):
            session.add(
                AlarmRecord(
                    site=site.settings.site.id,
                    kind="offline",
                    source=source,
                    severity="warning",
                    raised_at=datetime.now(UTC),
                    message=f"{source} offline",
                )
            )
    login(page, "otto")
    panel = page.locator("#alarm-panel")
    for source in ("kiosk-a", "kiosk-b"):
        panel.locator(f'li:has-text("{source}") input[type=checkbox]').check()
    panel.locator("#bulk-ack input[name=comment]").fill("Genstart efter opdatering")
    panel.locator("#bulk-ack button").click()
    expect(panel.locator("p.ack", has_text="Kvitteret af otto")).to_have_count(2)


# --- a municipality: the overview, roles per branch, a forged command for another branch --------

ANNEX = "annex"


def _annex(site: Site) -> MqttBus:
    """A second branch as the store holds it, and its door's end of the bus."""
    now = datetime.now(UTC)
    with make_sessionmaker(site.engine)() as session, session.begin():
        put_state(session, ANNEX, "door/front", {"lock": "locked", "contact": "closed"}, now)
        put_state(session, ANNEX, "opening", {"state": "self-service"}, now)
        put_state(session, ANNEX, "occupancy", {"inside": 2, "capacity": 30}, now)
    topics = Topics(site.settings.mqtt.prefix, ANNEX)
    door = MqttBus(site.settings.mqtt, "door-at-annex", "door", topics)
    door.start()
    assert door.wait_connected(5)
    return door


def test_a_branch_operator_sees_and_commands_her_branch_only(
    browser: Browser, site: Site, artifacts: Path
) -> None:
    door = _annex(site)
    received: queue.Queue[str] = queue.Queue()
    door.subscribe(door.topics.all_door_commands, lambda t, p: received.put(t))
    mine: queue.Queue[str] = queue.Queue()
    site.world.subscribe(site.topics.all_door_commands, lambda t, p: mine.put(t))
    sessions = make_sessionmaker(site.engine)
    add_staff(sessions, "lis", Role.VIEWER)
    with sessions() as session, session.begin():
        set_site_role(session, "lis", ANNEX, Role.OPERATOR)  # the annex's librarian …
        set_site_role(session, "lis", site.settings.site.id, Role.VIEWER)  # … watching this one
    context = browser.new_context(viewport=PHONE_360, base_url=site.url, is_mobile=True)
    context.set_default_timeout(10_000)
    page = context.new_page()
    try:
        page.goto("/login")
        page.fill("input[name=username]", "lis")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        annex = page.locator(f'#branches li[data-site="{ANNEX}"]')
        expect(annex).to_contain_text("Selvbetjening")
        expect(annex).to_contain_text("2 af 30")
        expect(annex).to_contain_text("operatør")
        expect(page.locator(f'#branches li[data-site="{site.settings.site.id}"]')).to_contain_text(
            "læser"
        )
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE_360["width"]
        page.screenshot(path=str(artifacts / "dashboard-overview-branch-operator.png"))

        annex.locator("h2 a").click()
        expect(page.locator("#conn")).to_have_text("live")
        form = page.locator("#door-front form.command")
        form.locator("input[name=reason]").fill("Pakke til filialen")
        form.locator("input[name=seconds]").fill("30")
        form.locator("button[value=unlock]").click()
        assert received.get(timeout=5) == door.topics.door_command("front")

        page.goto(f"{S}/")  # the branch she watches: no command buttons …
        expect(page.locator("#door-main")).to_be_visible()
        assert page.locator("form.command").count() == 0
        forged = page.evaluate(  # … and a command built by hand is refused by the server
            """async () => {
                const body = new FormData();
                body.append("action", "unlock"); body.append("seconds", "30");
                body.append("reason", "forged");
                const headers = {"X-CSRF-Token": document.body.dataset.csrf,
                                 Accept: "application/json"};
                const r = await fetch("/site/browser/doors/main/command",
                                      {method: "POST", body, headers});
                return [r.status, (await r.json()).error];
            }"""
        )
        assert forged == [403, "Det kræver rollen operatør."]
        with pytest.raises(queue.Empty):
            mine.get(timeout=1)
        with sessions() as session:
            audited = session.scalars(select(CommandAudit).where(CommandAudit.username == "lis"))
            assert [(c.site, c.door) for c in audited] == [(ANNEX, "front")]

        with sessions() as session, session.begin():  # no longer watching this branch
            set_site_role(session, "lis", site.settings.site.id, None)
        page.goto("/login")
        page.fill("input[name=username]", "lis")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        expect(page.locator(f'#branches li[data-site="{site.settings.site.id}"]')).to_have_count(0)
        response = page.goto(f"{S}/")
        assert response is not None and response.status == 404
        page.context.add_cookies([{"name": "aabent_lang", "value": "en", "url": site.url}])
        page.goto("/")
        expect(page.locator(f'#branches li[data-site="{ANNEX}"]')).to_contain_text("2 of 30")
    finally:
        context.close()
        door.stop()


# --- the browser notification for critical alarms, opt-in per user -----------------------------

NOTIFICATIONS = """() => {
  window.__notes = [];
  const Real = window.Notification;
  function Wrapped(title, options) {
    window.__notes.push({title, body: options && options.body});
    try { return new Real(title, options); } catch (e) { return {}; }
  }
  Object.defineProperty(Wrapped, "permission", {get: () => Real.permission});
  Wrapped.requestPermission = (...args) => Real.requestPermission(...args);
  window.Notification = Wrapped;
}"""


def test_a_critical_alarm_notifies_the_opted_in_user_with_a_tab_title(
    browser: Browser, site: Site
) -> None:
    context = browser.new_context(viewport=DESK, base_url=site.url, permissions=["notifications"])
    context.set_default_timeout(10_000)
    context.add_init_script(f"({NOTIFICATIONS})()")
    page = context.new_page()
    try:
        login(page, "otto")
        button = page.locator("header button.notify")
        expect(button).to_have_text("Slå skrivebordsbeskeder til")
        button.click()
        expect(button).to_have_text("Skrivebordsbeskeder er slået til")
        title = page.title()
        site.sim("main", "contact", b"open")  # opened while locked: forced open, critical
        expect(door_field(page, "alarm")).to_have_text("brudt op")
        wait_until(lambda: page.evaluate("window.__notes.length") >= 1)
        note = page.evaluate("window.__notes[0]")
        assert note["title"] == "Kritisk alarm"
        assert note["body"] == "Hovedindgang: døren blev brudt op"
        expect(page).to_have_title(re.compile("^⚠ "))
        assert page.title() != title
        site.sim("main", "contact", b"closed")

        # Opt-in is per user: a colleague in the same browser is asked again.
        page.click("header form.logout button")
        login(page, "vera")
        expect(page.locator("header button.notify")).to_have_text("Slå skrivebordsbeskeder til")
    finally:
        context.close()
