"""Alarm notices by e-mail (a real SMTP server on loopback) and webhook (a real HTTP server)."""

from __future__ import annotations

import dataclasses
import email
import email.policy
import logging
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from services.recorder.notify import AlarmNotice, Notifier, channels, post_webhook, send_email
from services.settings import AlarmSettings, EmailSettings, WebhookSettings
from tests.conftest import free_port
from tests.services.recorder.conftest import WebhookServer

NOTICE = AlarmNotice(
    alarm_id=7,
    site="glostrup",
    site_name="Glostrup Bibliotek",
    kind="fire",
    source="site",
    severity="critical",
    message="Brandalarm: alle døre er låst op",
    raised_at=datetime(2026, 3, 2, 21, 15, tzinfo=UTC),
)


class Mailbox:
    """An aiosmtpd handler that keeps every message, and the logins it accepted."""

    def __init__(self) -> None:
        self.messages: list[tuple[Envelope, email.message.EmailMessage]] = []
        self.logins: list[str] = []
        self.event = threading.Event()

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        parsed = email.message_from_bytes(raw, policy=email.policy.default)
        self.messages.append((envelope, parsed))  # type: ignore[arg-type]
        self.event.set()
        return "250 OK"

    def authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        ok = isinstance(data, LoginPassword) and data.password == b"hemmelig"
        if ok:
            self.logins.append(data.login.decode())
        return AuthResult(success=ok)


@pytest.fixture
def smtp() -> Iterator[tuple[Mailbox, int]]:
    box = Mailbox()
    port = free_port()
    controller = Controller(
        box,
        hostname="127.0.0.1",
        port=port,
        authenticator=box.authenticate,
        auth_require_tls=False,
    )
    controller.start()
    yield box, port
    controller.stop()


def _email_settings(port: int, tmp_path: Path, **extra: Any) -> EmailSettings:
    secret = tmp_path / "smtp.password"
    secret.write_text("hemmelig\n")
    data: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": port,
        "from": "aabent@glostrup.dk",
        "to": ["vagt@glostrup.dk", "leder@glostrup.dk"],
        "starttls": False,
        "username": "aabent",
        "password_file": secret,
        "timeout_s": 5,
    }
    return EmailSettings.model_validate(data | extra)


def test_an_alarm_email_reaches_the_smtp_server_after_login(
    smtp: tuple[Mailbox, int], tmp_path: Path
) -> None:
    box, port = smtp
    send_email(_email_settings(port, tmp_path), NOTICE)
    assert box.logins == ["aabent"]
    [(envelope, message)] = box.messages
    assert envelope.mail_from == "aabent@glostrup.dk"
    assert envelope.rcpt_tos == ["vagt@glostrup.dk", "leder@glostrup.dk"]
    assert (
        message["Subject"] == "[aabent Glostrup Bibliotek] ALARM: Brandalarm: alle døre er låst op"
    )
    body = message.get_body().get_content()  # type: ignore[union-attr]
    assert "Alarm: fire (critical)" in body and "2026-03-02T21:15:00+00:00" in body


def test_starttls_required_but_not_offered_sends_nothing_in_clear(
    smtp: tuple[Mailbox, int], tmp_path: Path
) -> None:
    box, port = smtp
    with pytest.raises(Exception, match="STARTTLS"):
        send_email(_email_settings(port, tmp_path, starttls=True), NOTICE)
    assert box.messages == [] and box.logins == []


def test_the_webhook_gets_the_notice_as_json_with_the_token(
    webhook: WebhookServer, tmp_path: Path
) -> None:
    token = tmp_path / "token"
    token.write_text("s3cret\n")
    post_webhook(WebhookSettings(url=webhook.url, token_file=token), NOTICE)
    assert webhook.bodies == [NOTICE.to_json()]
    assert webhook.bodies[0]["raised_at"] == "2026-03-02T21:15:00+00:00"
    assert webhook.headers[0]["Authorization"] == "Bearer s3cret"
    assert webhook.headers[0]["Content-Type"] == "application/json"


def test_a_failing_webhook_is_retried_and_then_delivered_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    server = WebhookServer(fail=2)
    caplog.set_level(logging.WARNING, logger="services.recorder.notify")
    notifier = Notifier(
        channels(AlarmSettings(webhook=WebhookSettings(url=server.url))),
        attempts=3,
        retry_seconds=0.05,
    )
    notifier.start()
    try:
        notifier.notify(NOTICE)
        assert notifier.wait_idle(10)
    finally:
        notifier.stop()
        server.close()
    assert server.calls == 3 and server.bodies == [NOTICE.to_json()]
    assert (notifier.sent, notifier.failed) == ({"webhook": 1}, {"webhook": 0})
    failures = [r.getMessage() for r in caplog.records if "failed" in r.getMessage()]
    assert len(failures) == 2 and "alarm 7 (fire): webhook attempt 1/3 failed" in failures[0]


def test_a_channel_that_never_works_is_given_up_and_the_other_still_sends(
    smtp: tuple[Mailbox, int], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    box, port = smtp
    dead = f"http://127.0.0.1:{free_port()}/hook"  # nobody listens there
    settings = AlarmSettings(
        email=_email_settings(port, tmp_path), webhook=WebhookSettings(url=dead, timeout_s=1)
    )
    notifier = Notifier(channels(settings), attempts=2, retry_seconds=0.05)
    notifier.start()
    try:
        notifier.notify(NOTICE)
        assert notifier.wait_idle(10)
    finally:
        notifier.stop()
    assert notifier.sent == {"email": 1, "webhook": 0}
    assert notifier.failed == {"email": 0, "webhook": 1}
    assert len(box.messages) == 1
    assert any("webhook given up after 2 attempts" in r.getMessage() for r in caplog.records)


def test_no_channel_configured_means_nothing_queued() -> None:
    notifier = Notifier(channels(AlarmSettings()))
    notifier.notify(NOTICE)
    assert notifier.wait_idle(0)


def test_apprise_reaches_the_on_call_service_and_every_attempt_is_recorded(
    tmp_path: Path,
) -> None:
    from services.recorder.notify import Delivery

    hook, dead = WebhookServer(fail=1), free_port()
    try:
        urls = tmp_path / "apprise.urls"
        host = hook.url.removeprefix("http://")
        urls.write_text(f"# the on-call phone's ntfy topic, here a JSON endpoint\njson://{host}\n")
        settings = AlarmSettings.model_validate(
            {"apprise": {"urls_file": str(urls), "severities": ["critical", "warning"]}}
        )
        unreachable = tmp_path / "dead.urls"
        unreachable.write_text(f"json://127.0.0.1:{dead}/hook\n")
        broken = AlarmSettings.model_validate({"apprise": {"urls_file": str(unreachable)}})
        seen: list[Delivery] = []
        good = Notifier(channels(settings), attempts=3, retry_seconds=0.01, record=seen.append)
        bad = Notifier(channels(broken), attempts=2, retry_seconds=0.01, record=seen.append)
        warning = dataclasses.replace(NOTICE, alarm_id=8, severity="warning")
        for notifier in (good, bad):
            notifier.start()
        good.notify(warning)  # Apprise is set for warnings too here
        bad.notify(warning)  # ... but the broken one only for critical: not sent at all
        bad.notify(NOTICE)
        assert good.wait_idle(10) and bad.wait_idle(10)
        good.stop()
        bad.stop()
        assert hook.wait_for(1)
        assert NOTICE.message in str(hook.bodies[0])  # Apprise's JSON carries title and body
        outcomes = [(d.alarm_id, d.channel, d.outcome, d.attempt) for d in seen]
        assert (8, "apprise", "retrying", 1) in outcomes and (8, "apprise", "sent", 2) in outcomes
        failed = [d for d in seen if d.alarm_id == NOTICE.alarm_id]
        assert [(d.outcome, d.attempt) for d in failed] == [("retrying", 1), ("failed", 2)]
        assert all(d.error for d in failed)
    finally:
        hook.close()


def test_a_branch_with_its_own_on_call_address_gets_its_alarms_and_the_others_the_defaults(
    tmp_path: Path,
) -> None:
    from services.settings import load_settings

    default, branch = WebhookServer(), WebhookServer()
    toml = tmp_path / "aabent.toml"
    toml.write_text(
        f'[alarms.webhook]\nurl = "{default.url}"\n'
        f'[branches.vallensbaek]\nalarms.webhook_url = "{branch.url}"\nretention_days = 90\n',
        encoding="utf-8",
    )
    settings = load_settings(toml, environ={})
    assert settings.retention_days_for("vallensbaek") == 90
    assert settings.retention_days_for("glostrup") == settings.retention.days
    notifier = Notifier.from_settings(
        settings.alarms, branches={s: settings.alarms_for(s) for s in settings.branches}
    )
    notifier.start()
    try:
        notifier.notify(NOTICE)
        notifier.notify(dataclasses.replace(NOTICE, alarm_id=8, site="vallensbaek"))
        assert notifier.wait_idle(10)
    finally:
        notifier.stop()
        default.close()
        branch.close()
    assert [b["alarm_id"] for b in default.bodies] == [7]
    assert [(b["alarm_id"], b["site"]) for b in branch.bodies] == [(8, "vallensbaek")]
