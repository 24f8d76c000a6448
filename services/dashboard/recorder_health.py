"""The server's recorders as the overview shows them: each ``health/*`` row the recorders write
(services/recorder/health.py) with what deserves a look.

A row is *silent* when its ``updated`` is older than ``recorder.health_stale_s`` (three missed
reports), *stuck* when messages have waited for the writer longer than ``mqtt.stall_s``, and
*reconnecting* when the bus's stall count grew within that same window. It names no patron, so
every logged-in staff member sees it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.settings import Settings
from services.store.recorder import HEALTH_PREFIX, ComponentState


@dataclass(frozen=True)
class RecorderHealth:
    """One recorder's last report and what it means."""

    site: str
    name: str  # the key after ``health/``: ``recorder``, ``recorder/<instance>``
    instance: str
    stored: int
    queued: int
    waiting_s: float
    stalls: int
    rejected: Mapping[str, int] = field(default_factory=dict)
    updated: datetime | None = None
    stopped: bool = False
    silent: bool = False  # no report for three periods
    stuck: bool = False  # messages waiting longer than mqtt.stall_s
    reconnecting: bool = False  # the bus reconnected out of a stall lately

    @property
    def rejected_total(self) -> int:
        """Messages refused, all reasons together."""
        return sum(self.rejected.values())

    @property
    def fine(self) -> bool:
        """Storing, reporting, not reconnecting."""
        return not (self.stopped or self.silent or self.stuck or self.reconnecting)


def _int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _float(value: object) -> float:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0.0


def _moment(value: object) -> datetime | None:
    try:
        return datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _aware(ts: datetime, now: datetime) -> datetime:
    return ts if ts.tzinfo is not None else ts.replace(tzinfo=now.tzinfo)


def recorder_health(session: Session, settings: Settings, now: datetime) -> list[RecorderHealth]:
    """Every recorder's health row, by site and name, judged at ``now``."""
    window = timedelta(seconds=settings.recorder.health_stale_s)
    rows = session.scalars(
        select(ComponentState)
        .where(ComponentState.key.startswith(HEALTH_PREFIX))
        .order_by(ComponentState.site, ComponentState.key)
    )
    found = []
    for row in rows:
        p = dict(row.payload or {})
        updated = _aware(row.updated, now)
        stalled_at = _moment(p.get("stalled_at"))
        rejected = p.get("rejected")
        stopped = p.get("stopped") is True
        found.append(
            RecorderHealth(
                site=row.site,
                name=row.key.removeprefix(HEALTH_PREFIX),
                instance=str(p.get("instance") or ""),
                stored=_int(p.get("stored")),
                queued=_int(p.get("queued")),
                waiting_s=_float(p.get("waiting_s")),
                stalls=_int(p.get("stalls")),
                rejected={str(k): _int(v) for k, v in rejected.items()}
                if isinstance(rejected, dict)
                else {},
                updated=updated,
                stopped=stopped,
                silent=not stopped and now - updated > window,
                stuck=_float(p.get("waiting_s")) > settings.mqtt.stall_s,
                reconnecting=stalled_at is not None and now - _aware(stalled_at, now) <= window,
            )
        )
    return found
