"""The controller core with the building's evening on: settings, a rig, and readers of effects."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from hardware.core import effects as fx
from hardware.core import inputs as ci
from hardware.core.core import ControllerCore
from hardware.core_settings import core_config
from services.core.holidays import DanishHolidays
from services.core.schedule import Schedule
from services.runtime.holidays_dk import public_holidays
from services.settings import Settings
from tests.hardware.core_rig import KEY, CoreRig

CPH = ZoneInfo("Europe/Copenhagen")
EVENING = datetime(2026, 11, 25, 21, 30, tzinfo=CPH)  # a Wednesday, self-service until 22:00


def building_settings(*, panel: bool = True, **building: Any) -> Settings:
    """One door, two light zones, two equipment groups, a panel with feedback."""
    cfg: dict[str, Any] = {
        "enabled": True,
        "lights": {"ground": {"pin": 5}, "first": {"mqtt_topic": "bms/lights/first/set"}},
        "equipment": {"public_pcs": {"pin": 12}, "kiosk": {"pin": 16}},
        **building,
    }
    if panel:
        cfg["panel"] = {"arm_pin": 20, "armed_pin": 21, "alarm_pin": 26, "fault_pin": 19}
    return Settings.model_validate(
        {
            "schedule": {
                "exceptions": [{"date": "2026-12-24", "self_service": "07:00-12:00"}],
            },
            "doors": {
                "main": {
                    "lock_pin": 17,
                    "contact_pin": 27,
                    "exit_button_pin": 22,
                    "beam_a_pin": 6,
                    "beam_b_pin": 13,
                    "readers": [
                        {"kind": "em4100", "url": "loop://"},
                        {"kind": "pinpad", "url": "loop://"},
                    ],
                }
            },
            "building": cfg,
        }
    )


def schedule_of(s: Settings) -> Schedule:
    return Schedule(s.schedule.opening_hours(), CPH, DanishHolidays(public_holidays))


def build(
    s: Settings | None = None,
    start: datetime = EVENING,
    *,
    inside: int = 0,
    progress: Mapping[str, Any] | None = None,
    armed: bool = False,
    mono: float = 1000.0,
) -> CoreRig:
    """A started core at ``start``; ``progress`` and ``armed`` as a restart would find them."""
    s = s or building_settings()
    core = ControllerCore(core_config(s), schedule_of(s), KEY, inside=inside, progress=progress)
    rig = CoreRig(core, "main", wall=start, mono=mono)
    rig.locked = {"main": True}
    rig.feed(ci.Started({"main": False}, {"armed": armed, "alarm": False, "fault": False}))
    return rig


def run_until(rig: CoreRig, until: datetime, *, step_s: float = 1.0, panel: bool = True) -> None:
    """Tick second by second to ``until``; a panel that obeys (``panel``) confirms at once."""
    while rig.wall < until:
        out = rig.advance(min(step_s, (until - rig.wall).total_seconds()))
        if panel:
            for effect in out:
                if isinstance(effect, fx.SetPanel):
                    rig.feed(ci.PanelChanged("armed", effect.armed))


def announced(rig: CoreRig) -> list[str]:
    return [e.message for e in rig.effects if isinstance(e, fx.Announce)]


def panel_orders(rig: CoreRig) -> list[bool]:
    """The orders to the panel (not the levels a restart puts back)."""
    return [e.armed for e in rig.effects if isinstance(e, fx.SetPanel) and not e.restore]


def outputs(rig: CoreRig) -> list[tuple[str, str, bool]]:
    return [(e.kind, e.name, e.on) for e in rig.effects if isinstance(e, fx.SetOutput)]


def state(rig: CoreRig) -> Mapping[str, Any]:
    return [e.state for e in rig.effects if isinstance(e, fx.PublishBuilding)][-1]


def progress(rig: CoreRig) -> Mapping[str, Any]:
    return [e.progress for e in rig.effects if isinstance(e, fx.SaveProgress)][-1]


def order(rig: CoreRig, **body: Any) -> list[fx.Effect]:
    raw = {"id": str(uuid.uuid4()), "ts": rig.wall.isoformat(), "by": "staff:anne", "reason": ""}
    raw.update(body)
    return rig.feed(ci.BuildingCommand(json.dumps(raw).encode()))


def at(rig: CoreRig, hour: int, minute: int, second: int = 0, days: int = 0) -> datetime:
    base = EVENING.replace(hour=hour, minute=minute, second=second)
    return base + timedelta(days=days)
