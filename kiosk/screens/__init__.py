"""The kiosk's screens: one module and one ``.kv`` layout per screen, each bound to a view model."""

from __future__ import annotations

from pathlib import Path

KV_DIR = Path(__file__).resolve().parent
