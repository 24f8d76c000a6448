"""The access-list admin pages in-process (access_groups.py, bans_page.py, codes_page.py,
signups_page.py, own_log_page.py): each change audited and versioned, numbers never in clear."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, inspect, select, text
from starlette.testclient import TestClient

from services.bus.client import MqttBus
from services.bus.topics import Topics
from services.core.credentials import Credential
from services.dashboard.app import asgi
from services.dashboard.server import build_dashboard
from services.dashboard.users import add_user, set_site_role
from services.dashboard.web import Dashboard
from services.patrons.access_lists import site_version
from services.settings import Settings
from services.store.access_lists import (
    AccessGroupRecord,
    BanRecord,
    ListAudit,
    PadCodeRecord,
    SignupRecord,
)
from services.store.base import Base
from services.store.dashboard import Role
from services.store.engine import make_sessionmaker
from services.store.recorder import EventRecord, put_state
from tests.conftest import Broker
from tests.services.dashboard.conftest import PASSWORD, add_staff, site_settings

BANNED = "10000042"


@pytest.fixture
def settings(tmp_path: Path, mqtt_broker: Broker) -> Settings:
    return site_settings(tmp_path, mqtt_broker)


@pytest.fixture
def built(settings: Settings, sqlite_db: Engine) -> Iterator[tuple[Dashboard, TestClient]]:
    Base.metadata.create_all(sqlite_db)
    topics = Topics(settings.mqtt.prefix, settings.site.id)
    bus = MqttBus(settings.mqtt, "test-lists", "dashboard-test", topics)
    ctx = build_dashboard(settings, sqlite_db, bus)
    sessions = make_sessionmaker(sqlite_db)
    add_staff(sessions, "ada", Role.ADMIN)
    add_staff(sessions, "otto", Role.OPERATOR)
    with TestClient(asgi(ctx), base_url="https://testserver") as client:
        yield ctx, client


def _login(client: TestClient, user: str) -> str:
    token = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text)
    assert token is not None
    form = {"username": user, "password": PASSWORD, "csrf": token.group(1)}
    assert client.post("/login", data=form, follow_redirects=False).status_code == 303
    found = re.search(r'data-csrf="([^"]+)"', client.get("/account").text)
    assert found is not None
    return found.group(1)


def _dump(ctx: Dashboard) -> str:
    """Every row of every table, as text: what a stolen database copy would show."""
    with ctx.sessions() as session:
        return "\n".join(
            repr(row)
            for name in inspect(ctx.sessions.kw["bind"]).get_table_names()
            for row in session.execute(text(f"SELECT * FROM {name}"))
        )


def test_a_group_with_weekday_windows_and_a_member_is_saved_audited_and_versioned(
    built: tuple[Dashboard, TestClient],
) -> None:
    ctx, client = built
    csrf = _login(client, "ada")
    form = {
        "csrf": csrf,
        "name": "IT-café",
        "start_tue": "13:00",
        "end_tue": "16:00",
        "start_sat": "05:30",
        "end_sat": "07:30",
        "doors": "main",
        "valid_until": "2027-06-30",
        "when_armed": "refuse",
    }
    saved = client.post("/site/glostrup/lists/groups/save", data=form, follow_redirects=False)
    assert saved.status_code == 303
    page = client.get(saved.headers["location"]).text
    assert 'name="start_tue" value="13:00"' in page and 'name="end_sat" value="07:30"' in page
    assert "checked" in page.split('value="main"')[1][:20]
    member = {"csrf": csrf, "number": "20000001", "member_name": "Jonas", "note": "Tuesdays"}
    added = client.post(saved.headers["location"].split("?")[0] + "/members/add", data=member)
    assert added.status_code == 200 and "Jonas" in added.text
    pseudonym = ctx.site_key.pseudonym(Credential.from_text("20000001"))
    assert pseudonym in added.text and "20000001" not in added.text
    with ctx.sessions() as session:
        assert site_version(session, "glostrup") == 2
        actions = [a.action for a in session.scalars(select(ListAudit))]
        assert actions == ["group.create", "member.add"]
        assert session.scalars(select(ListAudit.actor)).first() == "dashboard:ada"
    assert "20000001" not in _dump(ctx)
    form["end_tue"] = ""
    assert (
        client.post("/site/glostrup/lists/groups/save", data=form).status_code == 400
    )  # half a window
    form.update(end_tue="12:00")
    refused = client.post("/site/glostrup/lists/groups/save", data=form)
    assert refused.status_code == 400  # ends before it starts: nothing changed
    with ctx.sessions() as session:
        assert site_version(session, "glostrup") == 2


def test_a_typed_ban_is_hashed_at_once_listed_by_pseudonym_and_lifted(
    built: tuple[Dashboard, TestClient],
) -> None:
    ctx, client = built
    csrf = _login(client, "ada")
    until = (datetime.now(UTC) + timedelta(days=30)).strftime("%Y-%m-%dT%H:%M")
    form = {"csrf": csrf, "number": BANNED, "until": until, "reason": "Threatened staff"}
    listed = client.post("/site/glostrup/lists/bans/add", data=form)
    assert listed.status_code == 200
    pseudonym = ctx.site_key.pseudonym(Credential.from_text(BANNED))
    assert pseudonym in listed.text and "Threatened staff" in listed.text
    assert BANNED not in listed.text and BANNED not in _dump(ctx)
    lifted = client.post(
        "/site/glostrup/lists/bans/lift", data={"csrf": csrf, "pseudonym": pseudonym}
    )
    assert lifted.status_code == 200 and pseudonym not in lifted.text


def test_a_code_is_shown_once_and_only_its_hash_is_kept(
    built: tuple[Dashboard, TestClient],
) -> None:
    ctx, client = built
    csrf = _login(client, "ada")
    start = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M")
    end = (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    form = {"csrf": csrf, "label": "Carpenter", "valid_from": start, "valid_until": end}
    issued = client.post(
        "/site/glostrup/lists/codes/issue", data={**form, "uses": "3", "digits": "7"}
    )
    assert issued.status_code == 200 and issued.headers["cache-control"] == "no-store"
    found = re.search(r'id="code" translate="no">(\d+)<', issued.text)
    assert found is not None and len(found.group(1)) == 7
    code = found.group(1)
    listing = client.get("/site/glostrup/lists/codes").text
    assert "Carpenter" in listing and code not in listing
    assert code not in _dump(ctx)
    with ctx.sessions() as session:
        assert session.scalars(select(PadCodeRecord.max_uses)).one() == 3
    again = client.post(
        "/site/glostrup/lists/codes/issue", data={**form, "uses": "1", "digits": "6"}
    )
    assert again.status_code == 400  # the label is taken: refused, nothing changed
    assert "Der findes allerede en kode med betegnelsen Carpenter" in again.text


def test_a_desk_sign_up_is_counted_and_a_second_one_refused(
    built: tuple[Dashboard, TestClient],
) -> None:
    _ctx, client = built
    csrf = _login(client, "ada")
    first = client.post(
        "/site/glostrup/lists/signups/add", data={"csrf": csrf, "number": "10000001"}
    )
    assert first.status_code == 200 and "1 lånere er tilmeldt" in first.text
    second = client.post(
        "/site/glostrup/lists/signups/add", data={"csrf": csrf, "number": "10000001"}
    )
    assert second.status_code == 400 and "Kortet er allerede tilmeldt." in second.text


def test_the_own_log_holds_the_patron_s_events_only_and_is_audited(
    built: tuple[Dashboard, TestClient],
) -> None:
    ctx, client = built
    mine = ctx.site_key.pseudonym(Credential.from_text("10000001"))
    theirs = ctx.site_key.pseudonym(Credential.from_text("10000002"))
    with ctx.sessions() as session, session.begin():
        for who, reason in ((mine, "wrong_pin"), (theirs, "patron_blocked")):
            session.add(
                EventRecord(
                    id=str(uuid.uuid4()),
                    site=ctx.settings.site.id,
                    ts=datetime.now(UTC),
                    type="access.denied",
                    source="main",
                    reason=reason,
                    credential=who,
                    details={"reader": "main.0", "other_credential": theirs},
                    received=datetime.now(UTC),
                )
            )
    csrf = _login(client, "ada")
    csv = client.post(
        "/lists/log/export", data={"csrf": csrf, "number": "10000001", "format": "csv"}
    )
    assert csv.status_code == 200 and "attachment" in csv.headers["content-disposition"]
    assert "wrong_pin" in csv.text and "patron_blocked" not in csv.text and theirs not in csv.text
    page = client.post("/lists/log/export", data={"csrf": csrf, "number": "10000001"})
    assert "forkert PIN-kode" in page.text and theirs not in page.text
    with ctx.sessions() as session:
        exports = session.scalars(select(ListAudit).where(ListAudit.action == "log.export")).all()
        assert [(e.subject, e.actor) for e in exports] == [(mine, "dashboard:ada")] * 2


def test_the_list_pages_are_the_branch_operators_and_need_the_csrf_token(
    built: tuple[Dashboard, TestClient],
) -> None:
    ctx, client = built
    add_staff(ctx.sessions, "vera", Role.VIEWER)
    csrf = _login(client, "vera")
    pages = ("groups", "bans", "codes", "signups")
    for path in [f"/site/glostrup/lists/{p}" for p in pages] + ["/lists/log"]:
        assert client.get(path).status_code == 403
    added = client.post("/site/glostrup/lists/bans/add", data={"csrf": csrf, "number": "1"})
    assert added.status_code == 403
    client.cookies.clear()
    _login(client, "otto")  # an operator (of every branch: no rows) keeps the lists
    for path in [f"/site/glostrup/lists/{p}" for p in pages]:
        assert client.get(path).status_code == 200
    assert client.get("/lists/log").status_code == 403  # a patron's own log is the admin's
    old = client.get("/lists/bans", follow_redirects=False)  # an address from before
    assert old.status_code == 303 and old.headers["location"] == "/site/glostrup/lists/bans"
    form = {"csrf": "stale", "number": BANNED, "reason": "x"}
    assert client.post("/site/glostrup/lists/bans/add", data=form).status_code == 403


def test_an_operator_of_one_branch_keeps_its_lists_and_cannot_touch_another_s(
    built: tuple[Dashboard, TestClient],
) -> None:
    """Two branches on one server: each page shows and changes its own branch's lists; an
    operator of Glostrup gets nothing of Vallensbæk's (not found), and nothing is written."""
    ctx, client = built
    with ctx.sessions() as s, s.begin():
        put_state(s, "vallensbaek", "door/front", {"lock": "locked"}, datetime.now(UTC))
        add_user(s, "lis", PASSWORD, Role.VIEWER)
        set_site_role(s, "lis", "glostrup", Role.OPERATOR)
        add_user(s, "bo", PASSWORD, Role.VIEWER)
        set_site_role(s, "bo", "vallensbaek", Role.OPERATOR)
    csrf = _login(client, "lis")
    group = {"csrf": csrf, "name": "Rengøring", "start_mon": "05:00", "end_mon": "07:00"}
    saved = client.post("/site/glostrup/lists/groups/save", data=group, follow_redirects=False)
    assert saved.status_code == 303
    assert saved.headers["location"].startswith("/site/glostrup/lists/groups/")
    for path in (
        "groups/save",
        "groups/Reng%C3%B8ring/members/add",
        "groups/Reng%C3%B8ring/remove",
        "bans/add",
        "bans/lift",
        "codes/issue",
        "signups/add",
    ):
        sneaked = client.post(
            f"/site/vallensbaek/lists/{path}", data={**group, "number": BANNED, "reason": "x"}
        )
        assert sneaked.status_code == 404, path
    assert client.get("/site/vallensbaek/lists/groups").status_code == 404
    # A ban for the whole municipality, the form's default where there are branches.
    bans = client.get("/site/glostrup/lists/bans").text
    assert 'name="scope" value="municipality" checked' in bans
    assert "Kun denne filial (Glostrup Bibliotek)" in bans
    ban = {"csrf": csrf, "number": BANNED, "reason": "Truede personalet", "scope": "municipality"}
    assert client.post("/site/glostrup/lists/bans/add", data=ban).status_code == 200
    with ctx.sessions() as s:
        groups = [(g.site, g.name) for g in s.scalars(select(AccessGroupRecord))]
        assert groups == [("glostrup", "Rengøring")]
        assert [b.site for b in s.scalars(select(BanRecord))] == [None]
        assert site_version(s, "vallensbaek") == 1  # the municipality ban only
        assert s.scalar(select(func.count()).select_from(SignupRecord)) == 0
        assert s.scalar(select(func.count()).select_from(PadCodeRecord)) == 0
    pseudonym = ctx.site_key.pseudonym(Credential.from_text(BANNED))
    # Lifting it would open every branch's doors: not for an operator of one branch.
    lift = {"csrf": csrf, "pseudonym": pseudonym, "scope": "municipality"}
    assert client.post("/site/glostrup/lists/bans/lift", data=lift).status_code == 403
    client.cookies.clear()
    csrf = _login(client, "bo")  # Vallensbæk's operator sees the ban, marked, not the group
    page = client.get("/site/vallensbaek/lists/bans").text
    assert pseudonym in page and 'data-scope="municipality"' in page and "hele kommunen" in page
    assert "Rengøring" not in client.get("/site/vallensbaek/lists/groups").text
    assert client.get("/site/glostrup/lists/groups").status_code == 404
    client.cookies.clear()
    csrf = _login(client, "ada")  # the municipality's admin may lift it
    lift["csrf"] = csrf
    assert client.post("/site/vallensbaek/lists/bans/lift", data=lift).status_code == 200
    with ctx.sessions() as s:
        assert s.scalar(select(func.count()).select_from(BanRecord)) == 0
