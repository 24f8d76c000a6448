"""The staff dashboard of ``aabent server``: login, live view, alarms, commands and statistics."""
