"""Every topic of the MQTT contract, built and parsed in one place.

The contract (README.md, "MQTT contract") lives under ``<prefix>/<site>/``; code
elsewhere asks this module for a topic instead of formatting strings, so a renamed level changes
here only.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

# Characters that would turn an id into a different topic level or a wildcard.
_FORBIDDEN = ("/", "+", "#", "\0")
PRESENCE_PARTS = ("probe", "here")


# The ``source`` of building-wide events, the ones on the site's event topic.
SITE_SOURCE = "site"


class TopicKind(StrEnum):
    """What a topic of the contract carries."""

    DOOR_STATE = "door_state"
    DOOR_EVENT = "door_event"
    DOOR_COMMAND = "door_command"
    OCCUPANCY = "occupancy"
    OPENING = "opening"
    KIOSK_EVENT = "kiosk_event"
    STATUS = "status"
    SIM = "sim"
    SITE_EVENT = "site_event"
    PRESENCE = "presence"
    LISTS = "lists"
    CODE_USES = "code_uses"
    BUILDING = "building"
    BUILDING_COMMAND = "building_command"
    SITE_DESCRIPTION = "site_description"


@dataclass(frozen=True, slots=True)
class Route:
    """A parsed topic: its kind, the door/kiosk/component it names, and a sim input."""

    kind: TopicKind
    subject: str | None = None  # door id, kiosk id or component; None for site-wide topics
    input: str | None = None  # SIM: which simulated input (contact, exit, …); PRESENCE: probe/here


def _level(what: str, value: str) -> str:
    """Check that ``value`` is one topic level, so an id can never address another topic."""
    if not value or any(c in value for c in _FORBIDDEN):
        raise ValueError(f"{what} {value!r} is not a valid topic level (empty, '/', '+' or '#')")
    return value


@dataclass(frozen=True, slots=True)
class Topics:
    """The topics of one site: ``Topics("aabent", "glostrup").door_event("main")``."""

    prefix: str
    site: str

    def __post_init__(self) -> None:
        # The prefix may span levels ("libraries/aabent"), but no level may be empty or a wildcard.
        for part in self.prefix.split("/"):
            _level("prefix level", part)
        _level("site", self.site)

    @property
    def base(self) -> str:
        """``<prefix>/<site>``, the root of everything this site publishes."""
        return f"{self.prefix}/{self.site}"

    def door_state(self, door: str) -> str:
        """Retained lock/contact/mode/alarm state of a door."""
        return f"{self.base}/door/{_level('door', door)}/state"

    def door_event(self, door: str) -> str:
        """Events of a door (access, contact, alarms)."""
        return f"{self.base}/door/{_level('door', door)}/event"

    def door_command(self, door: str) -> str:
        """Staff commands to a door (unlock, lock, pulse, mode)."""
        return f"{self.base}/door/{_level('door', door)}/command"

    @property
    def occupancy(self) -> str:
        """Retained count of people inside."""
        return f"{self.base}/occupancy"

    @property
    def opening(self) -> str:
        """Retained opening state (staffed, self-service, closed)."""
        return f"{self.base}/opening"

    @property
    def lists(self) -> str:
        """Retained, versioned snapshot of the local access lists; written by the server only."""
        return f"{self.base}/lists"

    def code_uses(self, component: str) -> str:
        """Retained: the uses of one-time codes counted at one controller's doors."""
        return f"{self.base}/code_uses/{_level('component', component)}"

    @property
    def all_code_uses(self) -> str:
        """Filter for every controller's code uses (each controller reads them all)."""
        return f"{self.base}/code_uses/+"

    @property
    def building(self) -> str:
        """Retained state of the building's evening: phase, next step, panel, lights, equipment."""
        return f"{self.base}/building"

    @property
    def building_command(self) -> str:
        """Staff commands to the building's evening (extend, swept, announce)."""
        return f"{self.base}/building/command"

    @property
    def site_description(self) -> str:
        """Retained description of the site (name, doors, capacity, opening): its announcement."""
        return f"{self.base}/site"

    @property
    def site_event(self) -> str:
        """Building-wide events (fire, opening, occupancy) that belong to no single door."""
        return f"{self.base}/event"

    def kiosk_event(self, kiosk: str) -> str:
        """Events of a kiosk (check-in, …)."""
        return f"{self.base}/kiosk/{_level('kiosk', kiosk)}/event"

    def status(self, component: str) -> str:
        """Retained ``online``/``offline`` of a process; ``offline`` is its last will."""
        return f"{self.base}/status/{_level('component', component)}"

    def presence(self, component: str, part: str) -> str:
        """``probe`` (a nonce) and ``here`` (the live holder's answer) of a unique component."""
        if part not in PRESENCE_PARTS:
            raise ValueError(f"presence part {part!r} is not one of {', '.join(PRESENCE_PARTS)}")
        return f"{self.status(component)}/{part}"

    def sim(self, door: str, input: str) -> str:
        """A simulated hardware input of a door, for the demo and the tests."""
        return f"{self.base}/sim/{_level('door', door)}/{_level('input', input)}"

    @property
    def all_door_commands(self) -> str:
        """Filter matching the commands to every door."""
        return f"{self.base}/door/+/command"

    @property
    def all_door_events(self) -> str:
        """Filter matching the events of every door."""
        return f"{self.base}/door/+/event"

    @property
    def all_door_states(self) -> str:
        """Filter matching the state of every door."""
        return f"{self.base}/door/+/state"

    @property
    def all_kiosk_events(self) -> str:
        """Filter matching the events of every kiosk."""
        return f"{self.base}/kiosk/+/event"

    @property
    def all_status(self) -> str:
        """Filter matching the availability of every component."""
        return f"{self.base}/status/+"

    @property
    def all_sim_inputs(self) -> str:
        """Filter matching every simulated input of every door."""
        return f"{self.base}/sim/+/+"

    @property
    def everything(self) -> str:
        """Filter matching every topic of this site (the recorder's subscription)."""
        return f"{self.base}/#"

    def parse(self, topic: str) -> Route | None:
        """Tell kind and door/kiosk/component of ``topic``; None if it is not in the contract."""
        head = self.base + "/"
        if not topic.startswith(head):
            return None
        levels = topic[len(head) :].split("/")
        if any(not level for level in levels):
            return None
        match levels:
            case ["occupancy"]:
                return Route(TopicKind.OCCUPANCY)
            case ["opening"]:
                return Route(TopicKind.OPENING)
            case ["event"]:
                return Route(TopicKind.SITE_EVENT)
            case ["lists"]:
                return Route(TopicKind.LISTS)
            case ["code_uses", component]:
                return Route(TopicKind.CODE_USES, component)
            case ["building"]:
                return Route(TopicKind.BUILDING)
            case ["site"]:
                return Route(TopicKind.SITE_DESCRIPTION)
            case ["building", "command"]:
                return Route(TopicKind.BUILDING_COMMAND)
            case ["door", door, "state"]:
                return Route(TopicKind.DOOR_STATE, door)
            case ["door", door, "event"]:
                return Route(TopicKind.DOOR_EVENT, door)
            case ["door", door, "command"]:
                return Route(TopicKind.DOOR_COMMAND, door)
            case ["kiosk", kiosk, "event"]:
                return Route(TopicKind.KIOSK_EVENT, kiosk)
            case ["status", component]:
                return Route(TopicKind.STATUS, component)
            case ["status", component, part] if part in PRESENCE_PARTS:
                return Route(TopicKind.PRESENCE, component, part)
            case ["sim", door, sim_input]:
                return Route(TopicKind.SIM, door, sim_input)
        return None


@lru_cache(maxsize=4096)
def _site_topics(prefix: str, site: str) -> Topics:
    # Checked once per site, not per message: a municipality's recorder sees thousands a second.
    return Topics(prefix, site)


def every_site(prefix: str) -> str:
    """Filter matching every topic of every site under ``prefix`` (a municipality's recorder)."""
    for part in prefix.split("/"):
        _level("prefix level", part)
    return f"{prefix}/+/#"


@lru_cache(maxsize=4096)
def route_any(prefix: str, topic: str) -> tuple[Topics, Route] | None:
    """The site's topics and the route of ``topic`` under ``prefix``, whichever site it names;
    None if it is not in the contract of any site. Kept per topic: a municipality's doors use
    a few hundred topics thousands of times a second (both parts are frozen)."""
    head = prefix + "/"
    if not topic.startswith(head):
        return None
    site = topic[len(head) :].split("/", 1)[0]
    try:
        topics = _site_topics(prefix, site)
    except ValueError:
        return None  # an empty level: no site's topic
    route = topics.parse(topic)
    return None if route is None else (topics, route)
