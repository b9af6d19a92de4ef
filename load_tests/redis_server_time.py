"""Redis's own time for each call of a script, read from its slow log at a threshold of 0.

A claim timed from Python includes the round trip: the client's send, the wake-up of
redis-server, the reply and the wake-up of the client. On a virtual machine those wake-ups
alone can cost milliseconds at p99 (the empty script timed beside each claim shows it). The
slow log records how long the server spent executing each command, in microseconds, without
any of that, so the script's own cost can be told apart from the machine's.

At a threshold of 0 the log also records every ``redis.call`` inside a script (their time is
part of the script's own entry), so a claim adds dozens of entries: use as a context manager
around the timed loop and call ``drain()`` every few dozen calls, outside the timed part (the
log keeps ``max_len`` entries; ``overflowed`` says if it filled). The server's settings are
put back on exit.
"""

from __future__ import annotations

from collections import defaultdict
from types import TracebackType
from typing import Any

import redis

SETTINGS = ("slowlog-log-slower-than", "slowlog-max-len")


class ScriptServerTimes:
    """Microseconds Redis spent in each EVALSHA call, per script SHA1."""

    def __init__(self, client: redis.Redis, max_len: int = 16384) -> None:
        self._client = client
        self._max_len = max_len
        self._saved: dict[str, Any] = {}
        self.micros: defaultdict[str, list[int]] = defaultdict(list)
        self.overflowed = False  # a full log may have dropped entries: drain more often

    def __enter__(self) -> ScriptServerTimes:
        for name in SETTINGS:
            self._saved[name] = self._client.config_get(name)[name]
        self._client.config_set("slowlog-max-len", self._max_len)
        self._client.config_set("slowlog-log-slower-than", 0)
        self._client.slowlog_reset()
        return self

    def discard(self) -> None:
        """Forget what the log holds (calls made before the timed part)."""
        self._client.slowlog_reset()

    def drain(self) -> None:
        """Move what the log holds into ``micros`` and empty it."""
        entries = self._client.slowlog_get(self._max_len)
        self.overflowed |= len(entries) >= self._max_len
        for entry in entries:
            words = _words(entry["command"])
            if len(words) >= 2 and words[0].upper() == "EVALSHA":
                self.micros[words[1].lower()].append(int(entry["duration"]))
        self._client.slowlog_reset()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        try:
            if kind is None:
                self.drain()
        finally:
            for name, value in self._saved.items():
                self._client.config_set(name, value)
            self._client.slowlog_reset()


def _words(command: Any) -> list[str]:
    text = command.decode(errors="replace") if isinstance(command, bytes) else str(command)
    return text.split(" ", 2)
