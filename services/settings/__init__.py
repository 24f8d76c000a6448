"""One typed settings object for every aabent process, loaded from TOML plus environment.

The file is validated whole before anything starts, so a typo in a pin number stops the door
controller with a message that names the file, the key and the problem, instead of
driving the wrong relay.
"""

from __future__ import annotations

from services.settings.access import AccessSettings
from services.settings.alarms import (
    AlarmSettings,
    AppriseSettings,
    EmailSettings,
    WebhookSettings,
)
from services.settings.base import ConfigError
from services.settings.branches import BranchAlarms, BranchSettings
from services.settings.building import BuildingSettings
from services.settings.dashboard import DashboardSettings
from services.settings.doors import BCM_PINS, DoorSettings, FireSettings, Pin, ReaderSettings
from services.settings.environment import ENV_PREFIX
from services.settings.kiosk import KioskSettings
from services.settings.loading import DEFAULT_CONFIG, Settings, load_settings
from services.settings.mqtt import MqttSettings
from services.settings.patrons import PatronSettings
from services.settings.recorder import RecorderSettings
from services.settings.rooms import RoomSettings
from services.settings.schedule import ExceptionDay, ScheduleSettings, WeeklyHours
from services.settings.sip2 import Sip2Settings
from services.settings.site import SiteSettings, door_component
from services.settings.store import RetentionSettings, StoreSettings

__all__ = [
    "BCM_PINS",
    "DEFAULT_CONFIG",
    "ENV_PREFIX",
    "AccessSettings",
    "AlarmSettings",
    "AppriseSettings",
    "BranchAlarms",
    "BranchSettings",
    "BuildingSettings",
    "ConfigError",
    "DashboardSettings",
    "DoorSettings",
    "EmailSettings",
    "ExceptionDay",
    "FireSettings",
    "KioskSettings",
    "MqttSettings",
    "PatronSettings",
    "Pin",
    "ReaderSettings",
    "RecorderSettings",
    "RetentionSettings",
    "RoomSettings",
    "ScheduleSettings",
    "Settings",
    "Sip2Settings",
    "SiteSettings",
    "StoreSettings",
    "WebhookSettings",
    "WeeklyHours",
    "door_component",
    "load_settings",
]
