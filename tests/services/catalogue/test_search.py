"""Search as a Danish patron types it, with the same answers on SQLite FTS5 and PostgreSQL."""

from __future__ import annotations

from datetime import date

import pytest

from services.catalogue import fulltext
from services.catalogue.search import RecordNotFound, parse_query
from services.store.catalogue import CopyStatus
from tests.services.catalogue.conftest import Catalogue

HEADER = (
    "id,title,subtitle,author,year,isbn,dk5,subjects,abstract,barcode,department,status,due_date\n"
)
ROWS = [
    "1,Kvinden i buret,,Jussi Adler-Olsen,2007,978-87-567-9039-0,sk,krimi; København,"
    "Carl Mørck får Afdeling Q.,B1,Voksen,,",
    "1,,,,,,,,,B2,Voksen,udlånt,2025-03-31",
    "1,,,,,,,,,B3,Magasin,reserveret,",
    "2,Ålborgs gamle huse,,Inger Mølgaard,1975,,71.8,arkitektur,,B4,Voksen,,",
    "3,Nordkraft,,Jakob Ejersbo,2002,,sk,Aalborg; narkotika,,B5,Voksen,,",
    "4,Ærø,Øen og dens folk,Poul Ørum,1984,87-7245-000-2,46.5,lokalhistorie,,,,,",
    "5,Fasandræberne,,Jussi Adler-Olsen,2008,,sk,krimi,,B6,Voksen,,",
    "6,Den afrikanske farm,,Karen Blixen,1937,,99.4,Kenya; erindringer,,B7,Voksen,,",
    "7,Café Paradis,,Élise Muñoz,2019,,sk,caféer,,B8,Voksen,,",
    "8,Om tid,,Peter Bieri,1999,0-8044-2957-X,11.5,filosofi,,,,,",
]


@pytest.fixture
def loaded(catalogue: Catalogue) -> Catalogue:
    report = catalogue.load(HEADER + "\n".join(ROWS) + "\n")
    assert not report.skipped and not report.warnings
    return catalogue


@pytest.mark.parametrize("query", ["Aalborg", "aalborg", "Ålborg", "ÅLBORG", "aalb", "ålb"])
def test_aa_and_aa_ring_find_each_other_in_titles_and_subjects(
    loaded: Catalogue, query: str
) -> None:
    assert loaded.titles(query) == ["Ålborgs gamle huse", "Nordkraft"]


@pytest.mark.parametrize("query", ["Ærø", "aeroe", "AERØ", "ærö"])
def test_ae_oe_and_the_letters_find_each_other(loaded: Catalogue, query: str) -> None:
    assert loaded.titles(query) == ["Ærø"]


def test_case_and_accents_do_not_matter(loaded: Catalogue) -> None:
    assert loaded.titles("cafe paradis") == ["Café Paradis"]
    assert loaded.titles("elise munoz") == ["Café Paradis"]


@pytest.mark.parametrize(
    "query", ["Olsen, Jussi Adler", "Adler-Olsen, Jussi", "Jussi Adler-Olsen", "jussi olsen"]
)
def test_an_author_is_found_in_either_name_order(loaded: Catalogue, query: str) -> None:
    assert sorted(loaded.titles(query)) == ["Fasandræberne", "Kvinden i buret"]


@pytest.mark.parametrize("query", ["kvi", "kvinden i bur", "bur kvi", "adler kvin"])
def test_words_match_as_prefixes_while_typing(loaded: Catalogue, query: str) -> None:
    assert loaded.titles(query) == ["Kvinden i buret"]


@pytest.mark.parametrize(
    "query",
    ["9788756790390", "978-87-567-9039-0", "87-567-9039-2", "8756790392", " 978 87 567 9039 0 "],
)
def test_an_isbn_10_or_13_with_or_without_hyphens_finds_the_title(
    loaded: Catalogue, query: str
) -> None:
    assert loaded.titles(query) == ["Kvinden i buret"]


def test_an_isbn_13_finds_a_title_catalogued_with_its_isbn_10(loaded: Catalogue) -> None:
    assert loaded.titles("978-87-7245-000-1") == ["Ærø"]


@pytest.mark.parametrize("query", ["0-8044-2957-x", "080442957X", "978-0-8044-2957-3", "0-8044-29"])
def test_an_isbn_10_ending_in_x_is_found_whole_or_in_part(loaded: Catalogue, query: str) -> None:
    assert loaded.titles(query) == ["Om tid"]


def test_a_partial_isbn_matches_as_a_prefix(loaded: Catalogue) -> None:
    assert loaded.titles("978-87-567") == ["Kvinden i buret"]


def test_a_title_word_ranks_above_an_author_word_above_a_subject_word(catalogue: Catalogue) -> None:
    catalogue.load(
        "id,title,author,subjects\n"
        "s,Havets dyr,Lars Holm,Rosen\n"
        "a,Haven om sommeren,Mette Rosen,\n"
        "t,Rosen,Karen Blixen,\n"
    )
    assert catalogue.titles("rosen") == ["Rosen", "Haven om sommeren", "Havets dyr"]


def test_a_hit_has_author_year_isbn_shelf_mark_and_availability(loaded: Catalogue) -> None:
    [hit] = loaded.search("kvinden i buret")
    assert (hit.record_id, hit.author, hit.year, hit.isbn) == (
        "1", "Jussi Adler-Olsen", 2007, "9788756790390",
    )  # fmt: skip
    assert hit.shelf_mark == "Adler-Olsen, Jussi"
    assert (hit.available, hit.copies, hit.availability) == (1, 3, "1 of 3 available")


def test_a_title_without_copies_shows_none_available(loaded: Catalogue) -> None:
    [hit] = loaded.search("aerø")
    assert (hit.available, hit.copies) == (0, 0)


def test_the_limit_caps_the_hits(loaded: Catalogue) -> None:
    assert len(loaded.search("a", limit=3)) <= 3
    assert len(loaded.search("adler", limit=1)) == 1


@pytest.mark.parametrize("query", ["", "   ", "?!", "a"])
def test_an_empty_or_one_letter_query_finds_nothing(loaded: Catalogue, query: str) -> None:
    assert loaded.search(query) == []


def test_search_syntax_in_a_query_is_only_text(loaded: Catalogue) -> None:
    assert loaded.titles('"kvinden" * ( ) : ^ -buret') == ["Kvinden i buret"]
    assert loaded.titles("kvinden & !buret:* |") == ["Kvinden i buret"]


def test_the_detail_of_a_title_lists_every_copy_with_department_status_and_due_date(
    loaded: Catalogue,
) -> None:
    detail = loaded.item("1")
    assert (detail.title, detail.author, detail.abstract) == (
        "Kvinden i buret", "Jussi Adler-Olsen", "Carl Mørck får Afdeling Q.",
    )  # fmt: skip
    assert detail.subjects == ("krimi", "København")
    assert detail.fiction and detail.available == 1
    assert [(c.barcode, c.department, c.status, c.due_date) for c in detail.copies] == [
        ("B3", "Magasin", CopyStatus.RESERVED, None),
        ("B1", "Voksen", CopyStatus.AVAILABLE, None),
        ("B2", "Voksen", CopyStatus.ON_LOAN, date(2025, 3, 31)),
    ]
    assert {c.shelf_mark for c in detail.copies} == {"Adler-Olsen, Jussi"}


def test_non_fiction_is_shelved_by_dk5_and_author(loaded: Catalogue) -> None:
    assert loaded.item("6").shelf_mark == "99.4 Blixen"


def test_an_unknown_record_id_is_not_found(loaded: Catalogue) -> None:
    with pytest.raises(RecordNotFound, match="'999'"):
        loaded.item("999")


def test_a_query_becomes_folded_prefix_terms() -> None:
    assert [(t.word, t.prefix, t.isbn_only) for t in parse_query("Ålborg Ærø")] == [
        ("aalborg", True, False), ("aeroe", True, False),
    ]  # fmt: skip
    assert [(t.word, t.prefix, t.isbn_only) for t in parse_query("87-567-9039-2")] == [
        ("9788756790390", False, True),
    ]  # fmt: skip


def test_when_more_titles_match_than_are_ranked_the_newest_are_ranked(
    catalogue: Catalogue, monkeypatch: pytest.MonkeyPatch
) -> None:
    catalogue.load("id,title,subjects\n1,Havet,\n2,Om havet,\n3,Noget,havet\n4,Havet igen,\n")
    monkeypatch.setattr(fulltext, "CANDIDATES", 2)
    assert catalogue.titles("havet") == ["Havet igen", "Noget"]
    monkeypatch.setattr(fulltext, "CANDIDATES", 10)
    assert catalogue.titles("havet")[-1] == "Noget"
