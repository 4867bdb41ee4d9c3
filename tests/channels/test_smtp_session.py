"""The SMTP session of the email channel against a scripted relay on a real socket: what
goes over the wire when the relay offers PIPELINING, and the replies it may give."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import pytest

from channels.base import Message
from channels.email import EmailChannel
from channels.smtp_session import ready_body

FROM = "alerts@vigil.example"
ALERT = Message(subject="Road closed", text="Keep clear.\n.\n..and a dot line\n")

# A command line (or b"." for the end of a message) to the reply: None for the usual one,
# b"" for none at all.
Replies = Callable[[bytes], bytes | None]


@dataclass
class Script:
    """What the relay answers, and everything it read, one entry per read from the socket."""

    ehlo: bytes = b"250-relay.test\r\n250-PIPELINING\r\n250 8BITMIME\r\n"
    replies: Replies = lambda _line: None
    reads: list[bytes] = field(default_factory=list)
    mails: list[bytes] = field(default_factory=list)
    connections: int = 0


class ScriptedRelay(asyncio.Protocol):
    def __init__(self, script: Script) -> None:
        self.script, self.buffer, self.in_data = script, bytearray(), False
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.script.connections += 1
        transport.write(b"220 relay.test ESMTP\r\n")

    def data_received(self, data: bytes) -> None:
        self.script.reads.append(data)
        self.buffer += data
        while self.transport is not None and self._step(self.transport):
            pass

    def _step(self, transport: asyncio.Transport) -> bool:
        if self.in_data:
            end = self.buffer.find(b"\r\n.\r\n")
            if end < 0:
                return False
            self.script.mails.append(bytes(self.buffer[:end + 2]))
            del self.buffer[:end + 5]
            self.in_data = False
            reply = self.script.replies(b".")
            transport.write(b"250 queued\r\n" if reply is None else reply)
            return True
        end = self.buffer.find(b"\r\n")
        if end < 0:
            return False
        line = bytes(self.buffer[:end])
        del self.buffer[:end + 2]
        verb = line[:4].upper()
        default = {b"EHLO": self.script.ehlo, b"DATA": b"354 go ahead\r\n",
                   b"QUIT": b"221 bye\r\n"}.get(verb, b"250 OK\r\n")
        reply = self.script.replies(line)
        reply = default if reply is None else reply
        transport.write(reply)
        self.in_data = verb == b"DATA" and reply.startswith(b"354")
        if verb == b"QUIT" or reply.startswith(b"421"):
            transport.close()
            self.transport = None
        return True


@pytest.fixture
def script() -> Script:
    return Script()


@pytest.fixture
async def channel(script: Script) -> AsyncIterator[EmailChannel]:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: ScriptedRelay(script), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    email = EmailChannel(f"smtp://127.0.0.1:{port}", FROM, timeout=2)
    yield email
    await email.close()
    server.close()
    await server.wait_closed()


def mail_commands(script: Script) -> list[bytes]:
    """The reads that carried a MAIL command."""
    return [read for read in script.reads if read.startswith(b"MAIL")]


async def test_with_pipelining_mail_rcpt_and_data_go_in_one_write(
        channel: EmailChannel, script: Script) -> None:
    for n in range(3):
        assert (await channel.send(ALERT, f"desk{n}@partner.example")).ok
    assert mail_commands(script) == [
        f"MAIL FROM:<{FROM}>\r\nRCPT TO:<desk{n}@partner.example>\r\nDATA\r\n".encode()
        for n in range(3)]
    assert script.connections == 1 and len(script.mails) == 3


async def test_without_pipelining_each_command_waits_for_its_reply(
        channel: EmailChannel, script: Script) -> None:
    script.ehlo = b"250-relay.test\r\n250 8BITMIME\r\n"
    assert (await channel.send(ALERT, "desk@partner.example")).ok
    assert mail_commands(script) == [f"MAIL FROM:<{FROM}>\r\n".encode()]
    assert b"RCPT TO:<desk@partner.example>\r\n" in script.reads


async def test_lines_starting_with_a_dot_are_stuffed_once(
        channel: EmailChannel, script: Script) -> None:
    assert (await channel.send(ALERT, "desk@partner.example")).ok
    body = script.mails[0]
    assert b"\r\n..\r\n" in body and b"\r\n...and a dot line\r\n" in body
    assert ready_body(b".a\r\nb\r\n..c") == b"..a\r\nb\r\n...c\r\n"


async def test_a_refused_recipient_in_a_pipeline_is_reset_and_the_session_goes_on(
        channel: EmailChannel, script: Script) -> None:
    def replies(line: bytes) -> bytes | None:
        if line == b"RCPT TO:<gone@partner.example>":
            return b"550-5.1.1 no such\r\n550 5.1.1 mailbox\r\n"
        if line == b"DATA" and script.reads[-1].count(b"gone@") == 1:
            return b"554 5.5.1 no valid recipients\r\n"
        return None

    script.replies = replies
    refused = await channel.send(ALERT, "gone@partner.example")
    assert (refused.ok, refused.permanent, refused.outage) == (False, True, False)
    assert refused.error is not None and "550 5.1.1 no such\n5.1.1 mailbox" in refused.error
    assert (await channel.send(ALERT, "desk@partner.example")).ok
    assert b"RSET\r\n" in script.reads and script.connections == 1
    assert len(script.mails) == 1


async def test_a_temporary_refusal_of_the_message_keeps_the_session(
        channel: EmailChannel, script: Script) -> None:
    script.replies = lambda line: b"451 4.3.0 try later\r\n" if line == b"." else None
    outcome = await channel.send(ALERT, "desk@partner.example")
    assert (outcome.ok, outcome.permanent, outcome.outage) == (False, False, False)
    script.replies = lambda _line: None
    assert (await channel.send(ALERT, "desk@partner.example")).ok
    assert script.connections == 1


async def test_421_is_an_outage_and_the_next_send_opens_a_new_session(
        channel: EmailChannel, script: Script) -> None:
    script.replies = lambda line: b"421 4.3.2 shutting down\r\n" if line.startswith(b"MAIL") \
        else None
    outcome = await channel.send(ALERT, "desk@partner.example")
    assert (outcome.ok, outcome.permanent, outcome.outage) == (False, False, True)
    script.replies = lambda _line: None
    assert (await channel.send(ALERT, "desk@partner.example")).ok
    assert script.connections == 2


async def test_a_malformed_reply_is_an_outage_never_a_hang(
        channel: EmailChannel, script: Script) -> None:
    script.replies = lambda line: b"hello there\r\n" if line.startswith(b"RCPT") else None
    outcome = await asyncio.wait_for(channel.send(ALERT, "desk@partner.example"), 5)
    assert (outcome.ok, outcome.outage) == (False, True)
    assert outcome.error is not None and "malformed reply" in outcome.error


async def test_a_relay_that_stops_answering_times_out_as_an_outage(
        channel: EmailChannel, script: Script) -> None:
    script.replies = lambda line: b"" if line == b"." else None  # never answers the message
    outcome = await asyncio.wait_for(channel.send(ALERT, "desk@partner.example"), 5)
    assert (outcome.ok, outcome.permanent, outcome.outage) == (False, False, True)
