"""A QR code as a Kivy image, for the programme poster's links to the activities' pages.

segno draws the code (pure Python, no Pillow; README's libraries table says why); the PNG it
writes becomes a texture with nearest-neighbour scaling, so the modules stay sharp at any size.
"""

from __future__ import annotations

import io
from typing import Any

from kivy.core.image import Image as CoreImage
from kivy.properties import StringProperty
from kivy.uix.image import Image


def qr_png(data: str, scale: int = 8) -> bytes:
    """The QR code of ``data`` as PNG bytes (error correction M, a 4-module quiet zone)."""
    import segno  # only when a poster is drawn: not on the kiosk's way to its first frame

    out = io.BytesIO()
    segno.make(data, error="m", micro=False).save(out, kind="png", scale=scale, border=4)
    return out.getvalue()


class QrCode(Image):  # type: ignore[misc]
    """Shows the QR code of ``data``; nothing for an empty ``data``."""

    data = StringProperty("")

    def on_data(self, _instance: Any, data: str) -> None:
        """Draw the new code."""
        if not data:
            self.texture = None
            return
        texture = CoreImage(io.BytesIO(qr_png(data)), ext="png").texture
        texture.mag_filter = "nearest"
        self.texture = texture
