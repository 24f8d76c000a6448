"""Widgets every screen uses: the on-screen keyboard and the floor plan (layout in widgets.kv)."""

from __future__ import annotations

from typing import Any

from kivy.app import App
from kivy.clock import Clock
from kivy.core.text import Label as CoreLabel
from kivy.graphics import Color, Line, Rectangle, SmoothEllipse
from kivy.metrics import dp, sp
from kivy.properties import ListProperty, ObjectProperty, OptionProperty, StringProperty
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.button import Button
from kivy.uix.widget import Widget

# Danish keyboard rows; "-" for double names and shelf marks.
ALPHA_ROWS = ("1234567890", "qwertyuiopå", "asdfghjklæø", "zxcvbnm-")
DIGIT_ROWS = ("123", "456", "789")
ALPHA_BOTTOM = (("clear", 1.5), ("space", 6.0), ("backspace", 1.5))
DIGIT_BOTTOM = (("backspace", 1.0), ("0", 1.0), ("ok", 1.0))


class KeyButton(Button):  # type: ignore[misc]
    """One key; ``key`` is what it sends, its caption may be a translated word."""

    key = StringProperty("")


class TapRow(ButtonBehavior, BoxLayout):  # type: ignore[misc]
    """A list row that is one big touch target."""


class OnScreenKeyboard(BoxLayout):  # type: ignore[misc]
    """Big keys for a touchscreen: letters (with æ, ø, å) or a numeric pad; fires ``on_key``."""

    layout = OptionProperty("alpha", options=["alpha", "digits"])
    __events__ = ("on_key",)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.orientation = "vertical"
        self._keys: list[KeyButton] = []
        self._built = ""
        # kv sets ``layout`` only after __init__: building at once would build the letters for
        # every numeric pad first and throw them away (with their textures).
        Clock.schedule_once(lambda _dt: self._build(), -1)
        app = App.get_running_app()
        if app is not None:
            app.tr.bind(lang=lambda *_: self._relabel())

    def on_layout(self, *_args: Any) -> None:
        """Rebuild for the other layout."""
        if self._built:
            self._build()

    def on_key(self, key: str) -> None:
        """Default handler of the ``on_key`` event."""

    def _caption(self, key: str) -> str:
        app = App.get_running_app()
        if key in ("clear", "space", "backspace", "ok") and app is not None:
            return str(app.tr.s[f"keys.{key}"])
        return key.upper() if self.layout == "alpha" else key

    def _relabel(self) -> None:
        for button in self._keys:
            button.text = self._caption(button.key)

    def _build(self) -> None:
        if self._built == self.layout:
            return
        self._built = self.layout
        self.clear_widgets()
        self._keys = []
        rows = ALPHA_ROWS if self.layout == "alpha" else DIGIT_ROWS
        bottom = ALPHA_BOTTOM if self.layout == "alpha" else DIGIT_BOTTOM
        for row in (*[[(k, 1.0) for k in r] for r in rows], list(bottom)):
            line = BoxLayout(spacing=dp(6))
            for key, width in row:
                button = KeyButton(key=key, text=self._caption(key), size_hint_x=width)
                button.bind(on_release=lambda b: self.dispatch("on_key", b.key))
                line.add_widget(button)
                self._keys.append(button)
            self.add_widget(line)


class FloorPlanView(Widget):  # type: ignore[misc]
    """The floor plan drawn to fit, with the room and the shelf of the copy highlighted."""

    plan = ObjectProperty(None, allownone=True)
    room = ListProperty([])
    shelf = ListProperty([])
    here_text = StringProperty("")
    fg = ListProperty([0, 0, 0, 1])
    muted = ListProperty([0.4, 0.4, 0.4, 1])
    accent = ListProperty([1, 0.6, 0, 1])
    panel = ListProperty([1, 1, 1, 1])

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        redraw = self._redraw
        self.bind(pos=redraw, size=redraw, plan=redraw, room=redraw, shelf=redraw)
        self.bind(fg=redraw, muted=redraw, accent=redraw, panel=redraw, here_text=redraw)

    def _to_screen(self, x: float, y: float) -> tuple[float, float]:
        return self._ox + x * self._scale, self._oy + y * self._scale

    def _box(
        self, rect: list[float] | tuple[float, ...]
    ) -> tuple[tuple[float, float], tuple[float, float]]:
        x, y, w, h = rect
        return self._to_screen(x, y), (w * self._scale, h * self._scale)

    def _label(self, text: str, pos: tuple[float, float], size: float, colour: list[float]) -> None:
        core = CoreLabel(text=text, font_size=size)
        core.refresh()
        Color(*colour)
        Rectangle(texture=core.texture, pos=pos, size=core.texture.size)

    def _redraw(self, *_args: Any) -> None:
        self.canvas.clear()
        plan = self.plan
        if plan is None or self.width < 10 or self.height < 10:
            return
        self._scale = min(self.width / plan.width, self.height / plan.height)
        self._ox = self.x + (self.width - plan.width * self._scale) / 2
        self._oy = self.y + (self.height - plan.height * self._scale) / 2
        with self.canvas:
            Color(*self.panel)
            Rectangle(pos=self._to_screen(0, 0), size=self._box((0, 0, plan.width, plan.height))[1])
            self._draw_rooms(plan)
            self._draw_shelves(plan)
            self._draw_here(plan)

    def _draw_rooms(self, plan: Any) -> None:
        for room in plan.rooms:
            pos, size = self._box(room.rect)
            if list(room.rect) == list(self.room):
                Color(*self.accent[:3], 0.18)
                Rectangle(pos=pos, size=size)
            Color(*self.fg)
            Line(rectangle=(*pos, *size), width=dp(1.5))
            self._label(room.name, (pos[0] + dp(6), pos[1] + dp(4)), sp(16), self.fg)

    def _draw_shelves(self, plan: Any) -> None:
        for shelf in plan.shelves:
            pos, size = self._box(shelf.rect)
            chosen = list(shelf.rect) == list(self.shelf)
            Color(*(self.accent if chosen else (*self.muted[:3], 0.45)))
            Rectangle(pos=pos, size=size)
            if chosen:
                Color(*self.fg)
                frame = (pos[0] - dp(3), pos[1] - dp(3), size[0] + dp(6), size[1] + dp(6))
                Line(rectangle=frame, width=dp(3))

    def _draw_here(self, plan: Any) -> None:
        if plan.kiosk is None:
            return
        x, y = self._to_screen(*plan.kiosk)
        radius = dp(9)
        Color(*self.fg)
        # anti-aliased by itself: the window has no multisampling (see kiosk.boot)
        SmoothEllipse(pos=(x - radius, y - radius), size=(2 * radius, 2 * radius))
        if self.here_text:
            core = CoreLabel(text=self.here_text, font_size=sp(15), bold=True)
            core.refresh()
            width, height = core.texture.size
            spot = (x - width / 2, y + radius + dp(3))
            Rectangle(texture=core.texture, pos=spot, size=(width, height))
