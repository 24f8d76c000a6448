"""An incremental OAI-PMH harvest, from a real repository on loopback, into the catalogue."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest

from services.catalogue.oai import harvest, record_id_of
from services.store.catalogue import ImportFailed
from tests.services.catalogue.conftest import Catalogue
from tests.services.catalogue.oai_server import Entry, OaiServer, Repository


@pytest.fixture
def repository() -> Iterator[tuple[Repository, OaiServer]]:
    repo = Repository(
        {
            "29000007": Entry(date(2026, 11, 1), "Kvinden i buret"),
            "29000008": Entry(date(2026, 11, 2), "Fasandræberne"),
            "29000009": Entry(date(2026, 11, 3), "Мастер и Маргарита"),
        }
    )
    server = OaiServer(repo)
    yield repo, server
    server.stop()


def test_a_first_harvest_takes_every_page_and_the_next_only_what_changed(
    catalogue: Catalogue, repository: tuple[Repository, OaiServer]
) -> None:
    repo, server = repository
    first = harvest(catalogue.engine, server.url, clock=lambda: datetime(2026, 12, 1, tzinfo=UTC))
    assert first.added == 3 and len(repo.queries) == 2  # two pages, by resumption token
    assert "from" not in repo.queries[0] and repo.queries[0]["metadataPrefix"] == "marc21"
    repo.records["29000008"] = Entry(date(2026, 12, 1), "Fasandræberne (ny udgave)")
    repo.records["29000009"] = Entry(date(2026, 12, 1), deleted=True)
    repo.queries.clear()
    second = harvest(catalogue.engine, server.url, clock=lambda: datetime(2026, 12, 2, tzinfo=UTC))
    assert repo.queries[0]["from"] == "2026-12-01"
    assert (second.read, second.updated, second.deleted) == (2, 1, 1)
    assert catalogue.titles("fasandraeberne") == ["Fasandræberne (ny udgave)"]
    assert catalogue.titles("мастер") == []
    assert catalogue.titles("kvinden") == ["Kvinden i buret"]
    repo.queries.clear()
    third = harvest(catalogue.engine, server.url, clock=lambda: datetime(2026, 12, 3, tzinfo=UTC))
    assert third.read == 0  # noRecordsMatch: nothing changed since


def test_an_unreachable_repository_fails_clearly_and_changes_nothing(catalogue: Catalogue) -> None:
    with pytest.raises(ImportFailed, match=r"127\.0\.0\.1:9"):
        harvest(catalogue.engine, "http://127.0.0.1:9/oai", timeout_s=2)
    assert catalogue.counts() == (0, 0)


def test_the_record_id_of_an_oai_identifier_is_its_last_part() -> None:
    assert record_id_of("oai:bibliotek.dk:29000007") == "29000007"


def test_the_harvest_command_prints_its_summary(
    repository: tuple[Repository, OaiServer],
    tmp_path: object,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from pathlib import Path

    from services.cli.main import main

    monkeypatch.setenv("AABENT__STORE__URL", f'"sqlite:///{Path(str(tmp_path)) / "a.sqlite"}"')
    assert main(["catalogue", "harvest", repository[1].url]) == 0
    assert capsys.readouterr().out.startswith("3 records: 3 added")
    assert main(["catalogue", "harvest", "http://127.0.0.1:9/oai"]) == 1
    assert "catalogue harvest failed, nothing applied" in capsys.readouterr().err
