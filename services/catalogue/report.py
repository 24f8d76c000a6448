"""What an import did and how far it has come: the report and the progress it gives."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from services.store.catalogue import Problem


@dataclass
class ImportReport:
    """What an import did: titles added, updated and deleted, copies stored, records skipped."""

    read: int = 0
    added: int = 0
    updated: int = 0
    deleted: int = 0
    copies: int = 0
    skipped: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)

    def summary(self) -> str:
        """One line for a person: ``1200 records: 1150 added, 48 updated, ... 2 skipped``."""
        return (
            f"{self.read} records: {self.added} added, {self.updated} updated, "
            f"{self.deleted} deleted, {self.copies} copies, {len(self.skipped)} skipped, "
            f"{len(self.warnings)} warnings"
        )


@dataclass(frozen=True)
class ImportProgress:
    """How far an import has come; ``fraction`` of the file read, when the size is known."""

    records: int
    skipped: int
    fraction: float | None


Progress = Callable[[ImportProgress], None]
