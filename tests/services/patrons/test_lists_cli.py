"""``aabent groups|bans|codes|log`` and ``patrons signup`` on a site of the test's own."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from services.cli.main import main
from services.core.credentials import Credential
from services.patrons.staff_edit import opened
from services.settings import load_settings
from services.store.access_lists import (
    AccessGroupRecord,
    BanRecord,
    ListAudit,
    PadCodeRecord,
    SignupRecord,
)
from services.store.recorder import EventRecord


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "aabent.toml"
    path.write_text(
        f'[site]\ndata_dir = "{tmp_path / "var"}"\nkey_file = "{tmp_path / "var" / "site.key"}"\n',
        encoding="utf-8",
    )
    return path


def run(config: Path, *args: str) -> int:
    return main(["-c", str(config), *args])


def test_a_group_with_a_member_is_defined_listed_and_audited(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(config, "groups", "define", "cleaners", "--windows", "mon-fri 05:30-07:30") == 0
    assert (
        run(
            config, "groups", "add-member", "cleaners", "12345678", "--member-name", "Rengøring A/S"
        )
        == 0
    )
    assert run(config, "groups", "list") == 0
    out = capsys.readouterr().out
    assert "group 'cleaners' created" in out
    assert "mon 05:30-07:30, tue 05:30-07:30" in out and "1 members" in out
    assert "12345678" not in out


def test_a_bad_window_is_refused_and_nothing_is_made(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(config, "groups", "define", "x", "--windows", "tue 16:00-13:00") == 1
    err = capsys.readouterr().err
    assert "end must be after the start" in err and "nothing changed" in err
    run(config, "groups", "list")
    assert capsys.readouterr().out == ""


def test_a_ban_is_listed_by_pseudonym_and_lifted(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        run(config, "bans", "add", "0101901234", "--reason", "vandalism", "--until", "2099-01-01")
        == 0
    )
    run(config, "bans", "list")
    out = capsys.readouterr().out
    assert "vandalism" in out and "0101901234" not in out
    assert run(config, "bans", "lift", "0101901234") == 0
    assert run(config, "bans", "lift", "0101901234") == 1
    assert "not banned" in capsys.readouterr().err


def test_a_code_is_shown_once_and_stored_hashed(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    start = datetime.now(UTC)
    assert (
        run(
            config,
            "codes",
            "issue",
            "carpenter",
            "--from",
            start.isoformat(),
            "--until",
            (start + timedelta(hours=3)).isoformat(),
            "--uses",
            "2",
            "--doors",
            "main",
        )
        == 0
    )
    out = capsys.readouterr().out
    code = out.split("code for 'carpenter': ")[1].split()[0]
    assert code.isdigit() and len(code) == 6
    run(config, "codes", "list")
    listed = capsys.readouterr().out
    assert "0/2 uses" in listed and code not in listed
    settings = load_settings(config, environ={})
    with opened(settings) as (session, _):
        stored = session.scalar(select(PadCodeRecord))
        assert stored is not None and code not in stored.code_hash
    assert run(config, "codes", "revoke", "carpenter") == 0
    assert run(config, "codes", "revoke", "carpenter") == 1


def test_signup_at_the_desk(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(config, "patrons", "signup", "12345678") == 0
    assert run(config, "patrons", "signup", "12345678") == 0
    assert "already signed up" in capsys.readouterr().out
    assert run(config, "patrons", "withdraw-signup", "12345678") == 0
    assert run(config, "patrons", "withdraw-signup", "12345678") == 1


def test_log_export_holds_the_patrons_own_events_only_and_is_audited(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = load_settings(config, environ={})
    mine, other = Credential.from_text("12345678"), Credential.from_text("87654321")
    now = datetime.now(UTC)
    with opened(settings) as (session, key):
        for n, (cred, reason) in enumerate(
            ((mine, "granted"), (other, "banned"), (mine, "wrong_pin"))
        ):
            session.add(
                EventRecord(
                    id=str(uuid.uuid4()),
                    site="glostrup",
                    ts=now + timedelta(seconds=n),
                    type="access.granted" if reason == "granted" else "access.denied",
                    source="door-main",
                    reason=reason,
                    credential=key.pseudonym(cred),
                    details={
                        "reader": "outside",
                        "message": "Velkommen",
                        "companions": 1,
                        "operator": "someone else",
                    },
                    received=now,
                )
            )
    out_file = tmp_path / "log.csv"
    assert run(config, "log", "export", "12345678", "--out", str(out_file)) == 0
    rows = list(csv.DictReader(io.StringIO(out_file.read_text(encoding="utf-8"))))
    assert [r["reason"] for r in rows] == ["granted", "wrong_pin"]
    assert rows[0]["companions"] == "1" and "someone else" not in out_file.read_text()
    assert "2 events for" in capsys.readouterr().err
    with opened(settings) as (session, key):
        audit = session.scalar(select(ListAudit).where(ListAudit.action == "log.export"))
        assert audit is not None and audit.subject == key.pseudonym(mine)


def test_site_names_the_branch_and_municipality_bans_every_branch(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """On a municipality's server: ``--site`` edits that branch's lists (default: the own
    site's), and ``bans add --municipality`` a ban every branch's doors get."""
    own = load_settings(config).site.id
    define = ("groups", "define", "cleaners", "--windows", "mon 05:30-07:30")
    assert run(config, *define, "--site", "vallensbaek") == 0
    assert run(config, *define) == 0  # the own site's cleaners: another group
    assert run(config, "patrons", "signup", "12345678", "--site", "vallensbaek") == 0
    assert run(config, "bans", "add", "87654321", "--reason", "fight", "--municipality") == 0
    assert run(config, "bans", "add", "11112222", "--reason", "noise", "--site", "vallensbaek") == 0
    capsys.readouterr()
    assert run(config, "bans", "list") == 0  # the own site: the municipality's ban only
    listed = capsys.readouterr().out.splitlines()
    assert len(listed) == 1 and "\tmunicipality\t" in listed[0] and "fight" in listed[0]
    assert run(config, "bans", "list", "--site", "vallensbaek") == 0
    listed = capsys.readouterr().out.splitlines()
    assert sorted(line.split("\t")[1] for line in listed) == ["branch", "municipality"]
    assert run(config, "bans", "add", "1", "--reason", "x", "--municipality", "--site", own) == 1
    with opened(load_settings(config)) as (session, _key):
        groups = session.execute(select(AccessGroupRecord.site, AccessGroupRecord.name))
        assert sorted(tuple(g) for g in groups) == [(own, "cleaners"), ("vallensbaek", "cleaners")]
        assert [s.site for s in session.scalars(select(SignupRecord))] == ["vallensbaek"]
        assert sorted(str(b.site) for b in session.scalars(select(BanRecord))) == [
            "None",
            "vallensbaek",
        ]
        audited = {(a.action, a.site) for a in session.scalars(select(ListAudit))}
        assert ("ban.add", None) in audited and ("signup.add", "vallensbaek") in audited
