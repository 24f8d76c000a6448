"""Reading MARC files record by record, each with its position, so a bad record is named and skipped

ISO 2709 is split on the record terminator (0x1D) here rather than by the length in each leader,
as ``pymarc.MARCReader`` does: a record whose leader lies about its length then costs that one
record, not every record after it. Each chunk is parsed by ``iso2709.parse_record``, in the
encoding its bytes show (``encoding.py``); DBC's padding after the last record is a notice.
MARCXML (and danMARC2's marcxchange) is parsed incrementally by a ``pymarc.XmlHandler``; XML
that is not well-formed cannot be resynchronised, so it fails the whole import with its line and
column.
"""

from __future__ import annotations

import xml.sax
from collections.abc import Iterator
from dataclasses import replace
from typing import Any, BinaryIO

from pymarc import Field, Leader, PymarcException, Record
from pymarc.marcxml import XmlHandler

from services.catalogue.encoding import codec_name
from services.catalogue.iso2709 import RECORD_TERMINATOR, parse_record
from services.catalogue.marc import Fields, Heads, record_from_fields, record_from_marc
from services.store.catalogue import Entry, FileNotice, ImportFailed, Problem, RecordError

_PADDING = b"\x1a\x19\x00 \r\n\t"
_BLOCK = 1 << 20
_XML_NAMESPACES = {None, "", "http://www.loc.gov/MARC21/slim", "info:lc/xmlns/marcxchange-v1"}


def looks_like_xml(head: bytes) -> bool:
    """True if a file starting with ``head`` is XML (after a byte-order mark and white space)."""
    return head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<")


def read_marc(stream: BinaryIO, encoding: str | None = None) -> Iterator[Entry]:
    """Records of a MARC file, ISO 2709 or MARCXML by its first bytes; corrupt ones as Problems.

    ``encoding`` (utf-8, latin-1, marc-8) overrides the per-record detection of ISO 2709 text;
    XML declares its own.
    """
    if encoding is not None:
        codec_name(encoding)  # an unknown name fails the import before anything is read
    head = stream.read(64)
    stream.seek(0)
    if looks_like_xml(head):
        yield from iter_marcxml(stream)
    else:
        yield from iter_iso2709(stream, encoding)


def _chunks(stream: BinaryIO) -> Iterator[tuple[int, bytes]]:
    """(byte offset, record bytes with terminator) for each record; a truncated tail comes last."""
    pending, offset = b"", 0
    while block := stream.read(_BLOCK):
        pending += block
        parts = pending.split(RECORD_TERMINATOR)
        pending = parts.pop()
        for part in parts:
            # Line breaks between records are common in files that passed through an editor.
            stripped = part.lstrip(b"\r\n ")
            start = offset + len(part) - len(stripped)
            offset += len(part) + 1
            if stripped:
                yield start, stripped + RECORD_TERMINATOR
    if pending.strip():
        yield offset + len(pending) - len(pending.lstrip()), pending.lstrip()


def is_padding(tail: bytes) -> bool:
    """True for what DBC and old DOS tools leave after the last record: 0x1A, 0x19, NUL, space."""
    return not tail.strip(_PADDING)


def iter_iso2709(stream: BinaryIO, encoding: str | None = None) -> Iterator[Entry]:
    """Each record of an ISO 2709 file as an ``ImportedRecord``, or a ``Problem`` naming it."""
    heads: Heads = {}
    for number, (offset, chunk) in enumerate(_chunks(stream), start=1):
        position = f"record {number} (byte {offset})"
        if not chunk.endswith(RECORD_TERMINATOR) and is_padding(chunk):
            yield FileNotice(
                f"byte {offset}", f"{len(chunk)} bytes of padding after the last record, ignored"
            )
            continue
        try:
            raw = parse_record(chunk, encoding)
            record = record_from_fields(Fields(raw.leader, raw.fields), position, heads)
        except RecordError as exc:
            yield Problem(position, str(exc))
            continue
        if raw.warnings:
            record = replace(record, warnings=(*raw.warnings, *record.warnings))
        yield record


class _Handler(XmlHandler):
    """pymarc's SAX handler plus positions, marcxchange, and danMARC2 001-009 with subfields."""

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]  # pymarc leaves it unannotated
        self.done: list[tuple[int, Record | None, str]] = []
        self._locator: Any = None
        self._line = 0
        self._error = ""

    def setDocumentLocator(self, locator: Any) -> None:
        """Keep the locator, for the line on which each record starts."""
        self._locator = locator

    def startElementNS(self, name: tuple[str | None, str], qname: Any, attrs: Any) -> None:
        """Note where a record starts; other XML (an OAI-PMH envelope) passes by."""
        if name[0] not in _XML_NAMESPACES:
            return
        if name[1] == "record":
            self._line = self._locator.getLineNumber() if self._locator else 0
            self._error = ""
        super().startElementNS(name, qname, attrs)  # type: ignore[no-untyped-call]

    def endElementNS(self, name: tuple[str | None, str], qname: Any) -> None:
        """Finish a record, keeping a danMARC2 001 *a that pymarc would drop."""
        if name[0] not in _XML_NAMESPACES:
            return
        field: Field | None = self._field
        if name[1] == "subfield" and field is not None and field.control_field:
            # danMARC2 writes 001-009 as datafields: keep their subfields as ISO 2709 would.
            field.data = (field.data or "") + f"\x1f{self._subfield_code}{''.join(self._text)}"
            self._text = []
            return
        if name[1] == "record":
            self.done.append((self._line, self._record, self._error))
            self._record = None
            return
        try:
            super().endElementNS(name, qname)  # type: ignore[no-untyped-call]
        except (PymarcException, ValueError) as exc:
            self._error = self._error or f"{name[1]}: {type(exc).__name__} {exc}".strip()

    def process_record(self, record: Record) -> None:
        """Records are collected in ``endElementNS``; pymarc's list is not used."""


def iter_marcxml(stream: BinaryIO) -> Iterator[Entry]:
    """Each record of a MARCXML or marcxchange file, or a ``Problem`` naming the record and line."""
    handler = _Handler()
    parser: Any = xml.sax.make_parser()
    parser.setFeature(xml.sax.handler.feature_namespaces, True)
    parser.setContentHandler(handler)
    # Fed block by block, expat never hands the handler a locator; the parser is one itself.
    handler.setDocumentLocator(parser)
    number = 0
    try:
        while block := stream.read(_BLOCK // 16):
            parser.feed(block)
            for line, record, error in handler.done:
                number += 1
                yield _xml_entry(record, error, f"record {number} (line {line})")
            handler.done.clear()
        parser.close()
    except xml.sax.SAXParseException as exc:
        raise ImportFailed(
            f"line {exc.getLineNumber()}, column {exc.getColumnNumber()}: "
            f"not well-formed XML ({exc.getMessage()}); nothing imported"
        ) from None


def _xml_entry(record: Record | None, error: str, position: str) -> Entry:
    if record is None or error:
        return Problem(position, error or "empty record")
    if not isinstance(record.leader, Leader):
        record.leader = Leader(" " * 24)
    try:
        return record_from_marc(record, position)
    except RecordError as exc:
        return Problem(position, str(exc))
