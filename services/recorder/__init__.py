"""The server's recorder: every event stored once, current states, alarms, statistics, retention."""
