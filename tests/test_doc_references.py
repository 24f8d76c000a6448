"""Code comments cite documents that are in the repository, not numbered rules kept elsewhere."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCES = [
    p for d in ("services", "hardware", "kiosk", "benchmarks") for p in (ROOT / d).rglob("*.py")
]


def test_every_cited_document_exists() -> None:
    cited = {
        (path.relative_to(ROOT), name)
        for path in SOURCES
        for name in re.findall(r"[\w/.-]+\.md\b", path.read_text(encoding="utf-8"))
    }
    assert cited, "the search found no citation at all"
    missing = [(str(p), n) for p, n in cited if not (ROOT / n).is_file()]
    assert missing == []


def test_no_comment_cites_a_numbered_convention() -> None:
    found = [
        str(path.relative_to(ROOT))
        for path in SOURCES
        if re.search(r"\bconventions?\b[ :]*\d|conventions:", path.read_text(encoding="utf-8"))
    ]
    assert found == []
