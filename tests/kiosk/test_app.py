"""The kiosk for real: a Kivy window under Xvfb, Mosquitto, SQLite, touches, scans, screenshots.

One app for the module (Kivy opens one window per process); the tests run in order and each
starts from Home. Screenshots of every screen in both languages go to tests/artifacts/.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import create_engine

from services.bus.client import MqttBus
from services.bus.topics import Topics
from services.core.credentials import Credential
from services.core.events import Event, EventType
from services.patrons.account import LocalAccount
from services.patrons.registry import LocalRegistry
from services.settings import (
    AlarmSettings,
    EmailSettings,
    KioskSettings,
    MqttSettings,
    Settings,
    SiteSettings,
    StoreSettings,
)
from services.store.engine import make_engine, make_sessionmaker
from tests.conftest import ARTIFACTS, Broker
from tests.kiosk.library import (
    KAREN_CARD,
    KAREN_PIN,
    KEY,
    KEY_BYTES,
    LOANS,
    NOW_ACTIVITY,
    NOW_ACTIVITY_TITLE,
    OLE_CARD,
    OLE_PIN,
    OVERDUE,
    READY_SHELF,
    TALK_URL,
    WANTED,
    build_library,
)
from tests.kiosk.test_viewmodel_account_sip2 import sip2_account, sip2_directory
from tests.services.recorder.test_notify import Mailbox
from tests.services.sip2.rogue_server import RogueAcs

ZONE = ZoneInfo("Europe/Copenhagen")
SITE = "kiosktest"


@dataclass
class Kiosk:
    """The running app, its driver, and the MQTT listener on the kiosk's topic."""

    app: Any
    drive: Any
    heard: list[dict[str, object]]
    publisher: MqttBus
    topics: Topics
    pty_master: int
    folder: Path
    mailbox: Mailbox


def _settings(folder: Path, broker: Broker, scanner: str, smtp_port: int) -> Settings:
    folder.joinpath("site.key").write_bytes(KEY_BYTES)
    site = SiteSettings(
        id=SITE, name="Glostrup Bibliotek", data_dir=folder, key_file=folder / "site.key"
    )
    # The screen's commands are the real code path; here they write what they were told to a file.
    log = str(folder / "screen-power.log")
    power = f"import sys; open({log!r}, 'a').write(sys.argv[1] + '\\n')"
    kiosk = KioskSettings(
        id="k1",
        fullscreen=False,
        search_debounce_s=0.1,
        scanner_url=scanner,
        equipment_group="kiosk",
        screen_off_command=(sys.executable, "-c", power, "off"),
        screen_on_command=(sys.executable, "-c", power, "on"),
        help_phone="43 23 60 00",
        receipts=True,
    )
    folder.joinpath("smtp.password").write_text("hemmelig\n")
    mail = EmailSettings.model_validate({
        "host": "127.0.0.1", "port": smtp_port, "from": "noreply@glostrup.dk", "starttls": False,
        "username": "aabent", "password_file": folder / "smtp.password", "timeout_s": 5,
    })  # fmt: skip
    return Settings(
        site=site,
        store=StoreSettings(url=f"sqlite:///{folder / 'kiosk.sqlite'}"),
        mqtt=MqttSettings(host=broker.host, port=broker.port),
        kiosk=kiosk,
        alarms=AlarmSettings(email=mail),
    )


@pytest.fixture(scope="module")
def kiosk(
    xvfb: str, mqtt_broker: Broker, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Kiosk]:
    from aiosmtpd.controller import Controller

    from tests.conftest import free_port

    folder = tmp_path_factory.mktemp("kiosk")
    master, slave = os.openpty()
    mailbox, smtp_port = Mailbox(), free_port()  # the site's SMTP server: receipts go there
    smtp = Controller(mailbox, hostname="127.0.0.1", port=smtp_port,
                      authenticator=mailbox.authenticate, auth_require_tls=False)  # fmt: skip
    smtp.start()
    settings = _settings(folder, mqtt_broker, os.ttyname(slave), smtp_port)
    now = datetime.now(ZONE)
    engine = make_engine(settings.database_url)
    build_library(engine, now)
    engine.dispose()
    topics = Topics(settings.mqtt.prefix, SITE)
    publisher = MqttBus(settings.mqtt, "test-door", "door-controller", topics)
    heard: list[dict[str, object]] = []
    publisher.subscribe(topics.all_kiosk_events, lambda _t, p: heard.append(json.loads(p)))
    publisher.start()
    assert publisher.wait_connected(5)
    until = (now + timedelta(hours=2)).replace(second=0, microsecond=0)
    opening = {"state": "staffed", "until": until.isoformat()}
    publisher.publish_state(topics.opening, json.dumps(opening).encode()).wait(5)
    publisher.publish_state(topics.occupancy, b'{"inside": 42, "capacity": 150}').wait(5)

    from kiosk.boot import configure_kivy

    configure_kivy(settings.kiosk)
    from kivy.base import runTouchApp

    from kiosk.app import KioskApp
    from kiosk.wiring import open_services
    from tests.kiosk.driver import Driver, FakeMonotonic

    mono = FakeMonotonic()
    app = KioskApp(open_services(settings), monotonic=mono)
    app._run_prepare()
    runTouchApp(embedded=True)
    ARTIFACTS.mkdir(exist_ok=True)
    drive = Driver(app, mono, ARTIFACTS)
    drive.pump(0.3)
    yield Kiosk(app, drive, heard, publisher, topics, master, folder, mailbox)
    app.stop()
    smtp.stop()
    publisher.stop()
    os.close(master)
    os.close(slave)


@pytest.fixture
def k(kiosk: Kiosk) -> Kiosk:
    """The kiosk, back on Home in Danish, as a patron finds it."""
    kiosk.app.reset_all()
    kiosk.drive.pump(frames=3)
    return kiosk


def both_languages(k: Kiosk, name: str) -> None:
    """Screenshot the screen in Danish, switch to English with the button, screenshot again."""
    top = k.app.root.ids
    k.drive.screenshot(f"kiosk-{name}-da")
    k.drive.tap(top.language)
    assert k.app.tr.lang == "en"
    k.drive.screenshot(f"kiosk-{name}-en")
    k.drive.tap(top.language)
    assert k.app.tr.lang == "da"


def test_the_window_has_no_multisample_buffers(k: Kiosk) -> None:
    # 2x MSAA doubled the frame buffers: 35 MB of the kiosk's memory under Mesa
    from kivy.graphics import opengl as gl

    assert gl.glGetIntegerv(gl.GL_SAMPLE_BUFFERS)[0] == 0
    assert gl.glGetIntegerv(gl.GL_SAMPLES)[0] == 0


def test_home_shows_the_live_opening_state_the_count_and_today(k: Kiosk) -> None:
    home = k.drive.screen("home")
    k.drive.wait(lambda: home.ids.occupancy.text == "42 af 150 er her nu", what="occupancy")
    assert home.ids.opening.text.startswith("Bemandet til ")
    k.drive.wait(lambda: any(e["title"] == NOW_ACTIVITY_TITLE for e in home.vm.activities))
    both_languages(k, "home")
    k.drive.tap(k.app.root.ids.language)
    assert home.ids.opening.text.startswith("Staffed until ")
    k.drive.tap(k.app.root.ids.language)
    k.publisher.publish_state(k.topics.occupancy, b'{"inside": 43, "capacity": 150}')
    k.drive.wait(lambda: home.ids.occupancy.text == "43 af 150 er her nu", what="live update")


def test_search_as_you_type_and_the_title_on_the_floor_plan(k: Kiosk) -> None:
    k.drive.tap(k.drive.screen("home").ids.go_search)
    search = k.drive.screen("search")
    for key in "kvin":
        k.drive.key(search.ids.keyboard, key)
    assert search.ids.query.text.startswith("kvin")
    k.drive.wait(lambda: any(r["title"] == "Kvinden i buret" for r in search.vm.results))
    from kiosk.screens.widgets import KeyButton

    keys = [b for b in search.ids.keyboard.walk() if isinstance(b, KeyButton)]
    assert _caption(search.ids.keyboard, "backspace") == "Slet"
    k.drive.tap(k.app.root.ids.language)
    assert _caption(search.ids.keyboard, "backspace") == "Delete"
    assert [b for b in search.ids.keyboard.walk() if isinstance(b, KeyButton)] == keys  # relabelled
    k.drive.tap(k.app.root.ids.language)
    both_languages(k, "search")
    k.drive.tap(k.drive.row(search.ids.results, record_id="29000007"))
    item = k.drive.screen("item")
    k.drive.wait(lambda: item.ids.title.text == "Kvinden i buret", what="the title")
    assert item.ids.where.text == "Voksen · Romaner A–F · Adler-Olsen, Jussi"
    assert item.ids.plan.shelf and item.ids.plan.room  # the shelf is highlighted
    both_languages(k, "item")


def _caption(keyboard: Any, key: str) -> str:
    return str(next(b.text for b in keyboard.walk() if getattr(b, "key", None) == key))


def test_a_numeric_pad_builds_its_digits_only(k: Kiosk, monkeypatch: pytest.MonkeyPatch) -> None:
    # kv sets the layout after the pad exists: building at once made 36 letter keys to discard
    from kivy.lang import Builder

    from kiosk.screens import widgets

    made: list[str] = []

    class CountedKey(widgets.KeyButton):  # type: ignore[misc]
        def __init__(self, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            made.append(self.key)

    monkeypatch.setattr(widgets, "KeyButton", CountedKey)
    holder = Builder.load_string("BoxLayout:\n    OnScreenKeyboard:\n        layout: 'digits'\n")
    k.drive.pump(frames=2)
    assert sorted(made) == sorted([*"0123456789", "backspace", "ok"])
    assert len([w for w in holder.walk() if isinstance(w, CountedKey)]) == 12


def sign_in(k: Kiosk, card: str = KAREN_CARD) -> Any:
    k.drive.scan(card)  # on Home: the scan opens My account
    account = k.drive.screen("account")
    assert k.app.current == "account" and account.vm.step == "pin"
    for digit in KAREN_PIN:
        k.drive.key(account.ids.pin_keys, digit)
    assert account.ids.pin.text == "••••"
    k.drive.key(account.ids.pin_keys, "ok")
    return account


def test_my_account_with_a_wedge_scan_a_pin_and_renewals(k: Kiosk) -> None:
    account = sign_in(k)
    k.drive.wait(lambda: account.vm.step == "account", what="the loans")
    overdue = k.drive.row(account.ids.loans, item_id=OVERDUE[0])
    assert overdue.due.startswith("For sent") and overdue.overdue
    ready = k.drive.row(account.ids.reservations, title="Nordkraft")
    assert ready.status.startswith(f"Klar til afhentning på hylde {READY_SHELF}")
    wanted = k.drive.row(account.ids.loans, item_id=WANTED[0])
    renew = next(w for w in wanted.walk() if getattr(w, "text", "") == "Forny")
    k.drive.tap(renew)
    k.drive.wait(lambda: k.drive.row(account.ids.loans, item_id=WANTED[0]).outcome == "refused")
    wanted = k.drive.row(account.ids.loans, item_id=WANTED[0])
    assert wanted.outcome_text == "Ikke fornyet: en anden låner har reserveret den"
    k.drive.tap(account.ids.renew_all)
    k.drive.wait(lambda: k.drive.row(account.ids.loans, item_id=OVERDUE[0]).outcome == "renewed")
    assert all(KAREN_CARD not in text and KAREN_PIN not in text for text in k.drive.texts())
    both_languages(k, "account")


def test_my_account_shows_what_a_patron_owes_in_the_window(k: Kiosk, tmp_path: Path) -> None:
    account = k.drive.screen("account")
    local, server = account.vm.account, RogueAcs()
    try:
        with sip2_account(server.port, tmp_path) as (sip2, _clock):
            account.vm.account = sip2  # the library system over SIP2, with fines on record
            k.drive.scan("9000000010")
            for digit in "1010":
                k.drive.key(account.ids.pin_keys, digit)
            k.drive.key(account.ids.pin_keys, "ok")
            k.drive.wait(lambda: account.vm.step == "account", what="the account")
            k.drive.pump(frames=3)
            owed = account.ids.owed
            assert owed.text.startswith("Du skylder 245,50 kr.\nGebyrer kan forhindre fornyelse")
            assert "5120684762 Erstatning 200.00" in owed.text and owed.opacity == 1
            assert owed.height > 0
    finally:
        account.vm.account = local
        server.stop()


def test_reserve_from_the_title_page_then_cancel_in_my_account(k: Kiosk) -> None:
    k.app.open_item("29001378")
    item = k.drive.screen("item")
    k.drive.wait(lambda: item.ids.title.text == "Fasandræberne", what="the title")
    k.drive.tap(item.ids.reserve)
    account = k.drive.screen("account")
    assert k.app.current == "account"
    assert account.ids.message.text == "Scan dit lånerkort for at reservere Fasandræberne"
    sign_in(k)
    k.drive.wait(lambda: account.vm.message.endswith("Du er nr. 2 i køen."), what="the hold")
    k.drive.wait(lambda: len(account.vm.reservations) == 2, what="the reservations read again")
    row = k.drive.row(account.ids.reservations, title="Fasandræberne")
    assert row.status == "Du er nr. 2 i køen"
    k.drive.screenshot("kiosk-account-reserved-da")
    cancel = next(w for w in row.walk() if getattr(w, "text", "") == "Slet")
    k.drive.tap(cancel)
    k.drive.wait(lambda: account.vm.message.endswith("er slettet."), what="the cancellation")
    titles = lambda: [r["title"] for r in account.vm.reservations]  # noqa: E731
    k.drive.wait(lambda: titles() == ["Nordkraft"], what="the reservations read again")


def test_slow_typing_is_a_typed_card_number_not_a_scan(k: Kiosk) -> None:
    k.app.show("account")
    account = k.drive.screen("account")
    k.drive.type(KAREN_CARD)
    assert account.ids.typed.text == "•" * len(KAREN_CARD) and account.vm.step == "scan"
    k.drive.enter()
    assert account.vm.step == "pin"


def test_a_card_scanned_slowly_on_search_opens_my_account_and_is_never_shown(k: Kiosk) -> None:
    k.drive.tap(k.drive.screen("home").ids.go_search)
    k.drive.scan(KAREN_CARD, gap=0.048)  # a cheap wedge scanner: 48 ms a key
    assert k.app.current == "account" and k.drive.screen("account").vm.step == "pin"
    assert k.app.search_vm.query == ""
    assert not [text for text in k.drive.texts() if KAREN_CARD in text]


def test_a_garbage_scan_says_card_not_recognised(k: Kiosk) -> None:
    k.drive.scan("%%ABC$$##")
    account = k.drive.screen("account")
    assert account.ids.message.text == "Kortet blev ikke genkendt"
    assert account.vm.step == "scan"
    k.drive.screenshot("kiosk-account-not-recognised-da")


def test_the_serial_scanner_reads_cards_and_refuses_garbage(k: Kiosk) -> None:
    k.app.show("account")
    account = k.drive.screen("account")
    k.drive.wait(lambda: k.app.scanner is not None and k.app.scanner.online, what="scanner")
    os.write(k.pty_master, b"\x01\x7fjunk\r")
    k.drive.wait(lambda: account.ids.message.text == "Kortet blev ikke genkendt")
    os.write(k.pty_master, OLE_CARD.encode() + b"\r")
    k.drive.wait(lambda: account.vm.step == "pin", what="the PIN step")


def test_check_in_with_a_card_and_as_guests_is_published(k: Kiosk) -> None:
    k.drive.tap(k.drive.screen("home").ids.go_program)
    program = k.drive.screen("program")
    k.drive.wait(lambda: any(r["activity_uid"] == NOW_ACTIVITY for r in program.vm.activities))
    k.drive.tap(k.drive.row(program.ids.list, activity_uid=NOW_ACTIVITY))
    k.drive.tap(program.ids.check_in)
    k.drive.scan(OLE_CARD)
    k.drive.wait(lambda: program.ids.message.text.startswith("Velkommen!"), what="check-in")
    assert program.ids.receipt.opacity == 0  # the local registry keeps no e-mail address
    k.drive.wait(lambda: any(h["type"] == "event.checkin" for h in k.heard), what="MQTT")
    published = next(h for h in k.heard if h["type"] == "event.checkin")
    assert published["source"] == "k1" and published["details"]["activity_uid"] == NOW_ACTIVITY
    assert published["credential"] == KEY.pseudonym(Credential.from_text(OLE_CARD))
    assert OLE_CARD not in json.dumps(published)
    k.drive.screenshot("kiosk-program-checked-in-da")
    k.drive.tap(program.ids.done)
    k.drive.tap(program.ids.guests)
    k.drive.tap(program.ids.more)
    assert program.ids.count.text == "2"
    both_languages(k, "program")
    k.drive.tap(program.ids.confirm)
    k.drive.wait(lambda: program.ids.message.text.startswith("Velkommen! I er"), what="guests")
    assert program.ids.receipt.opacity == 0 and program.ids.receipt.disabled  # guests: none
    k.drive.wait(lambda: sum(h["type"] == "event.checkin" for h in k.heard) == 2)


def test_a_check_in_by_card_sends_a_receipt_by_email_and_never_shows_the_address(
    k: Kiosk, tmp_path: Path
) -> None:
    from kiosk.checkin import identify_with
    from tests.kiosk.layout import layout_problems
    from tests.services.sip2.conftest import Acs

    frida = "9000000007"  # the library system (the test ACS) has frida@example.dk for her
    program = k.drive.screen("program")
    local, acs = program.vm.identify, Acs()
    acs.start()
    try:
        with sip2_directory(acs.port, tmp_path) as (directory, _clock):
            program.vm.identify = identify_with(directory, KEY)  # a SIP2 site's directory
            k.drive.tap(k.drive.screen("home").ids.go_program)
            k.drive.wait(
                lambda: any(r["activity_uid"] == NOW_ACTIVITY for r in program.vm.activities)
            )
            k.drive.tap(k.drive.row(program.ids.list, activity_uid=NOW_ACTIVITY))
            k.drive.tap(program.ids.check_in)
            k.drive.scan(frida)
            k.drive.wait(lambda: program.ids.message.text.startswith("Velkommen!"), what="check-in")
            k.drive.pump(frames=3)
            receipt = program.ids.receipt
            assert receipt.opacity == 1 and not receipt.disabled and receipt.height > 0
            assert receipt.text == "Send kvittering på e-mail"
            assert not [t for t in k.drive.texts() if "frida" in t.lower() or frida in t]
            both_languages(k, "program-receipt")
            k.drive.tap(k.app.root.ids.large_text)
            try:
                k.drive.pump(0.1, frames=4)
                k.drive.screenshot("kiosk-program-receipt-large-da")
                assert layout_problems(k.app.root) == []
            finally:
                k.drive.tap(k.app.root.ids.large_text)
            k.drive.tap(receipt)
            k.drive.wait(lambda: k.mailbox.event.is_set(), what="the mail")
            k.drive.wait(
                lambda: program.ids.message.text == "Kvitteringen er sendt til din e-mail."
            )
            k.drive.pump(frames=3)
            assert receipt.opacity == 0  # sent: one receipt per check-in
            k.drive.screenshot("kiosk-program-receipt-sent-da")
            envelope, message = k.mailbox.messages[-1]
            assert envelope.rcpt_tos == ["frida@example.dk"] and k.mailbox.logins == ["aabent"]
            assert (
                message["Subject"]
                == f"Glostrup Bibliotek: du er tjekket ind til {NOW_ACTIVITY_TITLE}"
            )
            body = message.get_content()
            assert f"Arrangement: {NOW_ACTIVITY_TITLE}" in body and "Sted: Caféen" in body
            assert frida.encode() not in (envelope.original_content or b"")
            assert not [t for t in k.drive.texts() if "frida" in t.lower() or frida in t]
    finally:
        program.vm.identify = local
        acs.stop()


def test_opening_hours_and_help(k: Kiosk) -> None:
    k.drive.tap(k.drive.screen("home").ids.go_hours)
    hours = k.drive.screen("hours")
    assert "Børn under 15 år" in hours.ids.help.text
    both_languages(k, "hours")


def test_large_text_and_high_contrast(k: Kiosk) -> None:
    home = k.drive.screen("home")
    normal = home.ids.opening.font_size
    k.drive.tap(k.app.root.ids.large_text)
    assert k.app.theme.large and home.ids.opening.font_size > normal * 1.3
    assert k.app.root.ids.large_text.text == "Normal tekst"
    k.drive.screenshot("kiosk-home-large-da")
    k.drive.tap(k.drive.screen("home").ids.go_search)
    k.drive.screenshot("kiosk-search-large-da")


def test_an_unreachable_library_system_is_said_and_search_still_works(k: Kiosk) -> None:
    broken = make_sessionmaker(create_engine("sqlite:////nonexistent-aabent/db.sqlite"))
    working = k.app.account_vm.account
    today = lambda: datetime.now(ZONE).date()  # noqa: E731
    k.app.account_vm.account = LocalAccount(broken, LocalRegistry(broken, KEY), today=today)
    try:
        account = sign_in(k)
        k.drive.wait(lambda: account.vm.step == "scan", what="the answer")
        assert account.ids.message.text.startswith("Bibliotekssystemet kan ikke nås lige nu.")
        k.drive.screenshot("kiosk-account-unavailable-da")
    finally:
        k.app.account_vm.account = working
    k.app.show("search")
    search = k.drive.screen("search")
    for key in "blixen":
        k.drive.key(search.ids.keyboard, key)
    k.drive.wait(lambda: len(search.vm.results) > 0, what="search results")


def test_after_a_minute_without_a_touch_a_warning_then_no_trace_is_left(k: Kiosk) -> None:
    account = sign_in(k)
    k.drive.wait(lambda: account.vm.step == "account", what="the loans")
    k.drive.tap(k.app.root.ids.language)  # the next patron must get Danish again
    k.drive.mono.advance(61)
    k.drive.pump(0.4)
    assert k.app.warning.parent is not None
    assert k.app.idle_text == "The screen clears in 9 seconds"
    k.drive.screenshot("kiosk-idle-warning-en")
    k.drive.tap(k.app.warning.ids.still_here)
    assert k.app.warning.parent is None and account.vm.step == "account"
    k.drive.mono.advance(60.5)
    k.drive.pump(0.4)
    assert k.app.warning.parent is not None
    k.drive.mono.advance(10)
    k.drive.pump(0.4)
    assert k.app.current == "home" and k.app.warning.parent is None
    assert k.app.tr.lang == "da"
    secrets = {title for _b, title, _d, _r in LOANS} | {"Nordkraft", "•", KAREN_CARD}
    shown = list(k.drive.texts())
    assert not [t for t in shown for s in secrets if s in t]
    assert account.vm.loans == [] and account.vm.reservations == [] and account.vm.step == "scan"
    assert k.drive.screen("search").vm.query == ""
    k.drive.screenshot("kiosk-home-after-reset-da")


def _building(k: Kiosk, phase: str, **equipment: bool) -> None:
    state = {"phase": phase, "next": None, "equipment": equipment, "inside": 0}
    k.publisher.publish_state(k.topics.building, json.dumps(state).encode()).wait(5)


def _announce(k: Kiosk, message: str) -> None:
    event = Event(EventType.CLOSING_ANNOUNCED, "building", datetime.now(ZONE),
                  details={"message": message, "step": "closes"})  # fmt: skip
    k.publisher.publish(k.topics.site_event, event.to_json()).wait(5)


def test_the_evening_banner_then_the_closed_screen_then_the_screen_off(k: Kiosk) -> None:
    from tests.kiosk.layout import layout_problems

    banner = k.app.root.ids.banner
    try:
        account = sign_in(k)
        k.drive.wait(lambda: account.vm.step == "account", what="the loans")
        _building(k, "closing", kiosk=True)
        _announce(k, "closing_10")
        k.drive.wait(lambda: banner.text.startswith("Biblioteket lukker om ti"), what="banner")
        k.drive.pump(0.1, frames=4)
        assert banner.height > 20 and banner.opacity == 1
        assert account.vm.step == "account"  # the banner does not throw the patron out
        both_languages(k, "closing-banner")
        _building(k, "sweep", kiosk=True)
        k.drive.wait(lambda: k.app.current == "closed", what="the closed screen")
        closed = k.drive.screen("closed")
        assert account.vm.step == "scan" and banner.text == ""
        assert closed.ids.closed_title.text == "Biblioteket er lukket"
        k.drive.wait(lambda: len(closed.ids.week.data) == 7, what="the week")
        both_languages(k, "closed")
        k.drive.tap(k.app.root.ids.home)
        assert k.app.current == "closed"  # Home is the closed screen until the morning
        k.drive.tap(closed.ids.go_help)
        assert k.app.current == "help"
        assert k.drive.screen("help").ids.phone.text == "Ring til biblioteket: 43 23 60 00"
        both_languages(k, "help")
        k.drive.tap(k.drive.screen("help").ids.back)
        assert k.app.current == "closed"
        for large in (True, False):
            if large:
                k.drive.tap(k.app.root.ids.large_text)
            for name in ("closed", "help"):
                k.app.show(name)
                k.drive.pump(0.1, frames=4)
                k.drive.screenshot(f"kiosk-{name}-{'large' if large else 'normal'}-da")
                assert layout_problems(k.app.root) == [], name
        k.drive.tap(k.app.root.ids.large_text)
        log = k.folder / "screen-power.log"
        _building(k, "armed", kiosk=False)
        k.drive.wait(lambda: k.app.screen_off.parent is not None, what="the screen off")
        k.drive.wait(lambda: log.exists() and log.read_text().split() == ["off"], what="xset")
        k.drive.screenshot("kiosk-screen-off")
        k.drive.tap(k.app.root.ids.language)  # a touch in the dark reaches nothing
        assert k.app.tr.lang == "da"
        _building(k, "open", kiosk=True)
        k.drive.wait(lambda: k.app.screen_off.parent is None, what="the screen on")
        k.drive.wait(lambda: log.read_text().split() == ["off", "on"], what="xset on")
        k.drive.wait(lambda: k.app.current == "home", what="Home in the morning")
    finally:
        k.app.theme.large = False
        _building(k, "open", kiosk=True)
        k.drive.wait(lambda: not k.app.building_vm.closed and k.app.building_vm.screen_on)


def test_sign_up_for_self_service_with_the_house_rules_card_and_pin(k: Kiosk) -> None:
    from services.store.access_lists import SignupRecord

    k.app.signup_offered = True  # access.signup_required: Home offers it
    try:
        k.drive.tap(k.drive.screen("home").ids.go_signup)
        signup = k.drive.screen("signup")
        assert k.app.current == "signup" and "Husregler" in signup.ids.rules.text
        both_languages(k, "signup-rules")
        k.drive.tap(signup.ids.accept)
        k.drive.scan(OLE_CARD)  # a scan here is the sign-up's card, not My account's
        assert k.app.current == "signup" and signup.vm.step == "pin"
        for digit in OLE_PIN:
            k.drive.key(signup.ids.pin_keys, digit)
        assert signup.ids.pin.text == "••••"
        k.drive.key(signup.ids.pin_keys, "ok")
        k.drive.wait(lambda: signup.vm.step == "done", what="the sign-up")
        assert signup.ids.message.text.startswith("Tak! Du er tilmeldt.")
        k.drive.screenshot("kiosk-signup-done-da")
        digest = k.app.services.key.credential_hash(Credential.from_text(OLE_CARD))
        with k.app.services.sessions() as session:
            site = k.app.services.settings.site.id  # the kiosk's own branch
            assert session.get(SignupRecord, (site, digest)) is not None
        k.drive.tap(signup.ids.done)
        assert k.app.current == "home" and signup.vm.step == "rules"
    finally:
        k.app.signup_offered = False


def test_sign_up_with_the_card_number_typed_on_the_keypad_shown_as_dots(k: Kiosk) -> None:
    from services.store.access_lists import SignupRecord

    k.app.signup_offered = True
    try:
        k.drive.tap(k.drive.screen("home").ids.go_signup)
        signup = k.drive.screen("signup")
        k.drive.tap(signup.ids.accept)
        assert signup.vm.step == "scan" and signup.ids.steps.current == "scan"
        for digit in "0103801234":  # a CPR number: this site's door takes none typed
            k.drive.key(signup.ids.card_keys, digit)
        assert signup.ids.typed.text == "•" * 10
        k.drive.key(signup.ids.card_keys, "ok")
        assert signup.vm.step == "scan" and signup.ids.typed.text == ""
        assert signup.ids.message.text.startswith("Her kan du ikke tilmelde dig med CPR-nummeret.")
        k.drive.screenshot("kiosk-signup-cpr-refused-da")
        for digit in KAREN_CARD:
            k.drive.key(signup.ids.card_keys, digit)
        assert signup.ids.typed.text == "•" * len(KAREN_CARD)
        assert not [t for t in k.drive.texts() if KAREN_CARD in t]
        both_languages(k, "signup-card")
        k.drive.key(signup.ids.card_keys, "ok")
        assert signup.vm.step == "pin" and signup.ids.steps.current == "pin"
        for digit in KAREN_PIN:
            k.drive.key(signup.ids.pin_keys, digit)
        assert signup.ids.pin.text == "••••"
        k.drive.key(signup.ids.pin_keys, "ok")
        k.drive.wait(lambda: signup.vm.step == "done", what="the sign-up")
        assert signup.ids.message.text.startswith("Tak! Du er tilmeldt.")
        assert not [t for t in k.drive.texts() if KAREN_CARD in t or KAREN_PIN in t]
        digest = k.app.services.key.credential_hash(Credential.from_text(KAREN_CARD))
        with k.app.services.sessions() as session:
            site = k.app.services.settings.site.id  # the kiosk's own branch
            assert session.get(SignupRecord, (site, digest)) is not None
        k.drive.tap(signup.ids.done)
    finally:
        k.app.signup_offered = False


def test_idle_home_becomes_the_weeks_poster_with_qr_codes_until_a_touch(k: Kiosk) -> None:
    import segno

    from kiosk.qr import QrCode
    from tests.kiosk.test_viewmodel_poster import modules

    k.drive.tap(k.app.root.ids.language)  # the last patron's English goes with the poster
    k.drive.mono.advance(31)
    k.drive.wait(lambda: k.app.current == "poster", what="the poster")
    poster = k.drive.screen("poster")
    assert k.app.tr.lang == "da" and poster.ids.title.text == "Ugens program på biblioteket"
    k.drive.wait(lambda: len(poster.vm.activities) == 2, what="the week's programme")
    k.drive.pump(0.2, frames=6)
    codes = [w for w in poster.walk() if isinstance(w, QrCode) and w.data]
    assert [c.data for c in codes] == [TALK_URL] and codes[0].texture is not None
    texture = codes[0].texture
    pixels, width = texture.pixels, texture.size[0]

    def dark(x: int, y: int) -> bool:
        return pixels[(y * width + x) * 4] < 128

    expected = [list(map(bool, row)) for row in segno.make(TALK_URL, error="m").matrix]
    shown = modules(dark, width, 8)
    assert shown in (expected, expected[::-1])  # texture rows may run bottom-up
    k.drive.screenshot("kiosk-poster-da")
    k.drive.mono.advance(200)
    k.drive.pump(0.6)
    assert k.app.current == "poster"  # the poster stays up; it shows nobody's data
    k.drive.tap(poster.ids.title)
    assert k.app.current == "home"


def test_need_help_from_home(k: Kiosk) -> None:
    k.drive.tap(k.drive.screen("home").ids.go_help)
    help_screen = k.drive.screen("help")
    assert k.app.current == "help" and help_screen.ids.lines.text.endswith("ring 112.")
    k.drive.tap(help_screen.ids.back)
    assert k.app.current == "home"


def test_large_text_fits_every_screen(k: Kiosk) -> None:
    from tests.kiosk.layout import layout_problems

    problems: dict[str, list[str]] = {}

    def check(name: str) -> None:
        k.drive.pump(0.1, frames=4)
        k.drive.screenshot(f"kiosk-{name}-large-da")
        found = layout_problems(k.app.root)
        if found:
            problems[name] = found

    k.drive.tap(k.app.root.ids.large_text)
    try:
        check("home")
        k.drive.tap(k.drive.screen("home").ids.go_search)
        search = k.drive.screen("search")
        for key in "de":
            k.drive.key(search.ids.keyboard, key)
        k.drive.wait(lambda: len(search.vm.results) > 3, what="results")
        check("search")
        rows = [w for w in search.ids.results.walk() if hasattr(w, "record_id")]
        row_height = max(r.height for r in rows)
        assert search.ids.results.height >= 3 * row_height, "fewer than 3 result rows show"
        k.app.open_item("29000007")
        item = k.drive.screen("item")
        k.drive.wait(lambda: item.ids.title.text == "Kvinden i buret", what="the title")
        check("item")
        account = sign_in(k)
        k.drive.wait(lambda: account.vm.step == "account", what="the loans")
        check("account")
        k.drive.tap(account.ids.change_pin)
        assert account.vm.step == "newpin" and account.ids.steps.current == "newpin"
        check("account-new-pin")
        account.vm.key("cancel")
        assert account.vm.step == "account"
        k.app.show("program")
        program = k.drive.screen("program")
        check("program")
        program.vm.select(NOW_ACTIVITY)
        check("event")
        program.vm.start_guests()
        check("event-guests")
        k.app.show("hours")
        check("hours")
        k.app.show("help")
        check("help")
        k.app.show("poster")
        k.drive.wait(lambda: len(k.drive.screen("poster").vm.activities) == 2, what="poster")
        check("poster")
        k.app.show("signup")
        check("signup")
        k.drive.screen("signup").vm.accept()
        for digit in "1000":
            k.drive.screen("signup").vm.key(digit)
        check("signup-card")
        k.drive.screen("signup").vm.key("ok")  # too short: "not recognised", still the card
        k.drive.screen("signup").vm.scan(OLE_CARD)
        check("signup-pin")
    finally:
        k.drive.tap(k.app.root.ids.large_text)
    assert problems == {}, "\n".join(f"{k}: {p}" for k, v in problems.items() for p in v)
