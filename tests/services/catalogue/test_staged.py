"""The staged import: other writers get the lock within a second; still all or nothing."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from services.catalogue.importer import ImportProgress
from services.catalogue.staged import BATCH, resume, run_import
from services.program.store import ActivitySpec, CheckInOutcome, check_in, upsert_activities
from services.store.catalogue import CatalogueImportBatch, CatalogueRecord, ImportFailed
from services.store.engine import make_engine
from services.store.schema import create_schema

NOW = datetime(2026, 12, 1, 18, 0, tzinfo=UTC)


def write_catalogue(path: Path, records: int, bad_line: int | None = None) -> Path:
    rows = [f"{n},Titel nummer {n},{'nitten' if n == bad_line else 2000 + n % 20}" for n in
            range(1, records + 1)]  # fmt: skip
    path.write_text("id,title,year\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def library(tmp_path: Path) -> Engine:
    """The kiosk's SQLite database, migrated, with one activity open for check-in."""
    engine = make_engine(f"sqlite:///{tmp_path / 'kiosk.sqlite'}")
    create_schema(engine)
    with Session(engine) as session, session.begin():
        upsert_activities(
            session, [ActivitySpec("a1", "Strikkecafé", NOW, NOW + timedelta(hours=2))]
        )
    return engine


def titles(engine: Engine) -> int:
    with Session(engine) as session:
        return int(session.scalar(select(func.count()).select_from(CatalogueRecord)) or 0)


def staged_batches(engine: Engine) -> int:
    with Session(engine) as session:
        return int(session.scalar(select(func.count()).select_from(CatalogueImportBatch)) or 0)


def test_a_check_in_during_an_import_is_answered_within_a_second(
    library: Engine, tmp_path: Path
) -> None:
    kiosk = make_engine(f"sqlite:///{tmp_path / 'kiosk.sqlite'}", connect_args={"timeout": 1})
    waits: list[float] = []

    def check_in_now(progress: ImportProgress) -> None:
        started = time.monotonic()
        with Session(kiosk) as session, session.begin():
            result = check_in(
                session, "a1", patron_id=None, head_count=1, kiosk="k1",
                event_id=f"e{len(waits)}", now=NOW, window=timedelta(minutes=30),
            )  # fmt: skip
        assert result.outcome is CheckInOutcome.CHECKED_IN
        waits.append(time.monotonic() - started)

    report = run_import(library, write_catalogue(tmp_path / "c.csv", 5000), progress=check_in_now)
    assert report.added == 5000
    assert len(waits) >= 4  # while staging and while applying
    assert max(waits) < 1.0


def test_a_strict_import_with_a_bad_record_leaves_the_catalogue_and_no_staging(
    library: Engine, tmp_path: Path
) -> None:
    run_import(library, write_catalogue(tmp_path / "old.csv", 10))
    with pytest.raises(ImportFailed, match="1 corrupt records"):
        run_import(library, write_catalogue(tmp_path / "c.csv", 4500, bad_line=4400), strict=True)
    assert titles(library) == 10
    assert staged_batches(library) == 0


class Crash(Exception):
    """The process dies here (as a kill -9 would, between two transactions)."""


def crash_at(call: int) -> object:
    calls = 0

    def progress(_: ImportProgress) -> None:
        nonlocal calls
        calls += 1
        if calls == call:
            raise Crash

    return progress


def test_an_import_cut_off_while_staging_changes_nothing(library: Engine, tmp_path: Path) -> None:
    with pytest.raises(Crash):
        run_import(library, write_catalogue(tmp_path / "c.csv", 5000), progress=crash_at(2))
    assert titles(library) == 0
    assert resume(library) is None
    assert staged_batches(library) == 0


def test_an_import_cut_off_while_applying_is_finished_by_the_next_run(
    library: Engine, tmp_path: Path
) -> None:
    # Staging reports at 2000, 4000 and the end; the fourth report is the first applied batch
    # (of staged.BATCH records).
    assert BATCH < 5000
    with pytest.raises(Crash):
        run_import(library, write_catalogue(tmp_path / "c.csv", 5000), progress=crash_at(4))
    assert titles(library) == BATCH
    finished = resume(library)
    assert finished is not None and finished.added == 5000 - BATCH
    assert titles(library) == 5000
    assert staged_batches(library) == 0


def test_check_ins_from_another_connection_all_succeed_while_an_import_writes(
    library: Engine, tmp_path: Path
) -> None:
    """Real contention: a kiosk thread checks in while the import holds its transactions."""
    import threading

    kiosk = make_engine(f"sqlite:///{tmp_path / 'kiosk.sqlite'}")
    outcomes: list[CheckInOutcome] = []
    failures: list[BaseException] = []
    stop = threading.Event()

    def kiosk_loop() -> None:
        while not stop.wait(0.02):
            try:
                with Session(kiosk) as session, session.begin():
                    result = check_in(
                        session, "a1", patron_id=None, head_count=1, kiosk="k1",
                        event_id=f"t{len(outcomes)}", now=NOW, window=timedelta(minutes=30),
                    )  # fmt: skip
                outcomes.append(result.outcome)
            except Exception as exc:  # the test reports whatever went wrong
                failures.append(exc)

    thread = threading.Thread(target=kiosk_loop)
    thread.start()
    try:
        report = run_import(library, write_catalogue(tmp_path / "c.csv", 6000))
    finally:
        stop.set()
        thread.join()
    kiosk.dispose()
    assert report.added == 6000
    assert failures == []
    assert outcomes and set(outcomes) == {CheckInOutcome.CHECKED_IN}


def test_the_import_hands_its_connection_back_with_the_engines_fsync_setting(
    library: Engine, tmp_path: Path
) -> None:
    """The import defers fsyncs on its own connection only; the pool gets FULL back."""

    run_import(library, write_catalogue(tmp_path / "c.csv", 600))
    with pytest.raises(ImportFailed):
        run_import(library, write_catalogue(tmp_path / "d.csv", 600, bad_line=5), strict=True)
    settings = set()
    connections = [library.connect() for _ in range(3)]  # every pooled connection, and more
    for connection in connections:
        settings.add(connection.exec_driver_sql("PRAGMA synchronous").scalar())
        connection.close()
    assert settings == {2}  # FULL, as services/store/engine.py sets it
