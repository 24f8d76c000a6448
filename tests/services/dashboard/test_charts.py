"""Bar charts as inline SVG (services/dashboard/charts.py)."""

from __future__ import annotations

from services.dashboard.charts import stacked_bars


def test_bars_scale_to_a_round_maximum() -> None:
    chart = stacked_bars(["a", "b"], [3, 10], [2, 0])
    assert chart.ticks[-1][1] == "10"
    tall = chart.bars[1]
    assert round(tall.a_height, 3) == round(chart.base - chart.ticks[-1][0], 3)
    assert chart.bars[0].b_height > 0 and chart.bars[0].title == "a: 5 (3 + 2)"


def test_many_bars_label_only_every_nth() -> None:
    chart = stacked_bars([f"d{i}" for i in range(48)], list(range(48)))
    shown = [b.label for b in chart.bars if b.show_label]
    assert 1 < len(shown) <= 8 and shown[0] == "d0"
    assert all(b.b_height == 0 for b in chart.bars)


def test_empty_series_draws_an_empty_chart() -> None:
    chart = stacked_bars([], [])
    assert chart.bars == [] and chart.ticks[-1][1] == "1"


def test_axis_labels_shorten_dates_only() -> None:
    chart = stacked_bars(["2025-03-04", "self-service", "2025-W10"], [1, 1, 1])
    assert [b.short for b in chart.bars] == ["03-04", "self-service", "W10"]
    assert [t for _, t in chart.ticks] == ["0", "1"]
