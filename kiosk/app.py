"""The patron kiosk: the screens, language and text size, the privacy timeout, scanners, live data.

Import after :func:`kiosk.boot.configure_kivy` (this module opens Kivy's window). Everything
outside comes in through :class:`~kiosk.wiring.KioskServices`; MQTT messages and serial scans
arrive on other threads and reach the view models only through ``Clock.schedule_once``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from kivy.app import App
from kivy.clock import Clock
from kivy.core.window import Window
from kivy.factory import Factory
from kivy.lang import Builder
from kivy.properties import BooleanProperty, ObjectProperty, StringProperty
from kivy.uix.recycleview import RecycleView
from kivy.uix.screenmanager import NoTransition, Screen

from kiosk.background import Background, Runner
from kiosk.i18n import Translator
from kiosk.input import KeyboardWedge, KeyInput, Pressed, Scanned, Typed, scan_target
from kiosk.privacy import IdleGuard, Phase
from kiosk.screenpower import ScreenPower
from kiosk.screens import (
    KV_DIR,
    account,
    closed,
    help,
    home,
    hours,
    item,
    poster,
    program,
    rooms,
    search,
    signup,
)
from kiosk.screens import widgets as _widgets  # noqa: F401  (registers the kv classes)
from kiosk.theme import Theme
from kiosk.viewmodels.account import AccountViewModel
from kiosk.viewmodels.base import ViewModel
from kiosk.viewmodels.building import BuildingViewModel
from kiosk.viewmodels.help import HelpViewModel
from kiosk.viewmodels.home import HomeViewModel
from kiosk.viewmodels.hours import HoursViewModel
from kiosk.viewmodels.poster import PosterViewModel
from kiosk.viewmodels.program import ProgramViewModel
from kiosk.viewmodels.rooms import RoomsViewModel
from kiosk.viewmodels.search import ItemViewModel, SearchViewModel
from kiosk.viewmodels.signup import SignupViewModel
from kiosk.wiring import KioskServices
from services.core.readers import CardRead, ReaderInput

log = logging.getLogger(__name__)
SCREENS: dict[str, tuple[type[Screen], Any]] = {
    "home": (home.HomeScreen, home.KV),
    "search": (search.SearchScreen, search.KV),
    "item": (item.ItemScreen, item.KV),
    "account": (account.AccountScreen, account.KV),
    "program": (program.ProgramScreen, program.KV),
    "hours": (hours.HoursScreen, hours.KV),
    "closed": (closed.ClosedScreen, closed.KV),
    "help": (help.HelpScreen, help.KV),
    "signup": (signup.SignupScreen, signup.KV),
    "poster": (poster.PosterScreen, poster.KV),
    "rooms": (rooms.RoomsScreen, rooms.KV),
}
REFRESH_S = 20.0  # the clock in the top bar and the opening state
PROGRAM_EVERY = 15  # refreshes between re-reading today's programme


class KioskApp(App):  # type: ignore[misc]
    """The kiosk application; ``current`` names the screen shown."""

    tr = ObjectProperty(None)
    theme = ObjectProperty(None)
    current = StringProperty("home")
    clock_text = StringProperty("")
    idle_text = StringProperty("")
    library_name = StringProperty("")
    signup_offered = BooleanProperty(False)  # access.signup_required: Home offers the sign-up

    def __init__(
        self,
        services: KioskServices,
        *,
        runner: Runner | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        first_frame: Callable[[], None] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.services, self.runner = services, runner or Background()
        k = services.settings.kiosk
        self.tr, self.theme = Translator(k.language), Theme(large=k.large_text)
        self.library_name = services.settings.site.name
        self._mono, self._first_frame, self._refreshes = monotonic, first_frame, 0
        self.guard = IdleGuard(k.idle_timeout_s, k.warning_s, monotonic())
        self.scanner: Any = None
        self._build_viewmodels()

    def _build_viewmodels(self) -> None:
        s, r, tr, k = self.services, self.runner, self.tr, self.services.settings.kiosk
        self.home_vm = HomeViewModel(
            tr, r, schedule=s.schedule, clock=s.clock, program=lambda: s.desk.upcoming(1)
        )
        self.search_vm = SearchViewModel(tr, r, search=s.search, debounce_s=k.search_debounce_s)
        self.item_vm = ItemViewModel(tr, r, item=s.item, plan=s.plan)
        today = lambda: s.clock().date()  # noqa: E731
        change_pin = s.change_pin if s.pin_changeable else None
        self.account_vm = AccountViewModel(
            tr,
            r,
            account=s.account,
            today=today,
            change_pin=change_pin,
            send_receipt=s.send_receipt if s.receipts else None,
            library=s.settings.site.name,
        )
        self.program_vm = ProgramViewModel(
            tr,
            r,
            desk=s.desk,
            identify=s.identify,
            clock=s.clock,
            tz=s.schedule.timezone,
            days=k.program_days,
            send_receipt=s.send_receipt if s.receipts else None,
            library=s.settings.site.name,
        )
        min_age = s.settings.access.min_age_unstaffed
        self.hours_vm = HoursViewModel(tr, r, schedule=s.schedule, clock=s.clock, min_age=min_age)
        messages = {n: {"da": m.da, "en": m.en} for n, m in s.settings.building.messages.items()}
        self.building_vm = BuildingViewModel(
            tr,
            r,
            messages=messages,
            equipment_group=k.equipment_group,
            schedule=s.schedule,
            clock=s.clock,
        )
        self.help_vm = HelpViewModel(
            tr,
            r,
            schedule=s.schedule,
            clock=s.clock,
            phone=k.help_phone,
            out_of_hours={"da": k.help_out_of_hours_da, "en": k.help_out_of_hours_en},
        )
        self.signup_vm = SignupViewModel(
            tr,
            r,
            verify=s.account.standing,
            record=s.sign_up,
            rules={"da": s.house_rules("da"), "en": s.house_rules("en")},
            min_age=s.settings.access.min_age_unstaffed,
            typed_cpr=bool(s.settings.access.cpr_pad_prefix),  # as the door's forgotten card
        )
        self.signup_offered = s.settings.access.signup_required
        self.poster_vm = PosterViewModel(
            tr, r, program=s.desk.upcoming, clock=s.clock, tz=s.schedule.timezone
        )
        self.power = ScreenPower(r, k.screen_off_command, k.screen_on_command)
        self.rooms_vm = RoomsViewModel(tr, r, desk=s.room_desk())
        self.viewmodels: dict[str, ViewModel] = {
            "home": self.home_vm,
            "search": self.search_vm,
            "item": self.item_vm,
            "account": self.account_vm,
            "program": self.program_vm,
            "hours": self.hours_vm,
            "closed": self.building_vm,
            "help": self.help_vm,
            "signup": self.signup_vm,
            "poster": self.poster_vm,
            "rooms": self.rooms_vm,
        }

    # --- life cycle -----------------------------------------------------------------------------

    def build(self) -> Any:
        """Load the layouts, put a screen per view model into the frame, start the timers."""
        for kv in (KV_DIR / "widgets.kv", KV_DIR / "app.kv", *(kv for _, kv in SCREENS.values())):
            Builder.unload_file(str(kv))  # a second app in one process must not double rules
            Builder.load_file(str(kv))
        root = Factory.KioskRoot()
        self.screens = root.ids.screens
        self.screens.transition = NoTransition()
        self.screen("home")  # the others are built when first shown: a faster first frame
        self.warning = Factory.IdleWarning()
        self.screen_off = Factory.ScreenOff()
        self.building_vm.bind(closed=self._closed_changed, screen_on=self._screen_power)
        self.wedge = KeyboardWedge(self.on_key_input, clock=self._mono)
        self.wedge.attach(Window)
        Window.bind(on_touch_down=self._touched)
        Clock.schedule_interval(self._tick, 0.25)
        Clock.schedule_interval(lambda _dt: self._refresh(), REFRESH_S)
        self._refresh()
        return root

    def on_start(self) -> None:
        """Listen to the live opening state and count, connect, start the serial scanner."""
        s = self.services
        s.bus.subscribe(s.topics.opening, self._on_kivy(self.home_vm.on_opening))
        s.bus.subscribe(s.topics.occupancy, self._on_kivy(self.home_vm.on_occupancy))
        s.bus.subscribe(s.topics.building, self._on_kivy(self.building_vm.on_state))
        s.bus.subscribe(s.topics.site_event, self._on_kivy(self.building_vm.on_site_event))
        s.start()
        self._start_scanner()
        self.home_vm.load_program()
        if self._first_frame is not None:
            Window.bind(on_flip=self._flipped)

    def _flipped(self, *_args: Any) -> None:
        Window.unbind(on_flip=self._flipped)
        if self._first_frame is not None:
            self._first_frame()

    def on_stop(self) -> None:
        """Stop listening, scanning and working; close the services."""
        self.wedge.detach()
        Window.unbind(on_touch_down=self._touched)
        if self.scanner is not None:
            self.scanner.stop()
        if isinstance(self.runner, Background):
            self.runner.shutdown()
        self.services.close()

    @staticmethod
    def _on_kivy(handler: Callable[[bytes], None]) -> Callable[[str, bytes], None]:
        """An MQTT callback (network thread) that runs ``handler`` on the Kivy thread."""
        return lambda _topic, payload: Clock.schedule_once(lambda _dt: handler(payload))

    def _start_scanner(self) -> None:
        k = self.services.settings.kiosk
        if not k.scanner_url:
            return
        from services.runtime.serial_reader import SerialReader

        def on_input(_reader: str, result: ReaderInput) -> None:
            Clock.schedule_once(lambda _dt: self.on_serial(result))

        def on_status(_reader: str, online: bool, problem: str | None) -> None:
            log.info("scanner %s%s", "online" if online else "offline: ", problem or "")

        self.scanner = SerialReader(
            "kiosk-scanner", "barcode", k.scanner_url, k.scanner_baudrate, on_input, on_status
        )
        self.scanner.start()

    # --- navigation -----------------------------------------------------------------------------

    def show(self, name: str) -> None:
        """Go to screen ``name``; leaving My account signs the patron out. After closing the
        closed screen stands in for Home."""
        if name == "home" and self.building_vm.closed:
            name = "closed"
        if self.current == "account" and name != "account":
            self.account_vm.reset()
        if self.current == "signup" and name != "signup":
            self.signup_vm.reset()
        if self.current == "rooms" and name != "rooms":
            self.rooms_vm.reset()
        if name == "rooms":
            self.rooms_vm.load_today()
        if name == "program":
            self.program_vm.load()
        elif name == "home":
            self.home_vm.refresh()
            self.home_vm.load_program()
        elif name in ("hours", "closed"):
            self.hours_vm.relabel()
            self.building_vm.relabel()
        elif name == "poster":
            self.poster_vm.load()
        elif name == "help":
            self._before_help = self.current if self.current != "help" else "home"
            self.help_vm.relabel()
        self.screen(name)
        self.screens.current = self.current = name

    def screen(self, name: str) -> Screen:
        """The screen ``name``, built on first use."""
        if not self.screens.has_screen(name):
            screen_class = SCREENS[name][0]
            self.screens.add_widget(screen_class(name=name, vm=self.viewmodels[name]))
        return self.screens.get_screen(name)

    def reserve_item(self) -> None:
        """Reserve the title on screen: My account places it, after card and PIN if need be."""
        self.account_vm.want(self.item_vm.record_id, self.item_vm.title)
        self.show("account")

    def back_from_help(self) -> None:
        """Back to the screen that asked for help."""
        self.show(getattr(self, "_before_help", "home"))

    def _closed_changed(self, _vm: Any, closed: bool) -> None:
        """Closing: whoever is at the kiosk is signed out; opening again: Home."""
        if closed or self.current == "closed":
            self.show("home")

    def _screen_power(self, _vm: Any, on: bool) -> None:
        """The equipment group switched: the screen's command, and the window black meanwhile."""
        self.power.set(on)
        if on:
            self.screen_off.dismiss(animation=False)
            self.guard.touch(self._mono())
        elif self.screen_off.parent is None:
            self.reset_all()  # nobody's account stays behind a dark screen
            self.screen_off.open(animation=False)

    def open_item(self, record_id: str) -> None:
        """Show one title from the result list."""
        self.item_vm.open(record_id)
        self.show("item")

    def toggle_language(self) -> None:
        """Dansk <-> English."""
        self.tr.toggle()
        self._refresh()

    def toggle_large_text(self) -> None:
        """Large text and high contrast on or off."""
        self.theme.toggle()

    # --- input ----------------------------------------------------------------------------------

    def on_key_input(self, result: KeyInput) -> None:
        """Typing and scans from a keyboard-wedge scanner (or a keyboard)."""
        self.guard.touch(self._mono())
        if isinstance(result, Scanned):
            self.on_scan(result.text)
        elif isinstance(result, Typed):
            if self.current == "search":
                self.search_vm.type_text(result.text)
            elif self.current in ("account", "rooms"):
                for char in result.text:
                    self._keyed_vm().key(char)
            elif self.current == "signup":
                for char in result.text:
                    self.signup_vm.key(char)
        elif isinstance(result, Pressed):
            self._pressed(result.key)

    def _pressed(self, key: str) -> None:
        if self.current == "search":
            query = self.search_vm.query
            if key == "enter" and scan_target("search", query, program_takes_it=False) == "account":
                # A card number keyed in (or a scanner slower than any classifier) is a card.
                self.search_vm.key("clear")
                self.on_scan(query)
                return
            self.search_vm.key("backspace") if key == "backspace" else self.search_vm.search_now()
        elif self.current in ("account", "rooms"):
            self._keyed_vm().key("backspace" if key == "backspace" else "ok")
        elif self.current == "signup":
            self.signup_vm.key("backspace" if key == "backspace" else "ok")

    def _keyed_vm(self) -> AccountViewModel | RoomsViewModel:
        return self.rooms_vm if self.current == "rooms" else self.account_vm

    def on_serial(self, result: ReaderInput) -> None:
        """A line from the serial scanner; a garbled one counts as an unrecognised card."""
        self.guard.touch(self._mono())
        self.on_scan(result.credential.number if isinstance(result, CardRead) else "")

    def on_scan(self, text: str) -> None:
        """A scan goes where the patron meant it (``input.scan_target``): an ISBN to Search, a
        card to My account or to the event waiting for it; never into the search box."""
        if self.current == "signup" and self.signup_vm.step == "scan":
            self.signup_vm.scan(text)  # the card that accepts the house rules
            return
        target = scan_target(self.current, text, program_takes_it=self.program_vm.wants_card)
        if self.current == "rooms" and target == "account":
            self.rooms_vm.scan(text)  # booking a room: the card is the booker's
        elif target == "search":
            self.search_vm.query = text.strip()
            self.show("search")
        elif target == "program":
            self.program_vm.scan(text)
        else:
            if self.current != "account":
                self.show("account")
            self.account_vm.scan(text)

    # --- privacy --------------------------------------------------------------------------------

    def _touched(self, *_args: Any) -> None:
        self.guard.touch(self._mono())
        if self.current == "poster":
            self.show("home")  # a patron has come: the poster gives way
        # the touch goes on to the widgets: a binding that returns None does not consume it

    def still_here(self) -> None:
        """The patron answered the warning."""
        self.guard.touch(self._mono())
        self.warning.dismiss(animation=False)

    def _tick(self, _dt: float) -> None:
        now = self._mono()
        poster_after = self.services.settings.kiosk.poster_after_s
        if self.current == "home" and poster_after and self.guard.quiet(now) >= poster_after:
            self.reset_all("poster")  # whoever toggled English or large text has gone too
            return
        state = self.guard.phase(now)
        if state.phase is Phase.ACTIVE:
            if self.warning.parent is not None:
                self.warning.dismiss(animation=False)
        elif state.phase is Phase.WARNING:
            if self.current in ("home", "closed", "poster"):
                return  # nothing to protect on Home; the reset will still tidy up
            self.idle_text = self.tr._("idle.reset_in", n=state.seconds_left)
            if self.warning.parent is None:
                self.warning.open(animation=False)
        elif self.current != "poster":  # the poster shows nobody's data: it stays up
            self.reset_all()

    def reset_all(self, to: str = "home") -> None:
        """The patron has gone: every screen and view model back to empty, Danish, normal text;
        then Home (or the idle poster)."""
        self.warning.dismiss(animation=False)
        self.show(to)
        for viewmodel in self.viewmodels.values():
            viewmodel.reset()
        k = self.services.settings.kiosk
        self.tr.lang, self.theme.large = k.language, k.large_text
        for screen in self.screens.screens:
            for widget in screen.walk():
                if isinstance(widget, RecycleView):
                    widget.view_adapter.invalidate()  # recycled rows keep their old texts
        if to == "poster":
            self.poster_vm.load()  # the reset above dropped the load that show() started
        else:
            self.guard.touch(self._mono())
        self._refresh()

    def _refresh(self) -> None:
        self.clock_text = self.tr.catalog.time_text(self.services.clock())
        self.home_vm.refresh()
        self.runner.run(self.services.tidy, lambda _: None, _tidy_failed)
        self._refreshes += 1
        if self._refreshes % PROGRAM_EVERY == 0:
            self.home_vm.load_program()


def _tidy_failed(error: BaseException) -> None:
    log.error("PIN failure retention failed: %s", error)
