"""Search as you type and one title with its place on the floor plan, over the demo catalogue."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine

from kiosk.background import Inline
from kiosk.floorplan import load_floorplan
from kiosk.i18n import Translator
from kiosk.viewmodels.search import ItemViewModel, SearchViewModel
from services.catalogue.search import ItemDetail, Results, find, item
from services.store.engine import make_sessionmaker
from tests.kiosk.conftest import Deferred, Seeded

PLAN = load_floorplan(Path(__file__).resolve().parents[2] / "config" / "floorplan.toml")


def searcher(seeded: Seeded) -> Any:
    def run(query: str) -> Results:
        with seeded.sessions() as session:
            return find(session, query, 20)

    return run


def looker(seeded: Seeded) -> Any:
    def run(record_id: str) -> ItemDetail:
        with seeded.sessions() as session:
            return item(session, record_id)

    return run


def type_keys(vm: SearchViewModel, keys: str) -> None:
    for key in keys:
        vm.key("space" if key == " " else key)


def test_results_come_after_a_pause_in_typing(
    tr: Translator, seeded: Seeded, kivy_clock: Any
) -> None:
    vm = SearchViewModel(tr, Inline(), search=searcher(seeded), debounce_s=0.05)
    assert vm.status == "Skriv titel, forfatter eller emne"
    type_keys(vm, "kvin")
    kivy_clock.tick()
    assert vm.results == []  # still typing
    time.sleep(0.08)
    kivy_clock.tick()
    titles = [r["title"] for r in vm.results]
    assert "Kvinden i buret" in titles
    row = vm.results[titles.index("Kvinden i buret")]
    assert row["byline"] == "Jussi Adler-Olsen · 2007"
    assert row["availability"] == "2 af 4 hjemme" and row["available"]  # one lent to Karen
    assert vm.status == f"{len(titles)} titler" and len(titles) > 1


def test_a_late_answer_to_an_old_query_is_dropped(
    tr: Translator, seeded: Seeded, deferred: Deferred
) -> None:
    vm = SearchViewModel(tr, deferred, search=searcher(seeded), debounce_s=0)
    vm.type_text("kvinden")
    vm.key("clear")
    vm.type_text("fasan")
    old, new = 0, len(deferred.jobs) - 1
    deferred.finish(new)
    deferred.finish(old)
    assert [r["title"] for r in vm.results] == ["Fasandræberne"]


def test_short_queries_and_a_broken_search_say_so(tr: Translator) -> None:
    broken = make_sessionmaker(create_engine("sqlite:////nonexistent-aabent/db.sqlite"))

    def run(query: str) -> Results:
        with broken() as session:
            return find(session, query, 20)

    vm = SearchViewModel(tr, Inline(), search=run, debounce_s=0)
    vm.type_text("k")
    assert vm.status == "Skriv mindst 2 bogstaver"
    vm.type_text("v")
    assert vm.status == "Søgningen virker ikke lige nu. Spørg personalet." and vm.results == []
    vm.reset()
    assert vm.query == "" and vm.status == "Skriv titel, forfatter eller emne"


def test_a_title_shows_where_a_copy_on_the_shelf_stands(tr: Translator, seeded: Seeded) -> None:
    vm = ItemViewModel(tr, Inline(), item=looker(seeded), plan=PLAN)
    vm.open("29000007")
    assert vm.title == "Kvinden i buret" and vm.availability == "2 af 4 hjemme"
    assert vm.where == "Voksen · Romaner A–F · Adler-Olsen, Jussi"
    shelf = PLAN.locate("Voksen", "Adler-Olsen, Jussi").shelf
    assert shelf is not None and vm.shelf == list(shelf.rect)
    assert vm.note == "" and "Carl Mørck" in vm.about
    statuses = {c["status"] for c in vm.copies}
    assert "På hylden" in statuses and any(s.startswith("Udlånt til") for s in statuses)
    tr.toggle()
    assert vm.availability == "2 of 4 available"
    assert "On the shelf" in {c["status"] for c in vm.copies}


def test_a_title_with_every_copy_out_says_so(tr: Translator, seeded: Seeded) -> None:
    vm = ItemViewModel(tr, Inline(), item=looker(seeded), plan=PLAN)
    vm.open("29005491")  # De måske egnede: its one copy is on loan
    assert vm.availability == "Alle er udlånt" and vm.note == "Alle eksemplarer er udlånt lige nu"
    assert vm.where.startswith("Voksen · Romaner G–L")


def test_an_unknown_title_and_reset(tr: Translator, seeded: Seeded) -> None:
    vm = ItemViewModel(tr, Inline(), item=looker(seeded), plan=PLAN)
    vm.open("does-not-exist")
    assert vm.title == "Titlen findes ikke længere" and vm.copies == []
    vm.open("29000007")
    vm.reset()
    assert (vm.title, vm.where, vm.copies, vm.shelf) == ("", "", [], [])


def test_the_count_is_of_every_title_found_not_of_the_rows_shown(
    tr: Translator, seeded: Seeded
) -> None:
    def first_two(query: str) -> Results:
        with seeded.sessions() as session:
            return find(session, query, 2)

    vm = SearchViewModel(tr, Inline(), search=first_two, debounce_s=0)
    vm.type_text("a")
    vm.type_text("a")  # "aa": every Aalborg and Århus title
    with seeded.sessions() as session:
        total = find(session, "aa", 1000).total
    assert len(vm.results) == 2 and total > 2
    assert vm.status == f"{total} titler"


def test_a_title_without_copies_says_so_plainly_and_a_copy_off_the_plan_gives_its_mark(
    tr: Translator, seeded: Seeded
) -> None:
    from services.store.catalogue import CatalogueCopy, CatalogueRecord

    with seeded.sessions.begin() as session:
        bare = CatalogueRecord(record_id="x-none", title="Højskolesangbogen")
        local = CatalogueRecord(record_id="x-096", title="Borgerbogen")
        session.add_all([bare, local])
        session.flush()
        session.add(
            CatalogueCopy(record_key=local.id, barcode="x-096/096-1", shelf_mark="65.01 Bor")
        )
    vm = ItemViewModel(tr, Inline(), item=looker(seeded), plan=PLAN)
    vm.open("x-none")
    assert vm.availability == "Biblioteket har ikke et eksemplar"
    assert vm.note == "Biblioteket har ikke et eksemplar — spørg personalet" and vm.where == ""
    vm.open("x-096")
    assert vm.where == "65.01 Bor" and vm.note == "Spørg personalet — den står ikke på hylderne"
