"""Patron CSV files read and checked whole, before anything is written (pure: no database).

Columns (header names, any order): ``card_number``, ``cpr``, ``name``, ``birth_date``
(YYYY-MM-DD), ``pin``, ``status`` (a :class:`~services.core.patrons.PatronStatus` value),
``expires`` (YYYY-MM-DD) and ``guardian_consent`` (yes/no, ja/nej, 1/0). A row needs a name and
a card number or a CPR number. UTF-8 with or without a BOM; comma or semicolon (Danish Excel's
"CSV (semikolonsepareret)"). An empty cell means "not given". Every problem of every row is
reported at once, as ``FILE:LINE: column: problem``, never with the number in the cell.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import IO, TypeVar

from services.core.card_rules import card_problem, pin_problem
from services.core.cpr import normalise_cpr
from services.core.credentials import Credential, CredentialKind
from services.core.patrons import PatronStatus
from services.patrons.registry import RegistryError, birth_date_for

COLUMNS = (
    "card_number",
    "cpr",
    "name",
    "birth_date",
    "pin",
    "status",
    "expires",
    "guardian_consent",
)
_YES, _NO = {"yes", "ja", "1", "true"}, {"no", "nej", "0", "false"}
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
T = TypeVar("T")
Source = Path | str | IO[str] | IO[bytes]


class PatronImportError(ValueError):
    """The file cannot be imported; ``problems`` holds one ``FILE:LINE: column: problem`` each."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = tuple(problems)


@dataclass(frozen=True, slots=True)
class PatronRow:
    """One valid row; None in an optional field means the cell was empty."""

    line: int
    name: str
    credentials: tuple[Credential, ...]
    birth_date: date | None = None
    pin: str | None = None
    status: PatronStatus | None = None
    expires: date | None = None
    guardian_consent: bool | None = None


def _card(text: str) -> Credential:
    problem = card_problem(text)
    if problem:
        raise ValueError(problem)
    return Credential(CredentialKind.CARD, text)


def _cpr(text: str) -> Credential:
    return Credential(CredentialKind.CPR, normalise_cpr(text))  # CprError names no digits


def _date(text: str) -> date:
    try:
        if _ISO_DATE.match(text):
            return date.fromisoformat(text)
    except ValueError:
        raise ValueError("not a real date (YYYY-MM-DD)") from None
    raise ValueError("expected a date as YYYY-MM-DD")


def _pin(text: str) -> str:
    problem = pin_problem(text)
    if problem:
        raise ValueError(problem)
    return text


def _status(text: str) -> PatronStatus:
    try:
        return PatronStatus(text.lower())
    except ValueError:
        raise ValueError(f"expected one of {', '.join(PatronStatus)}") from None


def _consent(text: str) -> bool:
    if text.lower() in _YES | _NO:
        return text.lower() in _YES
    raise ValueError("expected yes/no, ja/nej or 1/0")


def _read_text(source: Source) -> tuple[str, str]:
    """``(name for messages, text)`` of a path or an open text or binary stream."""
    if isinstance(source, str | Path):
        name = str(source)
        try:
            raw: str | bytes = Path(source).read_bytes()
        except OSError as exc:
            raise PatronImportError([f"{name}: cannot read: {exc.strerror}"]) from None
    else:
        name, raw = str(getattr(source, "name", "<stream>")), source.read()
    if isinstance(raw, str):
        return name, raw.removeprefix("\ufeff")
    try:
        return name, raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise PatronImportError([f"{name}:{line}: not UTF-8 (save as 'CSV UTF-8')"]) from None


def _header(name: str, cells: list[str]) -> tuple[list[str], list[str]]:
    columns = [cell.strip().lower() for cell in cells]
    problems = [f"{name}:1: {c or '(empty)'}: unknown column" for c in columns if c not in COLUMNS]
    problems += [
        f"{name}:1: {c}: column appears twice" for c in set(columns) if columns.count(c) > 1
    ]
    if "name" not in columns:
        problems.append(f"{name}:1: name: missing column")
    if "card_number" not in columns and "cpr" not in columns:
        problems.append(f"{name}:1: card_number: missing column (card_number or cpr)")
    return columns, problems


class _Cells:
    """The cells of one row, parsed column by column; each problem is noted, not raised."""

    def __init__(self, where: str, cells: dict[str, str], problems: list[str]) -> None:
        self.where, self.cells, self.problems = where, cells, problems

    def get(self, column: str, parse: Callable[[str], T]) -> T | None:
        """The parsed cell, or None if empty or bad (a bad one is added to the problems)."""
        text = self.cells.get(column, "").strip()
        if not text:
            return None
        try:
            return parse(text)
        except ValueError as exc:
            self.problem(column, str(exc))
            return None

    def problem(self, column: str, text: str) -> None:
        """Note a problem with ``column`` of this row."""
        self.problems.append(f"{self.where}: {column}: {text}")


def _row(line: int, cells: _Cells) -> PatronRow | None:
    before = len(cells.problems)
    name = cells.get("name", str)
    if name is None:
        cells.problem("name", "missing")
    card, cpr = cells.get("card_number", _card), cells.get("cpr", _cpr)
    credentials = tuple(c for c in (card, cpr) if c is not None)
    if not cells.cells.get("card_number", "").strip() and not cells.cells.get("cpr", "").strip():
        cells.problem("card_number", "missing (a row needs card_number or cpr)")
    birth = None
    try:
        birth = birth_date_for(credentials, cells.get("birth_date", _date))
    except RegistryError:
        cells.problem("birth_date", "differs from the birth date in the CPR number")
    row = PatronRow(
        line=line,
        name=name or "",
        credentials=credentials,
        birth_date=birth,
        pin=cells.get("pin", _pin),
        status=cells.get("status", _status),
        expires=cells.get("expires", _date),
        guardian_consent=cells.get("guardian_consent", _consent),
    )
    return row if len(cells.problems) == before else None


def read_patron_rows(source: Source) -> tuple[str, list[PatronRow]]:
    """Parse and check the whole file: ``(name, rows)``, or :class:`PatronImportError`."""
    name, text = _read_text(source)
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = next(reader, None)
    if header is None:
        raise PatronImportError([f"{name}:1: empty file, expected a header line"])
    columns, problems = _header(name, header)
    if problems:
        raise PatronImportError(problems)
    rows: list[PatronRow] = []
    seen: dict[Credential, int] = {}
    line = reader.line_num + 1
    try:
        for cells in reader:
            start, line = line, reader.line_num + 1  # a quoted cell may span lines
            where = f"{name}:{start}"
            if not any(cell.strip() for cell in cells):
                continue
            if len(cells) != len(columns):
                problems.append(f"{where}: has {len(cells)} fields, the header has {len(columns)}")
                continue
            row = _row(start, _Cells(where, dict(zip(columns, cells, strict=True)), problems))
            if row is not None:
                problems += _repeats(where, row, seen)
                rows.append(row)
    except csv.Error as exc:
        problems.append(f"{name}:{line}: not readable as CSV: {exc}")
    if problems:
        raise PatronImportError(problems)
    return name, rows


def column_of(kind: CredentialKind) -> str:
    """The CSV column a credential of ``kind`` comes from."""
    return "cpr" if kind is CredentialKind.CPR else "card_number"


def _repeats(where: str, row: PatronRow, seen: dict[Credential, int]) -> list[str]:
    problems = []
    for credential in row.credentials:
        if credential in seen:
            line = seen[credential]
            problems.append(
                f"{where}: {column_of(credential.kind)}: the same number is on line {line}"
            )
        seen.setdefault(credential, row.line)
    return problems
