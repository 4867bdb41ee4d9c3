"""A desk that does the WebSocket handshake and then stops reading: a phone on a dead cell,
a frozen browser tab. A real socket with a tiny receive buffer, and a reader of the raw
frames it was sent, for when the test finally looks."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import struct
from dataclasses import dataclass, field
from typing import Any

CLOSE, TEXT = 0x8, 0x1


@dataclass
class Frames:
    """What a raw socket received, decoded: text frames as JSON, and the close code."""

    texts: list[dict[str, Any]] = field(default_factory=list)
    close_code: int | None = None
    close_reason: str = ""

    def seqs(self) -> list[int]:
        return [f["seq"] for f in self.texts if f.get("type") in ("alert", "update", "cancel")]


async def connect_stuck(host: str, port: int, token: str) -> socket.socket:
    """Open a feed socket with a tiny receive buffer, finish the handshake, stop reading."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)  # set before connect: window
    sock.setblocking(False)
    loop = asyncio.get_running_loop()
    await loop.sock_connect(sock, (host, port))
    key = base64.b64encode(os.urandom(16)).decode()
    await loop.sock_sendall(sock, (
        f"GET /api/v1/feed HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
        f"Authorization: Bearer {token}\r\n\r\n").encode())
    answer = b""
    while b"\r\n\r\n" not in answer:
        answer += await loop.sock_recv(sock, 1)  # byte by byte: read nothing past the head
    assert answer.startswith(b"HTTP/1.1 101"), answer
    return sock


def masked(payload: dict[str, Any]) -> bytes:
    """A client frame (clients must mask) carrying one JSON message."""
    data = json.dumps(payload).encode()
    mask = os.urandom(4)
    body = bytes(b ^ mask[i % 4] for i, b in enumerate(data))
    assert len(data) < 126
    return struct.pack("!BB", 0x81, 0x80 | len(data)) + mask + body


async def drain(sock: socket.socket, wait_s: float = 10.0) -> Frames:
    """Read everything the server sent until it closed the connection, and decode it."""
    loop = asyncio.get_running_loop()
    data = b""
    while True:
        try:
            chunk = await asyncio.wait_for(loop.sock_recv(sock, 65536), wait_s)
        except ConnectionResetError:
            break
        if not chunk:
            break
        data += chunk
    sock.close()
    return decode(data)


def decode(data: bytes) -> Frames:
    frames, at = Frames(), 0
    while at + 2 <= len(data):
        opcode, size = data[at] & 0x0F, data[at + 1] & 0x7F
        at += 2
        if size == 126:
            (size,) = struct.unpack("!H", data[at:at + 2])
            at += 2
        elif size == 127:
            (size,) = struct.unpack("!Q", data[at:at + 8])
            at += 8
        if at + size > len(data):
            break  # cut off mid-frame: the connection was dropped
        payload = data[at:at + size]
        at += size
        if opcode == TEXT:
            frames.texts.append(json.loads(payload))
        elif opcode == CLOSE and len(payload) >= 2:
            (frames.close_code,) = struct.unpack("!H", payload[:2])
            frames.close_reason = payload[2:].decode()
    return frames
