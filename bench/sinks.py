"""The outbox benchmark's receivers, each a process of its own, and their launchers.

    python -m bench.sinks smtp PORT STATS_PORT   # an SMTP sink: counts mails by Message-ID
    python -m bench.sinks aiosmtpd PORT STATS_PORT   # the same on aiosmtpd (~1,000 mails/s)
    python -m bench.sinks web PORT               # a chat webhook and a trivial POST handler

Both answer `GET /counts` (JSON) and `POST /reset` over HTTP, and stamp what they receive
with `time.monotonic()`, which on Linux is one clock for every process on the machine, so
the benchmark can take "the last mail arrived at" from the receiver itself rather than from
its polling.
"""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, cast

import aiohttp
from aiohttp import web

_MESSAGE_ID = re.compile(rb"^message-id:[ \t]*(\S+)", re.IGNORECASE | re.MULTILINE)


@dataclass
class Tally:
    """What a receiver has had since its last reset."""

    started_at: float = field(default_factory=time.monotonic)
    messages: int = 0
    octets: int = 0
    first_at: float | None = None
    last_at: float | None = None
    ids: Counter[bytes] = field(default_factory=Counter)
    sample: bytes = b""

    def add(self, size: int, message_id: bytes | None = None) -> None:
        now = time.monotonic()
        self.messages += 1
        self.octets += size
        self.first_at = self.first_at if self.first_at is not None else now
        self.last_at = now
        if message_id is not None:
            self.ids[message_id] += 1

    def clear(self) -> None:
        """Forget everything but when the receiver started listening."""
        self.messages = self.octets = 0
        self.first_at = self.last_at = None
        self.ids = Counter()
        self.sample = b""

    def json(self) -> dict[str, Any]:
        return {"started_at": self.started_at, "messages": self.messages,
                "bytes": self.octets, "first_at": self.first_at, "last_at": self.last_at,
                "unique": len(self.ids), "duplicates": self.messages - len(self.ids)
                if self.ids else 0}


def message_id(content: bytes) -> bytes:
    """The Message-ID header's value, found in the header block only; "(none)" if absent."""
    head = content[:content.find(b"\r\n\r\n")]
    found = _MESSAGE_ID.search(head)
    return found.group(1) if found else b"(none)"


class SmtpTally(Tally):
    """aiosmtpd's handler: one Message-ID search in the header block, then 250."""

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.add(len(envelope.content), message_id(envelope.content))
        return "250 OK"


# PIPELINING as real relays (Postfix, Exim, the mail services) offer it; aiosmtpd does not.
_EHLO = (b"250-sink.bench\r\n250-8BITMIME\r\n250-PIPELINING\r\n250-SMTPUTF8\r\n"
         b"250-SIZE 33554432\r\n250 HELP\r\n")
_REPLIES = {b"HELO": b"250 sink.bench\r\n", b"MAIL": b"250 OK\r\n", b"RCPT": b"250 OK\r\n",
            b"RSET": b"250 OK\r\n", b"NOOP": b"250 OK\r\n", b"DATA": b"354 End with .\r\n",
            b"QUIT": b"221 Bye\r\n", b"EHLO": _EHLO}


class FastSmtp(asyncio.Protocol):
    """Just enough SMTP for aiosmtplib and the hub (EHLO, MAIL, RCPT, DATA, RSET, NOOP,
    QUIT, pipelined or not; no TLS), every command answered 250. aiosmtpd reads DATA a
    line at a time and parses every address, about 1 ms of CPU a mail, which would cap a
    sink at about 1,000 mails a second; this finds the end of the data in one search,
    about 0.1 ms."""

    def __init__(self, tally: Tally) -> None:
        self.tally, self.buffer, self.in_data = tally, bytearray(), False
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is no subclass
        self.transport.write(b"220 sink.bench ESMTP bench sink\r\n")

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while self.transport is not None and self._step(self.transport):
            pass

    def _step(self, transport: asyncio.Transport) -> bool:
        """Handle one command or one message from the buffer; False when it needs more."""
        if self.in_data:
            if self.buffer.startswith(b".\r\n"):
                end, skip = 0, 3  # an empty message
            else:
                end = self.buffer.find(b"\r\n.\r\n")
                end, skip = (end + 2, 3) if end >= 0 else (-1, 0)
            if end < 0:
                return False
            content = bytes(self.buffer[:end])
            del self.buffer[:end + skip]
            self.in_data = False
            self.tally.add(len(content), message_id(content))
            transport.write(b"250 OK queued\r\n")
            return True
        newline = self.buffer.find(b"\r\n")
        if newline < 0:
            return False
        verb = bytes(self.buffer[:4]).upper()
        del self.buffer[:newline + 2]
        transport.write(_REPLIES.get(verb, b"502 Not implemented\r\n"))
        self.in_data = verb == b"DATA"
        if verb == b"QUIT":
            transport.close()
            self.transport = None
        return True

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None


def _stats_app(tally: Tally) -> web.Application:
    """`GET /counts` and `POST /reset` for a receiver's tally."""

    async def counts(_request: web.Request) -> web.Response:
        return web.json_response(tally.json())

    async def reset(_request: web.Request) -> web.Response:
        tally.clear()
        return web.json_response({})

    async def sample(_request: web.Request) -> web.Response:
        return web.Response(body=tally.sample, content_type="application/json")

    app = web.Application()
    app.router.add_get("/counts", counts)
    app.router.add_post("/reset", reset)
    app.router.add_get("/sample", sample)
    return app


async def _serve_http(app: web.Application, port: int) -> None:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port, backlog=1024).start()


async def smtp_sink(port: int, stats_port: int, use_aiosmtpd: bool = False) -> None:
    """An SMTP server on the running loop (no thread of its own), and its stats: the fast
    one of this module, or aiosmtpd's (`aiosmtpd`) for a cross-check."""
    from aiosmtpd.smtp import SMTP

    tally = SmtpTally()
    loop = asyncio.get_running_loop()

    def protocol() -> asyncio.Protocol:
        if use_aiosmtpd:
            return SMTP(tally, hostname="sink.bench", ident="bench sink", enable_SMTPUTF8=True)
        return FastSmtp(tally)

    server = await loop.create_server(protocol, "127.0.0.1", port, backlog=1024)
    tally.started_at = time.monotonic()  # listening from here on
    await _serve_http(_stats_app(tally), stats_port)
    async with server:
        await asyncio.Event().wait()


async def web_sink(port: int) -> None:
    """`POST /hooks/{room}`: a chat webhook counting posts; `POST /publish`: a trivial JSON
    handler answering 201 with a sequence number, the bare baseline of the publish path."""
    tally = Tally()
    seq = 0

    async def hook(request: web.Request) -> web.Response:
        body = await request.read()
        tally.sample = tally.sample or body
        tally.add(len(body))
        return web.Response(text="ok")

    async def publish(request: web.Request) -> web.Response:
        nonlocal seq
        await request.json()
        seq += 1
        tally.add(0)
        return web.json_response({"seq": seq}, status=201)

    app = _stats_app(tally)
    app.router.add_post("/hooks/{room}", hook)
    app.router.add_post("/publish", publish)
    await _serve_http(app, port)
    await asyncio.Event().wait()


def _run(main: Any) -> None:
    try:
        import uvloop
    except ImportError:
        asyncio.run(main)
        return
    uvloop.run(main)


class Receiver:
    """A receiver process, started and waited on from the benchmark."""

    def __init__(self, kind: str, port: int, stats_port: int | None = None) -> None:
        self.kind, self.port = kind, port
        self.stats_port = stats_port or port
        extra = [str(stats_port)] if stats_port else []
        self.process = subprocess.Popen([sys.executable, "-m", "bench.sinks", kind,
                                         str(port), *extra])
        self.http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.stats_port}"

    @property
    def smtp_url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    async def ready(self) -> Receiver:
        """Until its stats answer; raises if it died or never answered."""
        for _ in range(300):
            if self.process.poll() is not None:
                break
            try:
                await self.counts()
                return self
            except (aiohttp.ClientError, OSError):
                await asyncio.sleep(0.05)
        await self.stop()
        raise RuntimeError(f"the {self.kind} receiver did not start")

    async def counts(self) -> dict[str, Any]:
        async with self.http.get(f"{self.base}/counts") as answer:
            return dict(await answer.json())

    async def sample(self) -> bytes:
        async with self.http.get(f"{self.base}/sample") as answer:
            return await answer.read()

    async def reset(self) -> None:
        async with self.http.post(f"{self.base}/reset") as answer:
            answer.raise_for_status()

    async def wait_for(self, count: int, timeout_s: float, key: str = "messages",
                       settle_s: float = 0.5) -> dict[str, Any]:
        """Counts once `key` reaches `count` (and a short settle for late duplicates), or
        at the deadline, with `timed_out` set."""
        deadline = time.monotonic() + timeout_s
        counts = await self.counts()
        while counts[key] < count and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
            counts = await self.counts()
        if counts[key] >= count:
            await asyncio.sleep(settle_s)
            counts = await self.counts()
        return {**counts, "timed_out": counts[key] < count}

    async def stop(self) -> None:
        await self.http.close()
        self.process.terminate()
        try:
            await asyncio.to_thread(self.process.wait, 10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            await asyncio.to_thread(self.process.wait)


def main() -> None:
    kind, port = sys.argv[1], int(sys.argv[2])
    if kind in ("smtp", "aiosmtpd"):
        _run(smtp_sink(port, int(sys.argv[3]), use_aiosmtpd=kind == "aiosmtpd"))
    elif kind == "web":
        _run(web_sink(port))
    else:
        raise SystemExit(f"unknown receiver {kind!r}: smtp or web")


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
