"""A small OAI-PMH 2.0 repository on loopback: ListRecords in MARCXML, pages, "from", deletions."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse
from xml.sax.saxutils import escape

PAGE = 2
_HEAD = ('<?xml version="1.0" encoding="UTF-8"?>\n'
         '<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/">'
         "<responseDate>2026-12-01T12:00:00Z</responseDate>")  # fmt: skip


@dataclass
class Entry:
    """One record of the repository: its day of change and title, or deleted."""

    changed: date
    title: str = ""
    deleted: bool = False


@dataclass
class Repository:
    """The records, and every query the repository was asked."""

    records: dict[str, Entry] = field(default_factory=dict)
    queries: list[dict[str, str]] = field(default_factory=list)

    def _record(self, record_id: str, entry: Entry) -> str:
        status = ' status="deleted"' if entry.deleted else ""
        header = (f"<header{status}><identifier>oai:glostrup:{record_id}</identifier>"
                  f"<datestamp>{entry.changed.isoformat()}</datestamp></header>")  # fmt: skip
        if entry.deleted:
            return f"<record>{header}</record>"
        marc = (
            '<record xmlns="http://www.loc.gov/MARC21/slim"><leader>00000nam a2200000 a 4500'
            f'</leader><controlfield tag="001">{record_id}</controlfield>'
            f'<datafield tag="245" ind1="0" ind2="0"><subfield code="a">{escape(entry.title)}'
            "</subfield></datafield></record>"
        )
        return f"<record>{header}<metadata>{marc}</metadata></record>"

    def list_records(self, query: dict[str, str]) -> str:
        """One page of ListRecords, as OAI-PMH 2.0 defines it."""
        offset, since = 0, query.get("from", "")
        if "resumptionToken" in query:
            offset_text, since = query["resumptionToken"].split("|")
            offset = int(offset_text)
        chosen = sorted(
            (rid, e)
            for rid, e in self.records.items()
            if not since or e.changed.isoformat() >= since
        )
        if not chosen:
            return f'{_HEAD}<error code="noRecordsMatch">nothing changed</error></OAI-PMH>'
        page = chosen[offset : offset + PAGE]
        more = offset + PAGE < len(chosen)
        token = f"<resumptionToken>{offset + PAGE}|{since}</resumptionToken>" if more else ""
        body = "".join(self._record(rid, e) for rid, e in page)
        return f"{_HEAD}<ListRecords>{body}{token}</ListRecords></OAI-PMH>"


class OaiServer:
    """The repository served over HTTP on 127.0.0.1 on a free port."""

    def __init__(self, repository: Repository) -> None:
        self.repository = repository
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                query = {k: v[0] for k, v in parse_qs(urlparse(self.path).query).items()}
                outer.repository.queries.append(query)
                body = outer.repository.list_records(query).encode("utf-8")
                self.send_response(200)
                self.send_header("Content-Type", "text/xml; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args: object) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/oai"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Shut the server down."""
        self._server.shutdown()
        self._server.server_close()
