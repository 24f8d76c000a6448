"""``[kiosk]``: the patron kiosk."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from services.core.account import LoanRules
from services.settings.base import _Model
from services.settings.paths import ConfigPath

_LOANS = LoanRules()  # the local loan rules' defaults are the core's


class KioskSettings(_Model):
    """The patron kiosk: its id, privacy timeout, language, check-in rules and local loan rules."""

    id: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,30}$")] = "kiosk1"
    idle_timeout_s: float = Field(60.0, ge=5, description="without a touch, the warning shows")
    warning_s: float = Field(10.0, ge=1, description="the warning's countdown before the reset")
    language: Literal["da", "en"] = "da"
    large_text: bool = Field(False, description="start in large-text, high-contrast mode")
    checkin_window_minutes: int = Field(30, ge=0, le=240, description="check-in opens before start")
    program_days: int = Field(14, ge=1, le=60, description="days of events the kiosk lists")
    search_debounce_s: float = Field(0.3, ge=0, le=2, description="pause in typing before search")
    floorplan: ConfigPath | None = Field(
        None, description="floor plan TOML; default config/floorplan.toml"
    )
    scanner_url: str | None = Field(None, description="serial scanner; keyboard wedges need none")
    scanner_baudrate: int = 9600
    fullscreen: bool = True
    width: int = Field(1280, ge=320)
    height: int = Field(800, ge=240)
    max_renewals: int = Field(
        _LOANS.max_renewals, ge=0, description="local directory: renewals allowed per loan"
    )
    renewal_days: int = Field(
        _LOANS.renewal_days, ge=1, description="local directory: loan period of a renewal"
    )

    equipment_group: str | None = Field(
        None, description="the building's equipment group this kiosk's screen belongs to"
    )
    # X with DPMS (a Pi on X11). On Wayland: ["wlr-randr", "--output", "HDMI-A-1", "--off"];
    # without a desktop: ["vcgencmd", "display_power", "0"]. The kiosk also goes black itself.
    screen_off_command: tuple[str, ...] = Field(
        ("xset", "dpms", "force", "off"), description="switches the screen off; () for none"
    )
    screen_on_command: tuple[str, ...] = Field(
        ("xset", "dpms", "force", "on"), description="switches the screen on; () for none"
    )
    receipts: bool = Field(
        False, description="offer e-mail receipts through [alarms.email]'s SMTP server"
    )
    poster_after_s: float = Field(
        30.0, ge=0, description="Home untouched this long shows the week's poster; 0: never"
    )
    help_phone: str = Field("", description="the library's phone number on the help screen")
    help_out_of_hours_da: str = Field(
        "", description="what to do out of hours, in Danish; empty: the kiosk's own words"
    )
    help_out_of_hours_en: str = Field("", description="… in English")
    house_rules_da: ConfigPath | None = Field(
        None, description="the house rules a patron accepts at sign-up, Danish (a text file)"
    )
    house_rules_en: ConfigPath | None = Field(None, description="… English")

    def loan_rules(self) -> LoanRules:
        """The local directory's loan rules of these settings."""
        return LoanRules(self.max_renewals, self.renewal_days)
