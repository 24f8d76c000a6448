"""Keeping the catalogue current over OAI-PMH, the standard catalogue feed.

``harvest`` asks the library system's OAI-PMH endpoint (ListRecords, MARCXML or marcxchange)
for what changed since the last complete harvest of the same endpoint, and applies it through
the same staged path as a file (``staged.run_entries``): a changed record is updated, a record
whose header says ``status="deleted"`` is withdrawn. The first harvest takes everything.
The protocol (requests, resumption tokens, retries) is oaipmh-scythe's, a maintained
fork of Sickle; each record's XML goes through the MARCXML reader a file would use.

"From" is the start of the last complete harvest, not its end, so a record changed while that
harvest ran is fetched again rather than missed (harvesting it twice is harmless). The date is
sent at day granularity, which every repository supports.

A deleted record has no metadata, only its OAI identifier; the record id is its last part
after ":" (``oai:bibliotek.dk:29000007`` -> ``29000007``), as the libraries' systems write it.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine

from services.catalogue.importer import ImportReport, Progress
from services.catalogue.marc_files import iter_marcxml
from services.catalogue.staged import last_done, run_entries
from services.store.catalogue import Entry, ImportedRecord, ImportFailed, Problem

DEFAULT_PREFIX = "marc21"


def source_name(endpoint: str, metadata_prefix: str, set_: str | None) -> str:
    """The journal's name for one feed: endpoint, format and set."""
    return f"oai:{endpoint}?metadataPrefix={metadata_prefix}" + (f"&set={set_}" if set_ else "")


def record_id_of(identifier: str) -> str:
    """The library's record id in an OAI identifier: the part after the last colon."""
    return identifier.rsplit(":", 1)[-1].strip()


def _entries(records: Iterator[Any]) -> Iterator[Entry]:
    for number, record in enumerate(records, start=1):
        identifier = record.header.identifier or ""
        position = f"record {number} ({identifier})"
        if record.deleted:
            yield ImportedRecord(record_id_of(identifier), "", position, deleted=True)
            continue
        found = list(iter_marcxml(io.BytesIO(record.raw.encode("utf-8"))))
        if not found:
            yield Problem(position, "no MARC record in its metadata")
        for entry in found:
            if isinstance(entry, Problem):
                entry = Problem(position, entry.message)
            yield entry


def harvest(
    engine: Engine,
    endpoint: str,
    *,
    metadata_prefix: str = DEFAULT_PREFIX,
    set_: str | None = None,
    progress: Progress | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    timeout_s: float = 60,
) -> ImportReport:
    """Apply what changed at ``endpoint`` since the last harvest; ``ImportFailed`` says why not."""
    from oaipmh_scythe import NoRecordsMatch, Scythe
    from oaipmh_scythe.config import HTTPConfig
    from oaipmh_scythe.exceptions import OAIPMHException

    name = source_name(endpoint, metadata_prefix, set_)
    since = last_done(engine, name)

    @contextmanager
    def source() -> Iterator[tuple[Iterator[Entry], Callable[[], float | None]]]:
        with Scythe(endpoint, http_config=HTTPConfig(timeout=timeout_s)) as client:
            records = client.list_records(
                from_=since.date().isoformat() if since else None,
                metadata_prefix=metadata_prefix,
                set_=set_,
            )

            def guarded() -> Iterator[Entry]:
                try:
                    yield from _entries(records)
                except NoRecordsMatch:
                    return  # nothing changed
                except OAIPMHException as exc:
                    raise ImportFailed(f"{endpoint}: the repository said {exc!r}") from None
                except OSError as exc:
                    raise ImportFailed(f"{endpoint}: {exc}") from None

            yield guarded(), lambda: None

    try:
        return run_entries(engine, name, source, progress=progress, clock=clock)
    except ImportFailed:
        raise
    except Exception as exc:  # httpx's errors: the endpoint cannot be reached or answers nonsense
        raise ImportFailed(f"{endpoint}: {type(exc).__name__}: {exc}") from None
