"""The overview's "Serveren" section in headless Chromium against a running ``aabent server``:
its own recorder reports itself at start, and a viewer sees it storing, nothing flagged."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, expect

from tests.conftest import Broker
from tests.services.dashboard.conftest import PASSWORD
from tests.services.dashboard.harness import Site, running_site


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, mqtt_broker: Broker) -> Iterator[Site]:
    with running_site(tmp_path_factory.mktemp("health"), mqtt_broker, "health") as s:
        yield s


def test_a_viewer_sees_the_servers_recorder_storing(site: Site, browser: Browser) -> None:
    context = browser.new_context(base_url=site.url, locale="da-DK")
    page = context.new_page()
    page.goto("/login")
    page.fill("input[name=username]", "vera")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    recorder = page.locator('#server-health [data-recorder="health/recorder"]')
    expect(page.locator("#server-health h2")).to_have_text("Serveren")
    expect(recorder).to_be_visible()
    expect(recorder.locator('[data-field="queued"]')).to_have_text("0")
    expect(recorder.locator('[data-field="stalls"]')).to_have_text("0")
    expect(recorder.locator('[data-field="reported"]')).not_to_be_empty()
    expect(recorder.locator("[data-flag]")).to_have_count(0)
    context.close()
