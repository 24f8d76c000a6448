"""What a patron would see as broken, read from the widget bounds of the real window.

A text is broken when it sticks out of the window (and is not in a list that scrolls), when its
rendered texture is wider or taller than its box (cut off, or drawn over its neighbour), or when
one of its words is wider than the box, so Kivy breaks it mid-word ("decemb/er").
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from kivy.core.text import Label as CoreLabel
from kivy.core.window import Window
from kivy.uix.label import Label
from kivy.uix.scrollview import ScrollView
from kivy.uix.widget import Widget

SLACK = 2.0  # pixels of rounding


def _shown(widget: Widget) -> bool:
    node: Any = widget
    while node is not None and node is not node.parent:
        if getattr(node, "opacity", 1) <= 0.01:
            return False
        node = node.parent
    return True


def _box(widget: Widget) -> tuple[float, float, float, float]:
    x, y = widget.to_window(widget.x, widget.y)
    return x, y, x + widget.width, y + widget.height


def _in_scroller(widget: Widget) -> ScrollView | None:
    node: Any = widget.parent
    while node is not None and node is not node.parent:
        if isinstance(node, ScrollView):
            return node
        node = node.parent
    return None


def _inside(inner: tuple[float, ...], outer: tuple[float, ...]) -> bool:
    return (inner[0] >= outer[0] - SLACK and inner[1] >= outer[1] - SLACK
            and inner[2] <= outer[2] + SLACK and inner[3] <= outer[3] + SLACK)  # fmt: skip


def _widest_word(label: Label) -> tuple[str, float]:
    core = CoreLabel(font_size=label.font_size, bold=label.bold, font_name=label.font_name)
    words = label.text.replace("\n", " ").split()
    measured = [(word, core.get_extents(word)[0]) for word in words]
    return max(measured, key=lambda m: m[1]) if measured else ("", 0.0)


def _labels(root: Widget) -> Iterator[Label]:
    for widget in root.walk(restrict=True):
        wanted = isinstance(widget, Label) and widget.text.strip() and widget.width > 1
        if wanted and _shown(widget):
            yield widget


def layout_problems(root: Widget) -> list[str]:
    """Every broken text on the screen as shown now, each named by its text."""
    problems: list[str] = []
    window = (0.0, 0.0, float(Window.width), float(Window.height))
    for label in _labels(root):
        name = repr(label.text[:40])
        box = _box(label)
        scroller = _in_scroller(label)
        if scroller is not None and not _inside(box, _box(scroller)):
            continue  # scrolled out of sight: the list scrolls, that is not broken
        if not _inside(box, window):
            problems.append(f"{name} sticks out of the window: {tuple(round(v) for v in box)}")
        width, height = label.texture_size
        padding_x = label.padding[0] * 2 if hasattr(label, "padding") else 0
        if width > label.width + SLACK:
            problems.append(f"{name} is {width:.0f} px wide in a {label.width:.0f} px box")
        if height > label.height + SLACK:
            problems.append(f"{name} is {height:.0f} px tall in a {label.height:.0f} px box")
        room = (label.text_size[0] or label.width) - padding_x
        word, word_width = _widest_word(label)
        if label.text_size[0] and word_width > room + SLACK:
            problems.append(
                f"{name}: the word {word!r} ({word_width:.0f} px) breaks in {room:.0f} px"
            )
    return problems
