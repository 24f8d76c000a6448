"""Folding: the one alphabet the index and the patron's query meet in."""

from __future__ import annotations

import random

import pytest

from services.catalogue import folding
from services.catalogue.folding import (
    display_name,
    fold,
    invert_name,
    isbn13_to_10,
    isbn_keys,
    looks_like_isbn,
    normalise_isbn,
    tokens,
)


@pytest.mark.parametrize(
    ("spelling", "other"),
    [
        ("Ålborg", "Aalborg"),
        ("ÆRØ", "aeroe"),
        ("Øresund", "Oeresund"),
        ("Blædel", "Blaedel"),
        ("Génsbøl", "gensboel"),
        ("Müller", "Muller"),
        ("Jäger", "jæger"),
        ("Göteborg", "gøteborg"),
    ],
)
def test_danish_letters_accents_and_case_fold_to_one_spelling(spelling: str, other: str) -> None:
    assert fold(spelling) == fold(other)


def test_folding_keeps_words_and_drops_punctuation() -> None:
    assert tokens("Kvinden i buret : Afdeling Q (1)") == [
        "kvinden",
        "i",
        "buret",
        "afdeling",
        "q",
        "1",
    ]
    assert fold("Adler-Olsen, Jussi") == "adler olsen jussi"


def test_an_isbn_10_and_its_isbn_13_normalise_to_the_same_number() -> None:
    assert normalise_isbn("87-567-9039-2") == "9788756790390"
    assert normalise_isbn("978-87-567-9039-0") == "9788756790390"
    assert normalise_isbn("9788756790390 (hf.)") == "9788756790390"


def test_an_isbn_10_check_digit_x_is_accepted_in_either_case() -> None:
    assert normalise_isbn("0-8044-2957-x") == normalise_isbn("0-8044-2957-X") == "9780804429573"


@pytest.mark.parametrize("wrong", ["87-567-9039-5", "978-87-567-9039-1", "12345", "", "abc"])
def test_an_isbn_with_a_wrong_check_digit_or_shape_is_not_normalised(wrong: str) -> None:
    assert normalise_isbn(wrong) is None


def test_the_index_keys_of_an_isbn_are_its_13_and_10_digit_forms() -> None:
    assert isbn_keys("9788756790390") == ["9788756790390", "8756790392"]
    assert isbn13_to_10("9791234567896") is None
    assert isbn_keys("9791234567896") == ["9791234567896"]


@pytest.mark.parametrize(
    ("query", "isbn"),
    [("978-87", True), ("87-567-9039-2", True), ("1984", True), ("kvinden", False), ("12", False)],
)
def test_a_query_of_digits_and_hyphens_looks_like_an_isbn(query: str, isbn: bool) -> None:
    assert looks_like_isbn(query) is isbn


def test_names_turn_between_heading_and_spoken_order() -> None:
    assert invert_name("Jussi Adler-Olsen") == "Adler-Olsen, Jussi"
    assert invert_name("Adler-Olsen, Jussi") == "Adler-Olsen, Jussi"
    assert invert_name("Platon") == "Platon"
    assert display_name("Andersen, H.C.") == "H.C. Andersen"
    assert display_name("Dansk Sprognævn") == "Dansk Sprognævn"


def test_latin1_text_folds_as_unicode_folding_does() -> None:
    # ``fold`` reads Latin-1 text through a table of single characters; that must give what
    # the general Unicode folding gives, for every pair of characters and for mixed text.
    def by_unicode(text: str) -> str:
        lowered = folding._DOUBLED.sub("e", folding._unicode_fold(text))
        return " ".join(folding._NON_WORD.sub(" ", lowered).split())

    latin1 = [chr(n) for n in range(256)]
    pairs = [a + b for a in latin1 for b in latin1]
    assert [fold(text) for text in pairs] == [by_unicode(text) for text in pairs]
    rng = random.Random(15)
    texts = ["".join(rng.choices(latin1 + list("aeo eeÆØÅ"), k=12)) for _ in range(5000)]
    texts += ["Høeg, Peter", "Brøndum-Søndergaard", "Straße µ-metal ½ år", "Ærø á la carte",
              "Достоевский", "ﬁre ʻŌlelo", "Ǿen Ḗe"]  # fmt: skip
    assert [fold(text) for text in texts] == [by_unicode(text) for text in texts]
