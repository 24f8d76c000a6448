"""Danish search folding: one spelling for æ/ae, ø/oe, å/aa, accents, ISBNs and name order.

The same functions fold the catalogue at import and the patron's query at search time, so the
index and the query always meet in one alphabet: ``"Ålborg"`` and ``"Aalborg"`` both become
``aalborg``, ``"Ærø"`` becomes ``aeroe``. Folding to the digraph (and not the other way) is the
choice that needs no dictionary: "aa" in "Aalborg" may be an old spelling of "å", but "ae" in
"Michael" is not an "æ", and mapping the letter to the digraph is right in both cases. Where
the digraph meets the same vowel ("Høeg" -> "hoeeg"), the doubled vowel is one: an English
keyboard writes "Hoeg".

Every script is kept: the folding is Unicode's (NFKD, then case folding), dropping only the
combining marks (accents, Arabic short vowels), so Cyrillic, Arabic, Persian and Greek titles
are searchable by their own words.
"""

from __future__ import annotations

import operator
import re
import unicodedata

# Letters that Danish sorts and spells as digraphs; German/Swedish ä/ö are filed as æ/ø in
# Danish libraries (Dansk Standard 377), so they fold the same way.
_LETTERS = str.maketrans(
    {
        "æ": "ae", "ø": "oe", "å": "aa", "ä": "ae", "ö": "oe", "ß": "ss",
        "ð": "d", "þ": "th", "ł": "l", "đ": "d", "ı": "i", "œ": "oe",
    }
)  # fmt: skip
_NON_WORD = re.compile(r"[\W_]+")
_DOUBLED = re.compile(r"(?<=[ao])ee")
_ISBN_CHARS = re.compile(r"[\s\-‐‑–]+")
_ISBN_SHAPE = re.compile(r"^(?:\d{9}[\dX]|\d{13})$")
_ISBN10_WEIGHTS = (10, 9, 8, 7, 6, 5, 4, 3, 2)


def _unicode_fold(text: str) -> str:
    # Case folding and the Danish digraphs, then accents dropped: for any script.
    lowered = text.casefold().translate(_LETTERS)
    if not lowered.isascii():
        # NFKD splits "é" into "e" + a combining accent, which is dropped here.
        lowered = unicodedata.normalize("NFKD", lowered)
        lowered = "".join(c for c in lowered if not unicodedata.combining(c)).translate(_LETTERS)
        lowered = unicodedata.normalize("NFC", lowered)
    return lowered


# Every character of ISO-8859-1 folded by itself, punctuation already a space: one translate
# folds Latin-1 text (all of danMARC2's) as ``_unicode_fold`` does, a few times faster. Each
# character folds alone there too (no Latin-1 letter composes with the next once the accents
# are gone); tests/services/catalogue/test_folding.py checks every pair.
_LATIN1 = str.maketrans({chr(n): _NON_WORD.sub(" ", _unicode_fold(chr(n))) for n in range(256)})


def fold(text: str) -> str:
    """Case-fold ``text``, spell æ/ø/å as ae/oe/aa, drop accents, keep words split by one space."""
    lowered = text.translate(_LATIN1)
    # Characters beyond Latin-1 are not in the table and stay as they were (as does "µ",
    # whose fold is Greek): those texts take the general way.
    if not lowered.isascii():
        lowered = _NON_WORD.sub(" ", _unicode_fold(text))
    if "ee" in lowered:
        lowered = _DOUBLED.sub("e", lowered)
    return " ".join(lowered.split())


def tokens(text: str) -> list[str]:
    """The folded words of ``text``: what the index stores and a query matches."""
    return fold(text).split()


def _isbn10_check(first9: str) -> str:
    # Weighted sum of the digits from their character codes (ASCII "0" is 48): no int() per
    # digit, as every imported ISBN passes here. The weights 10..2 add up to 54.
    total = sum(map(operator.mul, _ISBN10_WEIGHTS, first9.encode("ascii"))) - 48 * 54
    check = (11 - total % 11) % 11
    return "X" if check == 10 else str(check)


def _isbn13_check(first12: str) -> str:
    # As above: six digits weigh 1 and six weigh 3, so the codes carry 48 * (6 + 18) too many.
    codes = first12.encode("ascii")
    total = sum(codes[0::2]) + 3 * sum(codes[1::2]) - 48 * 24
    return str((10 - total % 10) % 10)


def complete_isbn13(first12: str) -> str:
    """Twelve digits plus their ISBN-13 check digit (for generated test and demo data)."""
    return first12 + _isbn13_check(first12)


def compact_isbn(raw: str) -> str:
    """``raw`` without hyphens and spaces, X upper-cased: ``87-02-12345-x`` -> ``870212345X``."""
    return _ISBN_CHARS.sub("", raw.strip()).upper()


def normalise_isbn(raw: str) -> str | None:
    """The ISBN-13 (13 digits, no hyphens) of an ISBN-10 or ISBN-13, or None if it is not valid.

    Catalogue fields often carry a qualifier after the number ("87-02-12345-6 (hf.)"), so only
    the first word counts. The check digit is verified: a mistyped ISBN is better reported
    than silently matched to somebody else's book.
    """
    words = raw.strip().split(maxsplit=1)
    if not words:
        return None
    isbn = compact_isbn(words[0])
    if not _ISBN_SHAPE.match(isbn):
        return None
    if len(isbn) == 10:
        if _isbn10_check(isbn[:9]) != isbn[9]:
            return None
        core = "978" + isbn[:9]
        return core + _isbn13_check(core)
    if _isbn13_check(isbn[:12]) != isbn[12]:
        return None
    return isbn


def isbn13_to_10(isbn13: str) -> str | None:
    """The ISBN-10 of a 978- ISBN-13, or None for 979- numbers (which have no ISBN-10)."""
    if len(isbn13) != 13 or not isbn13.startswith("978"):
        return None
    return isbn13[3:12] + _isbn10_check(isbn13[3:12])


def isbn_keys(isbn13: str) -> list[str]:
    """Index words for one ISBN-13: itself and its ISBN-10, so either edition number finds it."""
    isbn10 = isbn13_to_10(isbn13)
    return [isbn13, isbn10.lower()] if isbn10 else [isbn13]


def looks_like_isbn(query: str) -> bool:
    """True if ``query`` is an ISBN being typed: digits (and hyphens, a final X), 4 or more."""
    compact = compact_isbn(query)
    return len(compact) >= 4 and compact.rstrip("X").isdigit() and compact.count("X") <= 1


def split_name(heading: str) -> tuple[str, str]:
    """``"Adler-Olsen, Jussi"`` -> ``("Adler-Olsen", "Jussi")``; no comma: all of it is surname."""
    surname, _, forenames = heading.partition(",")
    return surname.strip(), forenames.strip()


def invert_name(name: str) -> str:
    """``"Jussi Adler-Olsen"`` -> ``"Adler-Olsen, Jussi"``; a heading with a comma is kept."""
    name = " ".join(name.split())
    if "," in name or " " not in name:
        return name
    forenames, surname = name.rsplit(" ", 1)
    return f"{surname}, {forenames}"


def display_name(heading: str) -> str:
    """``"Adler-Olsen, Jussi"`` -> ``"Jussi Adler-Olsen"``: how a patron says the name."""
    surname, forenames = split_name(heading)
    return f"{forenames} {surname}".strip() if forenames else surname
