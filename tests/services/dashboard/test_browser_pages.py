"""The Tonight view and the access-list pages in headless Chromium, against a running server,
broker and simulated door controller (issues 12 and 13). Screenshots go to tests/artifacts/.

The branch closed 20 minutes before the test started, so the controller, coming up, runs the
closing's missed steps (lights and equipment off, the last entry; stale announcements are not
played) and the recorder stores their events: the outcomes the page shows are real ones.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import delete, inspect, select, text

from services.bus.client import MqttBus
from services.core.credentials import Credential
from services.dashboard.users import add_user, find_user, set_site_role
from services.patrons import list_snapshot
from services.store.access_lists import AccessGroupRecord, ListAudit
from services.store.base import Base
from services.store.dashboard import CommandAudit, Role
from services.store.engine import make_engine, make_sessionmaker
from services.store.recorder import ComponentState, EventRecord, put_state
from tests.conftest import Broker
from tests.services.dashboard.conftest import PASSWORD, add_staff
from tests.services.dashboard.harness import Site, running_site, wait_until
from tests.services.dashboard.test_browser import SAME_IN_BOTH, TEXTS

DESK = {"width": 1366, "height": 900}
PHONE_360 = {"width": 360, "height": 780}
DAYS = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")
TZ = ZoneInfo("Europe/Copenhagen")
KAREN, MADS = "10000001", "10000002"  # demo patrons
BANNED = "10000077"


def closed_a_while_ago(now: datetime) -> dict[str, str]:
    """A schedule whose only self-service hours ended 20 minutes before ``now`` (local)."""
    closing = (now - timedelta(minutes=20)).replace(second=0, microsecond=0)
    end = max(closing.strftime("%H:%M"), "00:01")
    hours = {f"AABENT__SCHEDULE__SELF_SERVICE__{d}": '""' for d in DAYS}
    hours[f"AABENT__SCHEDULE__SELF_SERVICE__{DAYS[closing.weekday()]}"] = f"00:00-{end}"
    return hours


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, mqtt_broker: Broker) -> Iterator[Site]:
    tmp = tmp_path_factory.mktemp("evening")
    extra = {
        **closed_a_while_ago(datetime.now(TZ)),
        "AABENT__BUILDING__ENABLED": "true",
        "AABENT__BUILDING__AUDIO__DEVICE": f"file:{tmp / 'announced.wav'}",
    }
    # The server's own database gets the access lists' tables too (the harness makes only the
    # dashboard's and the recorder's).
    engine = make_engine(f"sqlite:///{tmp / 'server.sqlite'}")
    Base.metadata.create_all(engine)
    engine.dispose()
    with running_site(tmp, mqtt_broker, "evening", extra) as running:
        add_staff(make_sessionmaker(running.engine), "ada", Role.ADMIN)
        yield running


@pytest.fixture
def page(browser: Browser, site: Site) -> Iterator[Page]:
    context = browser.new_context(viewport=DESK, base_url=site.url, accept_downloads=True)
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


S = "/site/evening"  # the branch's pages


def login(page: Page, user: str) -> None:
    page.goto("/login")
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator("#branches")).to_be_visible()  # the overview of every branch first
    page.goto(f"{S}/")
    expect(page.locator("#conn")).to_have_text("live")


def _dump(site: Site) -> str:
    """Every row of every table of the server's database, as text."""
    with make_sessionmaker(site.engine)() as session:
        return "\n".join(
            repr(row)
            for name in inspect(site.engine).get_table_names()
            for row in session.execute(text(f"SELECT * FROM {name}"))
        )


# --- issue 12: Tonight ---------------------------------------------------------------------------


def test_tonight_shows_the_closing_s_outcomes_and_an_announcement_is_audited_and_sent(
    page: Page, site: Site, artifacts: Path
) -> None:
    login(page, "otto")
    page.click(f"header nav a[href='{S}/tonight']")
    lights = page.locator('#steps tr[data-outcome="done"]', has_text="lys slukkes")
    expect(lights).to_have_count(1, timeout=20_000)  # the missed step, from its stored event
    stale = page.locator("#steps tr", has_text="meddelelse").first
    expect(stale).to_have_attribute("data-outcome", "unknown")  # too late: not played
    expect(page.locator("#phase")).to_have_text("lukket")
    expect(page.locator("#inside")).to_have_text("0")

    form = page.locator("#order-announce")
    form.locator("select[name=message]").select_option("closed")
    form.locator("input[name=reason]").fill("Someone is still in the reading room")
    form.locator("button").click()
    row = page.locator("#recent-orders tr.sent")
    expect(row).to_contain_text("udført")
    expect(row).to_contain_text("(closed)")
    wav = Path(site.settings.site.data_dir).parent / "announced.wav"
    wait_until(lambda: wav.exists() and wav.stat().st_size > 10_000, timeout=30)

    page.locator("#order-extend input[name=reason]").fill("Book club runs late")
    page.locator("#order-extend button").click()
    expect(page.locator("#recent-orders tr.sent")).to_contain_text("afvist af døren")
    page.screenshot(path=str(artifacts / "dashboard-tonight-da.png"), full_page=True)

    with make_sessionmaker(site.engine)() as session:
        audits = session.scalars(select(CommandAudit).order_by(CommandAudit.ts)).all()
        answered = session.scalars(
            select(EventRecord).where(EventRecord.type == "closing.announced")
        ).all()
    assert [(a.door, a.action, a.result, a.username) for a in audits] == [
        ("site", "announce", "done", "otto"),
        ("site", "extend", "rejected", "otto"),
    ]
    assert audits[1].result_reason == "no closing to extend"
    assert any(e.details.get("by") == "staff:otto" for e in answered)  # played by the order


def test_a_viewer_sees_tonight_without_the_orders(page: Page, site: Site) -> None:
    login(page, "vera")
    page.goto(f"{S}/tonight")
    expect(page.locator("#steps")).to_be_visible()
    expect(page.locator("#orders")).to_have_count(0)


# --- issue 13: the access lists -----------------------------------------------------------------


def _snapshots(site: Site) -> tuple[list[dict[str, Any]], MqttBus]:
    seen: list[dict[str, Any]] = []
    bus = MqttBus(site.settings.mqtt, "test-lists-watch", "watch", site.topics)

    def on_lists(_topic: str, payload: bytes) -> None:
        if payload:
            seen.append(list_snapshot.decode(payload))

    bus.subscribe(site.topics.lists, on_lists)
    bus.start()
    assert bus.wait_connected(5)
    return seen, bus


def test_a_group_created_in_the_page_reaches_the_snapshot_and_the_controller(
    page: Page, site: Site, artifacts: Path
) -> None:
    login(page, "ada")
    page.goto("/lists/groups")
    form = page.locator("#group-form")
    form.locator("input[name=name]").fill("Rengøring")
    form.locator("input[name=start_mon]").fill("05:30")
    form.locator("input[name=end_mon]").fill("07:30")
    form.locator("input[name=start_thu]").fill("05:30")
    form.locator("input[name=end_thu]").fill("07:30")
    form.locator("input[name=doors][value=main]").check()
    form.locator("input[name=pin_required]").uncheck()
    form.locator("select[name=when_armed]").select_option("disarm")
    form.locator("button[type=submit]").click()
    expect(page.locator("p.ack")).to_have_text("Gruppen er gemt og sendes til dørene.")
    member = page.locator("#member-form")
    member.locator("input[name=number]").fill("30000001")
    member.locator("input[name=member_name]").fill("Birgit (rengøring)")
    member.locator("input[name=expires]").fill("2027-12-31")
    member.locator("button").click()
    expect(page.locator("#members")).to_contain_text("Birgit (rengøring)")
    assert "30000001" not in page.content()
    page.screenshot(path=str(artifacts / "dashboard-lists-group-da.png"), full_page=True)

    seen, bus = _snapshots(site)
    try:
        wait_until(
            lambda: any(
                g["name"] == "Rengøring" and len(g["members"]) == 1
                for s in seen
                for g in s["groups"]
            ),
            timeout=15,
        )
    finally:
        bus.stop()
    group = next(g for s in seen for g in s["groups"] if g["name"] == "Rengøring")
    assert group["windows"] == "mon 05:30-07:30, thu 05:30-07:30"
    assert (group["doors"], group["pin_required"], group["when_armed"]) == ("main", False, "disarm")
    # The controller applies it to its own copy.
    door_db = make_engine(site.settings.database_url)
    try:
        with make_sessionmaker(door_db)() as session:

            def applied() -> bool:
                session.expire_all()
                names = session.scalars(select(AccessGroupRecord.name)).all()
                return "Rengøring" in names

            wait_until(applied, timeout=15)
    finally:
        door_db.dispose()


def test_a_ban_typed_in_the_page_is_never_in_clear_in_the_database_or_the_html(
    page: Page, site: Site, artifacts: Path
) -> None:
    login(page, "ada")
    page.goto("/lists/bans")
    form = page.locator("#ban-form")
    form.locator("input[name=number]").fill(BANNED)
    form.locator("input[name=until]").fill("2030-01-31T12:00")
    form.locator("input[name=reason]").fill("Trusler mod personalet")
    form.locator("input[name=doors][value=main]").check()
    form.locator("button[type=submit]").click()
    pseudonym = site.server.dashboard.site_key.pseudonym(Credential.from_text(BANNED))  # type: ignore[union-attr]
    row = page.locator(f'#bans tr[data-ban="{pseudonym}"]')
    expect(row).to_contain_text("Trusler mod personalet")
    expect(row).to_contain_text("Hovedindgang")
    page.screenshot(path=str(artifacts / "dashboard-lists-bans-da.png"), full_page=True)
    assert BANNED not in page.content()
    dump = _dump(site)
    assert BANNED not in dump and pseudonym in dump
    with make_sessionmaker(site.engine)() as session:
        audit = session.scalars(select(ListAudit).where(ListAudit.action == "ban.add")).one()
        assert (audit.actor, audit.subject) == ("dashboard:ada", pseudonym)


def test_a_code_is_shown_once_and_printable(page: Page, site: Site, artifacts: Path) -> None:
    login(page, "ada")
    page.goto("/lists/codes")
    form = page.locator("#code-form")
    form.locator("input[name=label]").fill("Tømrer 3. december")
    start = datetime.now(TZ).strftime("%Y-%m-%dT%H:%M")
    until = (datetime.now(TZ) + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    form.locator("input[name=valid_from]").fill(start)
    form.locator("input[name=valid_until]").fill(until)
    form.locator("input[name=uses]").fill("4")
    form.locator("button[type=submit]").click()
    code = page.locator("#code").inner_text().strip()
    assert re.fullmatch(r"\d{6}", code)
    page.emulate_media(media="print")
    expect(page.locator("header.top")).to_be_hidden()  # the printout is the code's card only
    page.screenshot(path=str(artifacts / "dashboard-lists-code-print.png"), full_page=True)
    page.emulate_media(media="screen")
    page.goto("/lists/codes")
    expect(page.locator("#codes")).to_contain_text("Tømrer 3. december")
    expect(page.locator("#codes")).to_contain_text("0 / 4")
    assert code not in page.content()
    assert code not in _dump(site)


def test_the_gdpr_export_holds_the_patron_s_events_and_not_another_s(
    page: Page, site: Site, artifacts: Path
) -> None:
    key = site.server.dashboard.site_key  # type: ignore[union-attr]
    karen, mads = (key.pseudonym(Credential.from_text(n)) for n in (KAREN, MADS))

    def recorded(pseudonym: str) -> bool:
        with make_sessionmaker(site.engine)() as session:
            found = session.scalars(
                select(EventRecord.id).where(EventRecord.credential == pseudonym)
            ).first()
        return found is not None

    for card, pseudonym in ((KAREN, karen), (MADS, mads)):  # one after the other, as at a door
        site.sim("main", "swipe", json.dumps({"card": card, "pin": "1234"}).encode())
        wait_until(lambda p=pseudonym: recorded(p), timeout=20)  # type: ignore[misc]
    login(page, "ada")
    page.goto("/lists/log")
    page.fill("#log-form input[name=number]", KAREN)
    with page.expect_download() as download:
        page.click("#log-csv")
    csv = Path(download.value.path()).read_text(encoding="utf-8-sig")
    lines = csv.splitlines()
    assert lines[0] == "time,event,where,reason,message,reader,companions"
    assert len(lines) >= 2 and all(",main," in line for line in lines[1:])
    assert mads not in csv and karen not in csv and KAREN not in csv
    page.goto("/lists/log")
    page.fill("#log-form input[name=number]", KAREN)
    page.click("#log-page")
    expect(page.locator("#own-log")).to_contain_text(karen)
    expect(page.locator("#own-log-rows tbody tr")).to_have_count(len(lines) - 1)
    assert mads not in page.content() and KAREN not in page.content()
    page.screenshot(path=str(artifacts / "dashboard-lists-own-log-da.png"), full_page=True)
    with make_sessionmaker(site.engine)() as session:
        exports = session.scalars(select(ListAudit).where(ListAudit.action == "log.export")).all()
    assert [(e.actor, e.subject) for e in exports][-2:] == [("dashboard:ada", karen)] * 2


def test_a_desk_sign_up_is_registered(page: Page, site: Site) -> None:
    login(page, "ada")
    page.goto("/lists/signups")
    page.fill("#signup-form input[name=number]", KAREN)
    page.click("#signup-form button")
    expect(page.locator("p.ack")).to_have_text("Tilmeldingen er registreret.")
    expect(page.locator("#signup-count")).to_contain_text("1 lånere")
    assert KAREN not in page.content()


# --- Danish and English, on a desk and on a 360 px phone ----------------------------------------

PAGES = [
    f"{S}/tonight",
    "/lists/groups",
    "/lists/groups/Rengøring",
    "/lists/bans",
    "/lists/codes",
    "/lists/signups",
    "/lists/log",
]


def test_the_new_pages_in_danish_and_english_with_no_untranslated_string(
    page: Page, site: Site, artifacts: Path
) -> None:
    login(page, "ada")
    names = {site.settings.site.name, "ada", "Rengøring", "aabent · " + site.settings.site.name}
    names |= {d.name or k for k, d in site.settings.doors.items()} | set(site.settings.doors)
    for path in PAGES:
        texts = {}
        for lang in ("da", "en"):
            page.context.add_cookies([{"name": "aabent_lang", "value": lang, "url": site.url}])
            page.goto(path)
            assert page.locator("html").get_attribute("lang") == lang
            slug = path.strip("/").replace("/", "-").replace("ø", "o")
            page.screenshot(path=str(artifacts / f"dashboard-{slug}-{lang}.png"), full_page=True)
            texts[lang] = set(page.evaluate(TEXTS))
        same = {t for t in texts["da"] & texts["en"] if not SAME_IN_BOTH.match(t)}
        same = {t for t in same if t not in names and not any(t.startswith(n) for n in names)}
        assert not same, f"{path}: untranslated (the same in Danish and English): {sorted(same)}"


def test_the_new_pages_fit_a_360_px_phone(browser: Browser, site: Site, artifacts: Path) -> None:
    context = browser.new_context(viewport=PHONE_360, base_url=site.url, is_mobile=True)
    context.set_default_timeout(15_000)
    phone = context.new_page()
    try:
        login(phone, "ada")
        for path in PAGES:
            phone.goto(path)
            width = phone.evaluate("document.documentElement.scrollWidth")
            assert width <= PHONE_360["width"], f"{path} is {width} px wide on a 360 px phone"
            slug = path.strip("/").replace("/", "-").replace("ø", "o")
            phone.screenshot(path=str(artifacts / f"dashboard-{slug}-phone.png"), full_page=True)
    finally:
        context.close()


# --- Two branches on one server: each its own lists ---------------------------------------------

OTHER = "vallensbaek"


@pytest.fixture
def two_branches(site: Site) -> Iterator[None]:
    """A second branch known to the server (a state of it stored), and an operator of each."""
    sessions = make_sessionmaker(site.engine)
    with sessions() as s, s.begin():
        put_state(s, OTHER, "door/front", {"lock": "locked"}, datetime.now(TZ))
        for user, branch in (("lis", site.settings.site.id), ("bo", OTHER)):
            if find_user(s, user) is None:
                add_user(s, user, PASSWORD, Role.VIEWER)
            set_site_role(s, user, branch, Role.OPERATOR)
    yield
    with sessions() as s, s.begin():
        s.execute(delete(ComponentState).where(ComponentState.site == OTHER))


def _csrf_post(page: Page, path: str, form: dict[str, str]) -> int:
    """A form POST built by hand in the page (its CSRF token from the page): what a forged one
    sent from a logged-in browser would do."""
    status: int = page.evaluate(
        """async ([path, form]) => {
            const body = new URLSearchParams(form);
            body.set("csrf", document.body.dataset.csrf);
            const r = await fetch(path, {method: "POST", body, redirect: "manual"});
            return r.status;
        }""",
        [path, form],
    )
    return status


def test_an_operator_of_one_branch_cannot_change_another_branch_s_groups(
    browser: Browser, site: Site, two_branches: None, artifacts: Path
) -> None:
    context = browser.new_context(viewport=DESK, base_url=site.url)
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        login(page, "lis")  # the operator of this branch ("evening") only
        expect(page.locator("header nav")).to_contain_text("Adgangslister")
        page.goto(f"{S}/lists/groups")
        form = page.locator("#group-form")
        form.locator("input[name=name]").fill("Frivillige")
        form.locator("input[name=start_wed]").fill("16:00")
        form.locator("input[name=end_wed]").fill("18:00")
        form.locator("button[type=submit]").click()
        expect(page.locator("p.ack")).to_have_text("Gruppen er gemt og sendes til dørene.")
        # The other branch's lists are not hers: not found, and a forged form writes nothing.
        other = page.goto(f"/site/{OTHER}/lists/groups")
        assert other is not None and other.status == 404
        page.goto(f"{S}/lists/groups")
        for path, form_data in (
            (f"/site/{OTHER}/lists/groups/save", {"name": "Indbrud", "start_mon": "00:00"}),
            (f"/site/{OTHER}/lists/groups/Frivillige/members/add", {"number": "30000009"}),
            (f"/site/{OTHER}/lists/groups/Frivillige/remove", {}),
        ):
            assert _csrf_post(page, path, {**form_data, "end_mon": "23:59"}) == 404, path
        with make_sessionmaker(site.engine)() as session:
            groups = session.execute(select(AccessGroupRecord.site, AccessGroupRecord.name))
            assert (OTHER, "Indbrud") not in {tuple(g) for g in groups}
            assert (
                session.scalar(select(AccessGroupRecord.id).where(AccessGroupRecord.site == OTHER))
                is None
            )
        # Her ban form offers the whole municipality first, now that there are two branches.
        page.goto(f"{S}/lists/bans")
        expect(page.locator("#ban-form input[name=scope][value=municipality]")).to_be_checked()
        expect(page.locator("#ban-form")).to_contain_text("Kun denne filial")
        page.screenshot(path=str(artifacts / "dashboard-lists-bans-municipality-da.png"))
        page.context.clear_cookies()
        page.goto("/login")  # the other branch's operator sees his branch's lists, not hers
        page.fill("input[name=username]", "bo")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        expect(page.locator("#branches")).to_be_visible()
        page.goto(f"/site/{OTHER}/lists/groups")
        expect(page.get_by_role("heading", name="Adgangsgrupper")).to_be_visible()
        assert "Frivillige" not in page.content()
        mine = page.goto(f"{S}/lists/groups")
        assert mine is not None and mine.status == 404
    finally:
        context.close()
