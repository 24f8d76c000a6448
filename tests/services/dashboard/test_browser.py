"""The dashboard in headless Chromium against a running server, broker and simulated door.

One browser for the module; each test has its own context (cookies). Screenshots go to
tests/artifacts/ for a person to look at.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.conftest import Broker
from tests.services.dashboard.conftest import PASSWORD
from tests.services.dashboard.harness import Site, launch_chromium, running_site

DESK = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, mqtt_broker: Broker) -> Iterator[Site]:
    with running_site(tmp_path_factory.mktemp("branch"), mqtt_broker) as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        chromium = launch_chromium(p)
        yield chromium
        chromium.close()


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
    expect(page.locator("#conn")).to_have_text("live")


def door_field(page: Page, field: str) -> Any:
    return page.locator(f'#door-main [data-field="{field}"]')


def test_swipe_appears_live_and_operator_unlocks_remotely(
    page: Page, site: Site, artifacts: Path
) -> None:
    login(page, "otto")
    expect(door_field(page, "lock")).to_have_text("låst")
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
    page.screenshot(path=str(artifacts / "dashboard-live-operator.png"), full_page=True)

    form.locator("input[name=reason]").fill("Parcel delivered")
    form.locator("button[value=lock]").click()
    expect(form.locator(".outcome")).to_have_text("Udført: lås")
    expect(door_field(page, "lock")).to_have_text("låst")
    page.goto("/commands")
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
    page.goto("/alarms")
    handled = page.locator("table tbody tr").first
    expect(handled).to_contain_text("otto")
    expect(handled).to_contain_text("Checked on camera")


def test_statistics_export_csv(page: Page, site: Site, artifacts: Path) -> None:
    login(page, "otto")
    site.sim("main", "walk", b"in")
    expect(page.locator("#occ-inside")).not_to_have_text("0")
    page.goto("/stats")
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
                const r = await fetch("/doors/main/command", {method: "POST", body, headers});
                return r.status;
            }"""
        )
        assert status == 403
        page.screenshot(path=str(artifacts / "dashboard-viewer-phone.png"), full_page=True)
    finally:
        context.close()
