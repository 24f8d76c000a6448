"""``[alarms]``: where critical alarms go besides the dashboard."""

from __future__ import annotations

from typing import Literal

from pydantic import AliasChoices, Field

from services.settings.base import _Model
from services.settings.paths import SecretFile


class EmailSettings(_Model):
    """Critical alarms by e-mail over SMTP; an empty ``host`` sends none."""

    host: str = Field("", description="SMTP server; empty = no e-mail")
    port: int = Field(25, ge=1, le=65535)
    sender: str = Field(
        "", validation_alias=AliasChoices("from", "sender"), description="the From: address"
    )
    to: tuple[str, ...] = Field((), description="recipients")
    starttls: bool = Field(True, description="upgrade the connection with STARTTLS")
    username: str | None = Field(None, description="SMTP AUTH user; None = no login")
    password_file: SecretFile | None = Field(None, description="file holding the SMTP password")
    timeout_s: float = Field(10.0, gt=0)


class WebhookSettings(_Model):
    """Critical alarms POSTed as JSON; an empty ``url`` sends none."""

    url: str = Field("", description="http(s) URL to POST to; empty = no webhook")
    token_file: SecretFile | None = Field(None, description="sent as Authorization: Bearer <token>")
    timeout_s: float = Field(5.0, gt=0)


class AppriseSettings(_Model):
    """Alarms through Apprise (SMS gateways, Teams, Slack, ntfy, e-mail, …); no file sends none.

    The URLs carry tokens, so they live in a secret file, one Apprise URL per line (``#``
    comments allowed), e.g. ``ntfy://ntfy.sh/glostrup-vagt`` or ``msteams://…``.
    """

    urls_file: SecretFile | None = Field(None, description="file of Apprise URLs, one a line")
    severities: tuple[Literal["critical", "warning"], ...] = Field(
        ("critical",), description="which alarms go out this way"
    )
    timeout_s: float = Field(10.0, gt=0)


class AlarmSettings(_Model):
    """Where critical alarms go besides the dashboard, and how hard sending is tried."""

    email: EmailSettings = EmailSettings()
    webhook: WebhookSettings = WebhookSettings()
    apprise: AppriseSettings = AppriseSettings()
    attempts: int = Field(4, ge=1, le=20, description="tries per channel before giving up")
    retry_seconds: float = Field(5.0, gt=0, description="wait before the first retry; doubles")
