"""The doors on the kiosk's floor plan, as the live page draws them (floorplan.py)."""

from __future__ import annotations

from pathlib import Path

from services.dashboard.floorplan import load_plan
from services.settings import DEFAULT_CONFIG

PLAN = DEFAULT_CONFIG.parent / "floorplan.toml"


def test_the_shipped_plan_places_the_example_site_s_doors() -> None:
    plan = load_plan(PLAN, {"main", "basement"})
    assert plan is not None and (plan.width, plan.height) == (40.0, 24.0)
    assert [d.door for d in plan.doors] == ["main", "basement"]
    assert {r.name for r in plan.rooms} == {"Voksen", "Børn", "Unge"}
    main = plan.doors[0]
    assert plan.svg_y(main.y) == 24.0  # at the bottom wall, drawn at the bottom


def test_a_plan_that_places_none_of_the_site_s_doors_or_is_broken_is_not_drawn(
    tmp_path: Path,
) -> None:
    assert load_plan(PLAN, {"side"}) is None
    assert load_plan(tmp_path / "none.toml", {"main"}) is None
    broken = tmp_path / "broken.toml"
    broken.write_text('width = 10\nheight = 5\n[[doors]]\nid = "main"\nat = "here"\n')
    assert load_plan(broken, {"main"}) is None
