"""A real HL7 MLLP peer (the ``hl7`` package's asyncio server) standing in for a provider."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import hl7
import hl7.mllp


class MllpPeer:
    """Receives messages on a loopback port and answers each with ``answer`` (AA, AE, AR)."""

    def __init__(self, port: int, answer: str = "AA") -> None:
        self.port = port
        self.answer = answer
        self.received: list[str] = []
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._server: asyncio.AbstractServer | None = None

    async def _handle(
        self, reader: hl7.mllp.HL7StreamReader, writer: hl7.mllp.HL7StreamWriter
    ) -> None:
        try:
            while not writer.is_closing():
                message = await reader.readmessage()
                self.received.append(str(message))
                writer.writemessage(message.create_ack(self.answer))
                await writer.drain()
        except asyncio.IncompleteReadError:
            writer.close()

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)

        async def start() -> None:
            self._server = await hl7.mllp.start_hl7_server(
                self._handle, host="127.0.0.1", port=self.port
            )
            self._ready.set()

        self._loop.run_until_complete(start())
        self._loop.run_forever()

    def start(self) -> None:
        self._thread.start()
        assert self._ready.wait(10), "MLLP peer did not start"

    def stop(self) -> None:
        async def close() -> None:
            if self._server is not None:
                self._server.close()
                await self._server.wait_closed()

        asyncio.run_coroutine_threadsafe(close(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)


@contextmanager
def mllp_peer(port: int, answer: str = "AA") -> Iterator[MllpPeer]:
    peer = MllpPeer(port, answer)
    peer.start()
    try:
        yield peer
    finally:
        peer.stop()
