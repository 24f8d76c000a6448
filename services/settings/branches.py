"""``[branches.<site>]``: what one branch of a municipality does differently from the defaults.

The server of a municipality records every branch; most settings are the same for all of them
(the ``[alarms]`` and ``[retention]`` sections are the defaults). A branch with its own on-call
address, or a longer retention, says so here, and only what differs::

    [branches.vallensbaek]
    name = "Vallensbæk Bibliotek"
    retention_days = 90
    alarms.email_to = ["vagt@vallensbaek.dk"]
    alarms.apprise_urls_file = "/etc/aabent/vallensbaek-apprise.txt"
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from services.settings.alarms import AlarmSettings
from services.settings.base import _Model
from services.settings.paths import SecretFile

SiteId = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,40}$")]  # as [site] id


class BranchAlarms(_Model):
    """Where this branch's alarms go instead of the defaults; unset keys keep ``[alarms]``."""

    email_to: tuple[str, ...] | None = Field(None, description="recipients at this branch")
    webhook_url: str | None = Field(None, description="this branch's webhook; empty = none")
    apprise_urls_file: SecretFile | None = Field(
        None, description="this branch's Apprise URLs, one a line"
    )
    apprise_severities: tuple[Literal["critical", "warning"], ...] | None = Field(
        None, description="which of this branch's alarms go out by Apprise"
    )

    def over(self, defaults: AlarmSettings) -> AlarmSettings:
        """``defaults`` with this branch's addresses in place of theirs."""
        email, webhook, apprise = defaults.email, defaults.webhook, defaults.apprise
        if self.email_to is not None:
            email = email.model_copy(update={"to": self.email_to})
        if self.webhook_url is not None:
            webhook = webhook.model_copy(update={"url": self.webhook_url})
        if self.apprise_urls_file is not None:
            apprise = apprise.model_copy(update={"urls_file": self.apprise_urls_file})
        if self.apprise_severities is not None:
            apprise = apprise.model_copy(update={"severities": self.apprise_severities})
        return defaults.model_copy(update={"email": email, "webhook": webhook, "apprise": apprise})


class BranchSettings(_Model):
    """One branch's own name, retention and alarm addresses; None keeps the default."""

    name: str | None = Field(None, description="the name staff know the branch by")
    retention_days: int | None = Field(None, ge=1, description="days identifiable detail is kept")
    alarms: BranchAlarms = BranchAlarms()
