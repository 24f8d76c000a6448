"""A catalogue on each database of the ``engine`` fixture, loaded from files as staff would."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from services.catalogue.importer import ImportReport, import_file
from services.catalogue.search import Hit, ItemDetail, item, search
from services.store.catalogue import CatalogueCopy, CatalogueRecord, create_tables


@dataclass
class Catalogue:
    """The catalogue tables on one test database, with the calls a test needs."""

    engine: Engine
    folder: Path

    def load(
        self, content: str | bytes, name: str = "catalogue.csv", **options: object
    ) -> ImportReport:
        """Write ``content`` to a file called ``name`` and import it in one transaction."""
        path = self.folder / name
        if isinstance(content, str):
            path.write_text(content, encoding="utf-8")
        else:
            path.write_bytes(content)
        with Session(self.engine) as session, session.begin():
            return import_file(session, path, **options)  # type: ignore[arg-type]

    def search(self, query: str, limit: int = 20) -> list[Hit]:
        """What the kiosk would list for ``query``."""
        with Session(self.engine) as session:
            return search(session, query, limit)

    def titles(self, query: str) -> list[str]:
        """The titles found for ``query``, best first."""
        return [hit.title for hit in self.search(query)]

    def item(self, record_id: str) -> ItemDetail:
        """The detail screen of one title."""
        with Session(self.engine) as session:
            return item(session, record_id)

    def counts(self) -> tuple[int, int]:
        """(titles, copies) stored."""
        with Session(self.engine) as session:
            titles = session.scalar(select(func.count()).select_from(CatalogueRecord))
            copies = session.scalar(select(func.count()).select_from(CatalogueCopy))
        return int(titles or 0), int(copies or 0)


@pytest.fixture
def catalogue(engine: Engine, tmp_path: Path) -> Catalogue:
    """An empty catalogue with its full-text index, on SQLite and on PostgreSQL."""
    with engine.begin() as connection:
        create_tables(connection)
    return Catalogue(engine, tmp_path)
