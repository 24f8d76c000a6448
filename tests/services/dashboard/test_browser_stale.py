"""The broker dies with the page open: the page says its view is old, commands are not
delivered (and never sent late), and it is live again promptly once the broker is back.

Its own broker (killed and restarted) and its own branch, so the other browser tests keep theirs.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect, sync_playwright
from sqlalchemy import select

from services.store.dashboard import CommandAudit
from services.store.engine import make_sessionmaker
from tests.conftest import Broker
from tests.services.dashboard.conftest import PASSWORD
from tests.services.dashboard.harness import Site, launch_chromium, running_site

STALE_SHOWN_S = 5.0  # the limit: broker killed -> the page says so


@pytest.fixture
def site(tmp_path: Path, own_broker: Broker) -> Iterator[Site]:
    with running_site(tmp_path, own_broker, site="stale") as running:
        yield running


@pytest.fixture
def page(site: Site) -> Iterator[Page]:
    with sync_playwright() as p:
        browser = launch_chromium(p)
        context = browser.new_context(viewport={"width": 1366, "height": 900}, base_url=site.url)
        context.set_default_timeout(10_000)
        yield context.new_page()
        browser.close()


def test_a_killed_broker_is_shown_as_stale_and_commands_are_not_delivered(
    page: Page, site: Site, own_broker: Broker, artifacts: Path
) -> None:
    page.goto("/login")
    page.fill("input[name=username]", "otto")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator("#branches")).to_be_visible()
    page.goto(f"/site/{site.settings.site.id}/")
    expect(page.locator("#conn")).to_have_text("live")
    expect(page.locator("#door-main [data-field=lock]")).to_have_text("låst")
    banner = page.locator("#banners [data-banner=stale]")
    expect(banner).to_have_count(0)

    assert own_broker.proc is not None
    own_broker.proc.kill()  # SIGKILL: no goodbye to anyone
    killed = time.monotonic()
    expect(banner).to_be_visible(timeout=STALE_SHOWN_S * 1000)
    assert time.monotonic() - killed <= STALE_SHOWN_S
    expect(banner).to_contain_text("mistet forbindelsen til MQTT-broker")
    expect(page.locator("#conn")).to_have_text("forældet")
    expect(page.locator("#door-main")).to_have_class("card door stale")

    form = page.locator("#door-main form.command")
    form.locator("input[name=reason]").fill("Låser efter aftenarrangement")
    form.locator("button[value=lock]").click()
    expect(form.locator(".outcome")).to_have_text("Ikke leveret: ingen forbindelse til MQTT-broker")
    page.screenshot(path=str(artifacts / "dashboard-stale-da.png"), full_page=True)
    with make_sessionmaker(site.engine)() as session:
        audit = session.scalars(select(CommandAudit)).one()
    assert (audit.result, audit.username) == ("undelivered", "otto")

    own_broker.start()
    back = time.monotonic()
    expect(banner).to_have_count(0, timeout=15_000)
    expect(page.locator("#conn")).to_have_text("live")
    assert time.monotonic() - back < 10  # the server reconnects within mqtt.reconnect_max_s
    expect(page.locator("#door-main")).to_have_class("card door")
