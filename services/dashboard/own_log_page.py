"""A patron's own log (GDPR art. 15, Datatilsynet 2024), for admins (issue 13).

The admin types the patron's card or CPR number into a form (POST: the number is in no URL);
the server computes its keyed pseudonym and exports every event still held for it — as CSV, or
as a printable page to hand over — through the same function as ``aabent log export``
(services/patrons/own_log.py), which keeps only the patron's own entries and audits the export.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response

from services.core.credentials import Credential, SiteKey
from services.dashboard.auth import Login
from services.dashboard.list_forms import FormProblem, actor, field, typed_credential
from services.dashboard.web import dashboard, guarded, refuse, render
from services.patrons.own_log import write_own_log
from services.store.dashboard import Role


def own_log_csv(key: SiteKey, session: Session, who: str, credential: Credential) -> str:
    """The CSV text of every event held for ``credential`` (audited as exported by ``who``)."""
    out = io.StringIO()
    write_own_log(session, key, who, credential, out)
    return out.getvalue()


@guarded(Role.ADMIN)
async def page(request: Request, login: Login) -> Response:
    """The form: the patron's number and how to hand the log over."""
    return render(request, "lists_log.html", {})


@guarded(Role.ADMIN)
async def export(request: Request, login: Login) -> Response:
    """The log of the typed number, as CSV (``format=csv``) or as a printable page."""
    ctx = dashboard(request)
    form = await request.form()
    try:
        credential = typed_credential(form)
    except FormProblem as exc:
        return refuse(request, 400, exc.key, **exc.values)
    pseudonym = ctx.site_key.pseudonym(credential)
    text = await ctx.db(lambda s: own_log_csv(ctx.site_key, s, actor(login), credential))
    if field(form, "format") == "csv":
        return Response(
            "\ufeff" + text,  # the BOM lets a spreadsheet read the Danish letters
            media_type="text/csv; charset=utf-8",
            headers={
                "content-disposition": f'attachment; filename="own-log-{pseudonym}.csv"',
                "cache-control": "no-store",
            },
        )
    reader = csv.DictReader(io.StringIO(text))
    rows = [{**row, "ts": datetime.fromisoformat(row["time"])} for row in reader]
    response = render(
        request,
        "lists_log_page.html",
        {"rows": rows, "pseudonym": pseudonym, "printed": ctx.clock()},
    )
    response.headers["cache-control"] = "no-store"
    return response
