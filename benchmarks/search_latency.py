"""Catalogue import rate and search latency on a large synthetic Danish catalogue.

Builds a CSV catalogue of ``--records`` titles (default 500,000) with Danish-looking titles,
authors, subjects, ISBNs and 1-3 copies each, and the same titles as danMARC2 ISO 2709 (Latin-1,
copies in 096, DBC's padding at the end). Imports the CSV, then the danMARC2 file into a second
database, through ``staged.run_import`` (what ``aabent catalogue import`` runs) while guest
check-ins go to that database every 100 ms; then times ``search`` for ``--queries`` mixed
queries: title words,
prefixes as typed, authors as "Last, First", ISBN-13 with hyphens and ISBN-10 without, subject
words, and æ/ø/å written as ae/oe/aa (and back). Prints one JSON object:
``{"p50_ms", "p95_ms", "import_records_per_s", "import_marc_records_per_s",
"checkin_during_import_ms" (the slowest check-in), "records", ...}``, with the import rates also
per CPU second of this process (``*_per_cpu_s``, fair between runs on a loaded machine) and the
1-minute load average before the imports and at the end.

    .venv/bin/python benchmarks/search_latency.py                 # SQLite file, 500,000 titles
    .venv/bin/python benchmarks/search_latency.py --records 20000  # a quick run
    .venv/bin/python benchmarks/search_latency.py --database-url postgresql+psycopg://...
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from services.catalogue.folding import complete_isbn13, isbn13_to_10
from services.catalogue.importer import ImportReport
from services.catalogue.search import search
from services.catalogue.staged import run_import
from services.program.store import ActivitySpec, check_in, upsert_activities
from services.store.engine import make_engine
from services.store.schema import create_schema


def _words(text: str) -> list[str]:
    return text.split()


COMMON = _words(
    "den det en et og i på fra til med under over efter uden mellem bag ved mod langs hos "
    "hjertet natten sommer vinter foråret efteråret havet skoven byen huset drømmen vejen "
    "døden livet kærlighed søster bror mor far datter søn pigen drengen kongen dronningen "
    "mørket lyset stormen stilheden sandheden hemmeligheden løftet skyggen ilden vandet "
    "fjorden øen stranden marken gården kirken skolen rejsen krigen freden tiden år dage "
    "sidste første lille store gamle nye hvide sorte røde blå grønne lange korte stille "
    "glemte skjulte tabte fundne farlige smukke sære kolde varme tavse vilde blinde"
)
SUBJECTS = _words(
    "krimi spænding kærlighed historie anden verdenskrig besættelsen vikinger middelalderen "
    "familien venskab sorg humor fantasy science fiction gys heste fodbold madlavning haven "
    "rejser biografier erindringer psykologi filosofi religion politik økonomi musik kunst "
    "arkitektur naturen fugle hunde katte dinosaurer rummet sundhed kost motion børn unge "
    "Aalborg Århus Odense København Ærø Bornholm Fyn Jylland Sjælland Grønland Færøerne "
    "Skagen Ribe Sønderjylland Limfjorden Øresund Ålborg Vesterbro Nørrebro"
)
FIRST = _words(
    "Anne Mette Hanne Karen Lise Inger Kirsten Susanne Maria Camilla Ida Freja Sofie Emma "
    "Peter Jens Lars Søren Niels Henrik Morten Rasmus Anders Mikkel Jørgen Bjørn Åge Ærenfrid "
    "Jussi Knud Erling Poul Ole Bent Kim Helle Dorthe Naja Tove Klaus Carsten Jakob Sara"
)
SURNAMES = _words(
    "Jensen Nielsen Hansen Pedersen Andersen Christensen Larsen Sørensen Rasmussen Jørgensen "
    "Petersen Madsen Kristensen Olsen Thomsen Christiansen Poulsen Johansen Møller Mortensen "
    "Østergaard Kjærgaard Aagaard Bækgaard Søndergaard Dahl Holm Lund Winther Brøndum Skov "
    "Lykke Frølich Højgaard Blædel Høeg Ditlevsen Aakeson Ørum Bødker Nexø Kirkegaard Ågård"
)
SYLLABLES = _words(
    "bro vik sted holm lund gaard by rup løse bæk dal høj sø å ager skov hus berg strand "
    "kær mose ør næs hav fjord sten kilde bjerg vang toft have borg ling ring"
)
STARTS = _words("A Aa Å B Br D F Fr G Gr H Hj K Kj Kr L M N Ø P R S Sk St Sn T Tr V Æ")
VOWELS = ("a", "e", "i", "o", "u", "y", "æ", "ø", "å", "aa", "ei", "øj")
COPY_STATUS = ("available",) * 6 + ("on_loan",) * 3 + ("reserved",)
DEPARTMENTS = ("Voksen", "Voksen", "Voksen", "Børn", "Unge", "Magasin")
TITLE_COLUMNS = ["id", "title", "author", "year", "isbn", "dk5", "subjects"]
COPY_COLUMNS = ["barcode", "department", "status", "due_date"]


def rare_word(rng: random.Random) -> str:
    """A Danish-looking word from the long tail of the vocabulary ("Brøvik", "Skæholm")."""
    return rng.choice(STARTS) + rng.choice(VOWELS) + rng.choice(SYLLABLES)


def zipf_pick(rng: random.Random, words: list[str]) -> str:
    """A word with a heavy head and a long tail, like the words of real titles."""
    return words[min(int(len(words) ** rng.random()) - 1, len(words) - 1)]


def make_isbn(n: int) -> str:
    """A valid, hyphenated, unique ISBN-13 for the ``n``-th title."""
    isbn = complete_isbn13(f"97887{n:07d}")
    return f"978-87-{isbn[5:8]}-{isbn[8:12]}-{isbn[12]}"


def _title_row(
    n: int, rng: random.Random, vocabulary: list[str], surnames: list[str]
) -> dict[str, str]:
    words = [zipf_pick(rng, vocabulary) for _ in range(rng.randint(1, 5))]
    fiction = rng.random() < 0.55
    return {
        "id": str(20_000_000 + n),
        "title": " ".join(words).capitalize(),
        "author": f"{rng.choice(surnames)}, {rng.choice(FIRST)}",
        "year": str(rng.randint(1900, 2024)),
        "isbn": make_isbn(n),
        "dk5": "sk" if fiction else f"{rng.randint(0, 99):02d}.{rng.randint(1, 9)}",
        "subjects": "; ".join(rng.sample(SUBJECTS, rng.randint(1, 3))),
    }


def _iso2709(fields: list[tuple[str, str]]) -> bytes:
    """One danMARC2 record as DBC writes it: ISO 2709, ISO-8859-1, leader/09 blank."""
    directory, data = [], []
    offset = 0
    for tag, value in fields:
        chunk = value.encode("iso8859-1", "replace") + b"\x1e"
        directory.append(f"{tag}{len(chunk):04d}{offset:05d}".encode("ascii"))
        data.append(chunk)
        offset += len(chunk)
    head = b"".join(directory) + b"\x1e"
    base = 24 + len(head)
    length = base + offset + 1
    leader = f"{length:05d}nam  22{base:05d}   4500".encode("ascii")
    return leader + head + b"".join(data) + b"\x1d"


def _danmarc(row: dict[str, str], copies: list[tuple[str, str, str, str]]) -> bytes:
    surname, _, first = row["author"].partition(", ")
    fields = [
        ("001", f"00\x1fa{row['id']}\x1fb870970\x1ffa"),
        ("004", "00\x1frn\x1fae"),
        ("008", f"00\x1fa{row['year']}\x1fldan"),
        ("021", f"00\x1fe{row['isbn']}"),
        ("100", f"00\x1fa{surname}\x1fh{first}"),
        ("245", f"00\x1fa{row['title']}"),
        ("652", f"00\x1fm{row['dk5']}"),
        *(("666", f"00\x1fs{subject}") for subject in row["subjects"].split("; ")),
    ]
    for barcode, department, status, due in copies:
        held = f"00\x1fz726500\x1fx{barcode}\x1ff{department}\x1fu{status}"
        fields.append(("096", held + (f"\x1fv{due}" if due else "")))
    return _iso2709(fields)


def write_catalogue(
    path: Path, records: int, rng: random.Random, marc_path: Path | None = None
) -> list[dict[str, str]]:
    """Write the CSV catalogue (one row per copy) and, if asked, the same as danMARC2 ISO 2709;
    return a sample of titles for queries."""
    vocabulary = COMMON + sorted({rare_word(rng) for _ in range(60_000)})
    surnames = SURNAMES + sorted({rare_word(rng).capitalize() + "sen" for _ in range(20_000)})
    sample: list[dict[str, str]] = []
    barcode = 5_000_000_000
    marc = marc_path.open("wb") if marc_path is not None else None
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(TITLE_COLUMNS + COPY_COLUMNS)
        for n in range(records):
            row = _title_row(n, rng, vocabulary, surnames)
            copies = []
            for copy in range(rng.choice((1, 1, 2, 2, 3))):
                barcode += 1
                status = rng.choice(COPY_STATUS)
                due = "2025-06-30" if status == "on_loan" else ""
                department = rng.choice(DEPARTMENTS)
                copies.append((str(barcode), department, status, due))
                # Only a title's first row carries its fields, as a library system exports it.
                title = [row[k] if copy == 0 else "" for k in TITLE_COLUMNS[1:]]
                writer.writerow([row["id"], *title, str(barcode), department, status, due])
            if marc is not None:
                marc.write(_danmarc(row, copies))
            if rng.random() < 4000 / records:
                sample.append(row)
    if marc is not None:
        marc.write(b"\x1a\x19\x19\x19")  # DBC's padding after the last record
        marc.close()
    return sample


def _danish_variant(text: str) -> str:
    swapped = text.replace("å", "aa").replace("æ", "ae").replace("ø", "oe")
    return swapped.replace("Å", "Aa").replace("Æ", "Ae").replace("Ø", "Oe")


def _aa_to_ring(text: str) -> str:
    return text.replace("aa", "å").replace("Aa", "Å")


def make_queries(sample: list[dict[str, str]], count: int, rng: random.Random) -> list[str]:
    """``count`` queries of the kinds a kiosk sees, from titles that exist."""
    kinds: list[Callable[[dict[str, str]], str]] = [
        lambda r: r["title"],
        lambda r: " ".join(r["title"].split()[:2]),
        lambda r: r["title"].split()[0][:4],
        lambda r: " ".join(w[: max(3, len(w) - 2)] for w in r["title"].split()[:2]),
        lambda r: r["author"],
        lambda r: " ".join(reversed(r["author"].split(", "))),
        lambda r: r["isbn"],
        lambda r: isbn13_to_10(r["isbn"].replace("-", "")) or r["isbn"],
        lambda r: r["subjects"].split("; ")[0],
        lambda r: (
            _danish_variant(r["title"])
            if r["title"] != _danish_variant(r["title"])
            else _aa_to_ring(r["author"])
        ),
    ]
    return [rng.choice(kinds)(rng.choice(sample)) for _ in range(count)]


class CheckIns:
    """Guest check-ins every 100 ms on another connection while an import runs: their latency."""

    def __init__(self, engine: Engine) -> None:
        self.engine, self.latencies_ms, self.failures = engine, [], 0
        self.now = datetime.now(UTC)
        with Session(engine) as session, session.begin():
            spec = ActivitySpec("bench", "Strikkecafé", self.now, self.now + timedelta(hours=3))
            upsert_activities(session, [spec])
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        n = 0
        while not self._stop.wait(0.1):
            n += 1
            started = time.perf_counter()
            try:
                with Session(self.engine) as session, session.begin():
                    check_in(
                        session, "bench", patron_id=None, head_count=1, kiosk="bench",
                        event_id=f"bench-{n}", now=self.now, window=timedelta(minutes=30),
                    )  # fmt: skip
            except SQLAlchemyError:
                self.failures += 1
            self.latencies_ms.append((time.perf_counter() - started) * 1000)

    def __enter__(self) -> CheckIns:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _timed_import(engine: Engine, path: Path) -> tuple[float, float, ImportReport]:
    """Wall seconds, CPU seconds of this process (the import; check-ins add little) and report.

    On a shared machine the wall time measures the load as much as the import; the CPU rate
    compares two versions fairly.
    """
    started, cpu = time.perf_counter(), time.process_time()
    report = run_import(engine, path)
    return time.perf_counter() - started, time.process_time() - cpu, report


def run(records: int, queries: int, url: str | None, seed: int) -> dict[str, object]:
    """Build, import (CSV, then danMARC2 with check-ins meanwhile) and search; the figures."""
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory(prefix="aabent-bench-") as folder:
        csv_path, marc_path = Path(folder) / "catalogue.csv", Path(folder) / "catalogue.iso"
        sample = write_catalogue(csv_path, records, rng, marc_path)
        engine = make_engine(url or f"sqlite:///{Path(folder) / 'catalogue.sqlite'}")
        create_schema(engine)
        load_before = os.getloadavg()[0]
        import_seconds, import_cpu, report = _timed_import(engine, csv_path)
        marc_engine = make_engine(f"sqlite:///{Path(folder) / 'marc.sqlite'}")
        create_schema(marc_engine)
        with CheckIns(marc_engine) as checkins:
            marc_seconds, marc_cpu, marc_report = _timed_import(marc_engine, marc_path)
        marc_engine.dispose()
        if engine.dialect.name == "postgresql":
            with engine.begin() as connection:
                connection.execute(text("ANALYZE"))
        latencies, empty = [], 0
        with Session(engine) as session:
            search(session, "varm op")  # first query pays for opening the file
            for query in make_queries(sample, queries, rng):
                t0 = time.perf_counter()
                hits = search(session, query)
                latencies.append((time.perf_counter() - t0) * 1000)
                empty += not hits
        engine.dispose()
    cuts = statistics.quantiles(latencies, n=100)
    waits = sorted(checkins.latencies_ms)
    return {
        "p50_ms": round(cuts[49], 2),
        "p95_ms": round(cuts[94], 2),
        "import_records_per_s": round(records / import_seconds),
        "import_marc_records_per_s": round(records / marc_seconds),
        "import_records_per_cpu_s": round(records / import_cpu),
        "import_marc_records_per_cpu_s": round(records / marc_cpu),
        "marc_records_added": marc_report.added,
        "marc_warnings": len(marc_report.warnings),
        "checkin_during_import_ms": round(waits[-1], 1) if waits else None,
        "checkin_during_import_p95_ms": round(waits[int(len(waits) * 0.95)], 1) if waits else None,
        "checkins_during_import": len(waits),
        "checkins_failed": checkins.failures,
        "records": records,
        "copies": report.copies,
        "queries": queries,
        "queries_without_hits": empty,
        "max_ms": round(max(latencies), 2),
        "database": engine.dialect.name,
        "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)],
    }


def main(argv: list[str] | None = None) -> int:
    """Parse the options, run, print the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=500_000)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--database-url", help="default: a SQLite file in a temporary folder")
    parser.add_argument("--seed", type=int, default=2025)
    args = parser.parse_args(argv)
    print(json.dumps(run(args.records, args.queries, args.database_url, args.seed)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
