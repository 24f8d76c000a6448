"""SIP2 (3M Standard Interchange Protocol 2.00): the library system behind the door and the kiosk.

Layers, bottom up: :mod:`.messages` (frames, checksums, tolerant parsing; pure),
:mod:`.requests` and :mod:`.replies` (the messages aabent uses; pure), :mod:`.transport` (raw
TCP/TLS or FBS's SIP2-over-HTTPS), :mod:`.client` (one logged-in connection, resends, back-off),
:mod:`.health` (online/offline with hysteresis), :mod:`.cache` (the door's offline verifiers) and
:mod:`.directory` (the :class:`~services.core.patrons.PatronDirectory` on top).
"""
