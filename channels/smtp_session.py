"""One logged-in SMTP session carrying mail transactions, pipelined where the relay allows.

aiosmtplib opens the session (greeting, EHLO, STARTTLS, AUTH); this module then takes over
its transport and runs each mail as MAIL, RCPT, DATA and the message. A relay that
advertises PIPELINING (RFC 2920) gets the three commands in one write and answers them
together: two round trips a mail instead of four. The message comes ready to send (CRLF
line endings, dot-stuffed, see `ready_body`), so nothing is rescanned per recipient.
"""

from __future__ import annotations

import asyncio
import re
from collections import deque
from typing import cast

import aiosmtplib

_PERIOD = re.compile(rb"(?m)^\.")
_CONTROL = re.compile(rb"[\x00-\x1f\x7f]")  # never inside a command: CR and LF inject
_MAX_REPLY = 64 * 1024


class SessionClosed(Exception):
    """The relay hung up, or the session broke: it cannot be used again."""


class Refused(Exception):
    """The relay answered a mail's command with `code`; the session is still usable."""

    def __init__(self, code: int, text: str) -> None:
        super().__init__(f"{code} {text}")
        self.code, self.text = code, text


def ready_body(data: bytes) -> bytes:
    """`data` (CRLF line endings) as a DATA payload: dot-stuffed, ending in CRLF."""
    stuffed = _PERIOD.sub(b"..", data)
    return stuffed if stuffed.endswith(b"\r\n") else stuffed + b"\r\n"


class Session(asyncio.Protocol):
    """The relay's replies, parsed as they arrive, and the mail transactions that wait
    for them. Take one over from a connected aiosmtplib.SMTP with `take_over`."""

    def __init__(self, transport: asyncio.WriteTransport, *, pipelining: bool,
                 smtputf8: bool, timeout: float) -> None:
        self.transport, self.pipelining, self.smtputf8 = transport, pipelining, smtputf8
        self.timeout = timeout
        self._buffer = bytearray()
        self._replies: deque[tuple[int, str]] = deque()
        self._waiter: asyncio.Future[None] | None = None
        self._lost: str | None = None
        self._gone = asyncio.get_running_loop().create_future()  # done at connection_lost

    @classmethod
    def take_over(cls, smtp: aiosmtplib.SMTP, timeout: float) -> Session:
        transport = cast(asyncio.WriteTransport | None, smtp.transport)  # uvloop's: no subclass
        if transport is None or transport.is_closing():
            raise SessionClosed("the relay closed the session as it opened")
        session = cls(transport, pipelining=smtp.supports_extension("pipelining"),
                      smtputf8=smtp.supports_extension("smtputf8"), timeout=timeout)
        transport.set_protocol(session)
        return session

    @property
    def usable(self) -> bool:
        return self._lost is None and not self.transport.is_closing()

    # ---- asyncio.Protocol

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        try:
            while (reply := self._take_reply()) is not None:
                self._replies.append(reply)
        except ValueError as exc:
            self._lose(str(exc))
            self.transport.close()
        if len(self._buffer) > _MAX_REPLY:
            self._lose("the relay sent a reply too long to read")
            self.transport.close()
        self._wake()

    def _take_reply(self) -> tuple[int, str] | None:
        """The first whole reply in the buffer (taken out of it), or None until one is."""
        start, texts = 0, []
        while (end := self._buffer.find(b"\n", start)) != -1:
            line = bytes(self._buffer[start:end + 1])
            if len(line) < 4 or not line[:3].isdigit():
                raise ValueError(f"the relay sent a malformed reply: {line[:80]!r}")
            texts.append(line[4:].strip())
            start = end + 1
            if line[3:4] != b"-":  # the last line of the reply
                del self._buffer[:start]
                return int(line[:3]), b"\n".join(texts).decode("utf-8", "replace")
        return None

    def eof_received(self) -> bool:
        self._lose("the relay closed the session")
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self._lose(f"the relay's connection was lost: {exc}" if exc else
                   "the relay closed the session")
        if not self._gone.done():
            self._gone.set_result(None)

    # ---- commands

    async def send_mail(self, sender: str, recipient: str, body: bytes, *,
                        utf8: bool) -> None:
        """One mail transaction. Raises Refused for a reply the relay gives this mail
        (after RSET, so the session goes on), SessionClosed when the session is gone,
        TimeoutError when the relay stops answering, ValueError for a bad address."""
        mail = b"MAIL FROM:<" + sender.encode() + b">" + (b" SMTPUTF8" if utf8 else b"")
        rcpt = b"RCPT TO:<" + recipient.encode() + b">"
        if _CONTROL.search(mail + rcpt):
            raise ValueError("an address holds a control character")
        async with asyncio.timeout(self.timeout):
            if self.pipelining:
                self._write(mail + b"\r\n" + rcpt + b"\r\nDATA\r\n")
                replies = [await self._reply() for _ in range(3)]
            else:
                replies = []
                for command in (mail, rcpt, b"DATA"):
                    self._write(command + b"\r\n")
                    replies.append(await self._reply())
                    if replies[-1][0] >= 400:
                        break
            refusal = _first_refusal(replies)
            if refusal is None:
                self._write(body + b".\r\n")
                code, text = await self._reply()
                if code != 250:
                    raise Refused(code, text)
                return
            if replies[-1][0] == 354:  # DATA began after all: end it empty, then reset
                self._write(b".\r\n")
                await self._reply()
            await self._reset()
            raise Refused(*refusal)

    async def noop(self) -> None:
        async with asyncio.timeout(self.timeout):
            self._write(b"NOOP\r\n")
            code, text = await self._reply()
        if code != 250:
            raise Refused(code, text)

    async def quit(self) -> None:
        """Say QUIT and close the connection, waiting (briefly: a hang-up must not hang)
        until it is closed, TLS shutdown included, so no socket outlives the channel."""
        try:
            async with asyncio.timeout(min(self.timeout, 2.0)):
                try:
                    self._write(b"QUIT\r\n")
                    await self._reply()
                except (SessionClosed, OSError):
                    pass
                finally:
                    self.close()
                await asyncio.shield(self._gone)
        except TimeoutError:
            self.transport.abort()

    def close(self) -> None:
        self._lose("closed")
        self.transport.close()

    # ---- inside

    async def _reset(self) -> None:
        self._write(b"RSET\r\n")
        code, text = await self._reply()
        if code != 250:
            self.close()  # a session we cannot reset cannot carry the next mail
            raise SessionClosed(f"the relay refused RSET: {code} {text}")

    def _write(self, data: bytes) -> None:
        if not self.usable:
            raise SessionClosed(self._lost or "the relay closed the session")
        self.transport.write(data)

    async def _reply(self) -> tuple[int, str]:
        while not self._replies:
            if self._lost is not None:
                raise SessionClosed(self._lost)
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        code, text = self._replies.popleft()
        if code == 421:  # the relay is closing this session (RFC 5321 3.8)
            self.close()
            raise Refused(code, text)
        return code, text

    def _lose(self, why: str) -> None:
        if self._lost is None:
            self._lost = why
        self._wake()

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)


def _first_refusal(replies: list[tuple[int, str]]) -> tuple[int, str] | None:
    """The first reply of MAIL, RCPT and DATA that is not the one wanted, if any."""
    for (code, text), wanted in zip(replies, ((250,), (250, 251), (354,)), strict=False):
        if code not in wanted:
            return code, text
    return None if len(replies) == 3 else (0, "no reply")
