"""CSV downloads never hand a spreadsheet a formula (OWASP CSV injection)."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from services.recorder.stats import write_csv


@dataclass(frozen=True)
class Row:
    reason: str
    count: int


def test_cells_that_a_spreadsheet_would_run_are_quoted() -> None:
    risky = ['=HYPERLINK("http://evil/","klik")', "+1+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1"]
    out = io.StringIO()
    write_csv([Row(text, -5) for text in risky] + [Row("Pakke til hovedindgangen", 3)], out)
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    assert rows[0] == ["reason", "count"]
    assert [r[0] for r in rows[1:-1]] == ["'" + text for text in risky]
    assert rows[-1] == ["Pakke til hovedindgangen", "3"]
    assert {r[1] for r in rows[1:-1]} == {"-5"}  # a negative number is a number, not a formula
