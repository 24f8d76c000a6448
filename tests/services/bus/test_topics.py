"""The MQTT contract's topics: built from prefix and site, and parsed back."""

from __future__ import annotations

import pytest

from services.bus.topics import Route, TopicKind, Topics

T = Topics("aabent", "glostrup")


def test_every_topic_of_the_contract_lives_under_prefix_and_site() -> None:
    assert T.door_state("main") == "aabent/glostrup/door/main/state"
    assert T.door_event("main") == "aabent/glostrup/door/main/event"
    assert T.door_command("main") == "aabent/glostrup/door/main/command"
    assert T.occupancy == "aabent/glostrup/occupancy"
    assert T.opening == "aabent/glostrup/opening"
    assert T.kiosk_event("k1") == "aabent/glostrup/kiosk/k1/event"
    assert T.status("door-ctl") == "aabent/glostrup/status/door-ctl"
    assert T.sim("main", "contact") == "aabent/glostrup/sim/main/contact"


def test_wildcard_filters_cover_all_doors_sim_inputs_and_everything() -> None:
    assert T.all_door_commands == "aabent/glostrup/door/+/command"
    assert T.all_door_events == "aabent/glostrup/door/+/event"
    assert T.all_door_states == "aabent/glostrup/door/+/state"
    assert T.all_kiosk_events == "aabent/glostrup/kiosk/+/event"
    assert T.all_status == "aabent/glostrup/status/+"
    assert T.all_sim_inputs == "aabent/glostrup/sim/+/+"
    assert T.everything == "aabent/glostrup/#"


@pytest.mark.parametrize(
    ("topic", "route"),
    [
        ("aabent/glostrup/door/main/state", Route(TopicKind.DOOR_STATE, "main")),
        ("aabent/glostrup/door/back-2/event", Route(TopicKind.DOOR_EVENT, "back-2")),
        ("aabent/glostrup/door/main/command", Route(TopicKind.DOOR_COMMAND, "main")),
        ("aabent/glostrup/occupancy", Route(TopicKind.OCCUPANCY)),
        ("aabent/glostrup/opening", Route(TopicKind.OPENING)),
        ("aabent/glostrup/event", Route(TopicKind.SITE_EVENT)),
        ("aabent/glostrup/kiosk/k1/event", Route(TopicKind.KIOSK_EVENT, "k1")),
        ("aabent/glostrup/status/door-ctl", Route(TopicKind.STATUS, "door-ctl")),
        ("aabent/glostrup/sim/main/exit", Route(TopicKind.SIM, "main", "exit")),
        (
            "aabent/glostrup/status/door-1/probe",
            Route(TopicKind.PRESENCE, "door-1", "probe"),
        ),
        ("aabent/glostrup/status/door-1/here", Route(TopicKind.PRESENCE, "door-1", "here")),
    ],
)
def test_parse_tells_kind_and_subject(topic: str, route: Route) -> None:
    assert T.parse(topic) == route


@pytest.mark.parametrize(
    "topic",
    [
        "aabent/ballerup/door/main/state",  # another site
        "other/glostrup/door/main/state",  # another prefix
        "aabent/glostrup/door/main",  # too short
        "aabent/glostrup/door/main/state/extra",  # too long
        "aabent/glostrup/door//state",  # empty door id
        "aabent/glostrup/window/main/state",  # not in the contract
        "aabent/glostrup/status/door-1/whatever",  # not a presence part
        "aabent/glostrup",
        "",
    ],
)
def test_parse_returns_none_for_topics_outside_the_contract(topic: str) -> None:
    assert T.parse(topic) is None


def test_a_built_topic_parses_back_to_its_parts() -> None:
    assert T.parse(T.sim("east", "beam_a")) == Route(TopicKind.SIM, "east", "beam_a")
    assert T.parse(T.door_command("east")) == Route(TopicKind.DOOR_COMMAND, "east")


def test_multi_level_prefix_is_allowed() -> None:
    topics = Topics("libraries/aabent", "glostrup")
    assert topics.door_event("main") == "libraries/aabent/glostrup/door/main/event"
    assert topics.parse("libraries/aabent/glostrup/opening") == Route(TopicKind.OPENING)


@pytest.mark.parametrize("bad", ["", "a/b", "+", "#", "x#"])
def test_ids_that_would_address_another_topic_are_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="door"):
        T.door_event(bad)
    with pytest.raises(ValueError, match="site"):
        Topics("aabent", bad)


def test_empty_prefix_level_is_refused() -> None:
    with pytest.raises(ValueError, match="prefix"):
        Topics("aabent/", "glostrup")
