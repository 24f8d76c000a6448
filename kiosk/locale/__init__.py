"""The kiosk's strings: ``da.toml`` (default) and ``en.toml``, read by :mod:`kiosk.i18n`."""
