"""The library catalogue: MARC/CSV import, Danish-aware full-text search, titles and copies.

The kiosk calls ``services.catalogue.search.search`` and ``.item``; ``aabent catalogue import``
runs ``services.catalogue.importer.import_file``.
"""
