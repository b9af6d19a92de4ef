"""HL7 v2 over MLLP: receive orders and results, deliver them, ACK every message.

AA when the service took the items; AE when it refused one (or could not be reached, so the
RIS resends later); AR when the message cannot be parsed or is of a type not handled here.
Messages on one connection are handled in order; each connection runs independently.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import hl7.mllp

from connectors.delivery import DeliveryError, DeliveryRejected
from connectors.hl7_ack import AA, AE, AR, ERR_INTERNAL, ERR_REQUIRED, ERR_UNSUPPORTED, build_ack
from connectors.hl7_map import (
    Hl7Error,
    Hl7ParseError,
    Hl7Rules,
    UnsupportedMessage,
    parse,
    to_items,
)
from connectors.jsonlog import log
from connectors.sink import Sink
from connectors.state import Quarantine

MAX_MESSAGE_BYTES = 4 * 1024 * 1024  # long ORU report texts
_REDACT_PID = (5, 6, 9, 11, 13, 14)  # names, maiden name, alias, address, phones


def redact(raw: str) -> str:
    """The message as kept in quarantine: PID names, address and phone numbers blanked."""
    lines = []
    for segment in raw.replace("\r\n", "\r").replace("\n", "\r").split("\r"):
        if segment.startswith("PID") and len(segment) > 3:
            sep = segment[3]
            parts = segment.split(sep)
            for n in _REDACT_PID:
                if n < len(parts) and parts[n]:
                    parts[n] = "***"
            segment = sep.join(parts)
        lines.append(segment)
    return "\r".join(lines)


def _decode(block: bytes) -> str:
    """UTF-8, else ISO 8859-1 (what many UK RIS send, MSH-18 8859/1)."""
    try:
        return block.decode("utf-8")
    except UnicodeDecodeError:
        return block.decode("latin-1")


@dataclass
class Handled:
    """The ACK to send and what the message became."""

    ack: str
    code: str
    reason: str = ""


class Hl7Handler:
    """Turns one raw message into delivered items and an ACK (synchronous, thread-safe)."""

    def __init__(self, rules: Hl7Rules, sink: Sink, quarantine: Quarantine) -> None:
        self.rules = rules
        self.sink = sink
        self.quarantine = quarantine

    def handle(self, raw: str) -> Handled:
        try:
            message = parse(raw)
            parsed = to_items(message, self.rules)
        except Hl7ParseError as exc:
            return self._refuse(raw, AR, str(exc), ERR_INTERNAL)
        except UnsupportedMessage as exc:
            return self._refuse(raw, AR, str(exc), ERR_UNSUPPORTED)
        except Hl7Error as exc:
            return self._refuse(raw, AE, str(exc), ERR_REQUIRED)
        if parsed.endpoint is None:
            log("hl7_not_forwarded", connector="hl7", note=parsed.note)
            return Handled(build_ack(raw, AA, parsed.note), AA, parsed.note)
        try:
            outcome = self.sink.deliver(parsed.endpoint, parsed.items)
        except DeliveryRejected as exc:
            return self._refuse(raw, AE, f"service refused the request: {exc}", ERR_INTERNAL)
        except DeliveryError as exc:
            # Not the message's fault: no quarantine; the RIS resends on AE.
            log("hl7_service_unavailable", level=40, connector="hl7", error=str(exc))
            reason = "worklist service unavailable, resend later"
            return Handled(build_ack(raw, AE, reason, ERR_INTERNAL), AE, reason)
        if outcome.rejected:
            reason = "; ".join(r["error"] for r in outcome.rejected)
            return Handled(build_ack(raw, AE, reason, ERR_INTERNAL), AE, reason)
        note = parsed.note or f"{outcome.accepted} item(s) accepted"
        return Handled(build_ack(raw, AA, note), AA, note)

    def _refuse(self, raw: str, code: str, reason: str, error: str) -> Handled:
        self.quarantine.add("hl7", reason, redact(raw), ack=code)
        return Handled(build_ack(raw, code, reason, error), code, reason)


class MllpServer:
    """The asyncio MLLP listener (``hl7.mllp.start_hl7_server``) around an :class:`Hl7Handler`."""

    def __init__(self, handler: Hl7Handler, host: str = "0.0.0.0", port: int = 2575) -> None:
        self.handler = handler
        self.host = host
        self.port = port
        self._server: asyncio.Server | None = None
        self.handled = 0

    async def _client(
        self, reader: hl7.mllp.HL7StreamReader, writer: hl7.mllp.HL7StreamWriter
    ) -> None:
        peer = writer.get_extra_info("peername")
        try:
            while not reader.at_eof():
                try:
                    block: bytes = await reader.readblock()
                except asyncio.IncompleteReadError:
                    break
                except (hl7.mllp.InvalidBlockError, ValueError) as exc:
                    log("mllp_bad_frame", level=30, peer=str(peer), error=str(exc))
                    writer.writeblock(build_ack("", AR, f"bad MLLP frame: {exc}").encode())
                    await writer.drain()
                    continue
                raw = _decode(block)
                try:
                    result = await asyncio.to_thread(self.handler.handle, raw)
                except Exception as exc:  # a bug must not leave the sender without an ACK
                    log("hl7_internal_error", level=40, connector="hl7", error=repr(exc))
                    reason = f"internal error: {type(exc).__name__}"
                    result = Handled(build_ack(raw, AE, reason, ERR_INTERNAL), AE, reason)
                self.handled += 1
                log(
                    "hl7_message",
                    connector="hl7",
                    peer=str(peer),
                    ack=result.code,
                    reason=result.reason,
                )
                writer.writeblock(result.ack.encode("utf-8"))
                await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    async def start(self) -> None:
        self._server = await hl7.mllp.start_hl7_server(self._client, host=self.host, port=self.port)
        sockets = self._server.sockets or []
        if sockets:
            self.port = int(sockets[0].getsockname()[1])
        log("mllp_listening", connector="hl7", host=self.host, port=self.port)

    async def serve_forever(self) -> None:
        await self.start()
        assert self._server is not None
        async with self._server:
            await self._server.serve_forever()

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
