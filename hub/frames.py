"""WebSocket frames built once as bytes, so one encoded alert goes to every desk as it is."""

from __future__ import annotations

import struct

FIN_TEXT, FIN_CLOSE, FIN_PING = 0x81, 0x88, 0x89


def frame(opcode: int, payload: bytes) -> bytes:
    """One unmasked, uncompressed frame (RFC 6455 5.2): what a server sends every client."""
    size = len(payload)
    if size < 126:
        header = struct.pack("!BB", opcode, size)
    elif size < 65536:
        header = struct.pack("!BBH", opcode, 126, size)
    else:
        header = struct.pack("!BBQ", opcode, 127, size)
    return header + payload


def text(payload: str) -> bytes:
    return frame(FIN_TEXT, payload.encode())


def close(code: int, reason: str) -> bytes:
    # A control frame's payload is at most 125 bytes: the code and a short reason.
    return frame(FIN_CLOSE, struct.pack("!H", code) + reason.encode()[:123])


PING = frame(FIN_PING, b"")
