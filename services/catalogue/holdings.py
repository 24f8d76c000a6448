"""Copies from a record's holdings fields: danMARC2 096, MARC21 852 and Koha's 952.

danMARC2 leaves the subfields of the local field 096 to the library, apart from *u (availability
text), *r (code: a = not for loan) and *z (library number). aabent reads one 096 per copy:
*x barcode (eksemplar), *f department (fagsal/filial), *a shelf mark plus *b (DBC's own exports
put the whole shelf mark in *b: "65.01 Bor"), *u status text ("Udlånes ikke"), *v due date.
MARC21 852 (LoC holdings): $b sublocation (department), $k prefix, $h classification, $i item
part and $m suffix make the call number, $p barcode, $z public note ("not for loan").
Koha's 952: $p barcode, $c shelving location, $o call number, $q date due, $7 not for loan,
$1 lost.

Real exports often give a holding without a barcode (096 with no *x, 852 and 952 with no $p);
each still is a copy the patron can find, keyed ``<record id>/<tag>-<n>`` so a re-import of the
same file keys it the same way.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from services.store.catalogue import (
    CopyStatus,
    ImportedCopy,
    RecordError,
    check_id,
    parse_due_date,
    parse_status,
)

Holding = dict[str, str]


def _barcode(given: str, record_id: str, tag: str, number: int) -> str:
    if given:
        return check_id(given, f"copy barcode ({tag})")
    return check_id(f"{record_id}/{tag}-{number}", f"copy key ({tag})")


def _status(text: str, due_date: date | None, warnings: list[str], tag: str) -> CopyStatus:
    try:
        return parse_status(text, due_date)
    except RecordError:
        warnings.append(f"{tag}: status {text!r} is not known; the copy is shown as available")
        return CopyStatus.ON_LOAN if due_date else CopyStatus.AVAILABLE


def danmarc_copies(
    record_id: str, fields: Iterable[Holding], title_shelf: str, warnings: list[str]
) -> tuple[ImportedCopy, ...]:
    """One copy per danMARC2 096."""
    copies = []
    for number, field in enumerate(fields, start=1):
        due = parse_due_date(field["v"]) if "v" in field else None
        if field.get("r") == "a":
            status = CopyStatus.NOT_FOR_LOAN
        else:
            status = _status(field.get("u", ""), due, warnings, "096 *u")
        shelf = " ".join(filter(None, (field.get("a", ""), field.get("b", ""))))
        copies.append(
            ImportedCopy(
                barcode=_barcode(field.get("x", ""), record_id, "096", number),
                department=field.get("f", ""),
                shelf_mark=shelf or title_shelf,
                status=status,
                due_date=due,
                status_given="r" in field or "u" in field or "v" in field,
            )
        )
    return tuple(copies)


def _holding_852(record_id: str, field: Holding, number: int, title_shelf: str) -> ImportedCopy:
    call = " ".join(filter(None, (field.get(code, "") for code in "khim")))
    note, given = field.get("z", ""), True
    try:
        status = parse_status(note) if note else CopyStatus.AVAILABLE
    except RecordError:
        status = CopyStatus.AVAILABLE  # a public note is free text; only known words count
        given = False
    given = given and bool(note)
    return ImportedCopy(
        barcode=_barcode(field.get("p", ""), record_id, "852", number),
        department=field.get("b", "") or field.get("c", ""),
        shelf_mark=call or title_shelf,
        status=status,
        status_given=given,
    )


def _item_952(record_id: str, field: Holding, number: int, title_shelf: str) -> ImportedCopy:
    due = parse_due_date(field.get("q", "")[:10])
    if field.get("1", "0") not in ("", "0"):
        status = CopyStatus.MISSING
    elif field.get("7", "0") not in ("", "0"):
        status = CopyStatus.NOT_FOR_LOAN
    else:
        status = CopyStatus.ON_LOAN if due else CopyStatus.AVAILABLE
    return ImportedCopy(
        barcode=_barcode(field.get("p", ""), record_id, "952", number),
        department=field.get("c", ""),
        shelf_mark=field.get("o", "") or title_shelf,
        status=status,
        due_date=due,
    )


def marc21_copies(
    record_id: str,
    holdings: Iterable[Holding],
    items: Iterable[Holding],
    title_shelf: str,
    warnings: list[str],
) -> tuple[ImportedCopy, ...]:
    """One copy per 852 holding and per Koha 952 item."""
    del warnings  # 852 and 952 carry no free-text status that could be unknown
    return (
        *(_holding_852(record_id, f, n, title_shelf) for n, f in enumerate(holdings, start=1)),
        *(_item_952(record_id, f, n, title_shelf) for n, f in enumerate(items, start=1)),
    )
