"""EmailChannel against a real local SMTP server (aiosmtpd), plain and implicit TLS."""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import socket
import ssl
from collections.abc import AsyncIterator, Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from channels.base import Message, TargetError
from channels.email import EmailChannel

FROM = "Vigil <alerts@vigil.example>"
TO = "desk@partner.example"
ALERT = Message(subject="Suspicious package — King St W", text="Keep staff away.")


class Inbox:
    """aiosmtpd handler: keeps what arrives and which connection it came over; can refuse."""

    def __init__(self) -> None:
        self.mails: list[EmailMessage] = []
        self.envelopes: list[Envelope] = []
        self.sessions: set[Session] = set()  # one Session per TCP connection
        self.authenticated: list[bool | None] = []
        self.rcpt_reply: str | None = None
        self.data_reply: str | None = None
        self.data_delay = 0.0
        self.pipelining = False  # aiosmtpd handles pipelined commands, but does not say so

    async def handle_EHLO(self, server: Any, session: Session, envelope: Envelope,
                          hostname: str, responses: list[str]) -> list[str]:
        session.host_name = hostname
        return [responses[0], "250-PIPELINING", *responses[1:]] if self.pipelining \
            else responses

    async def handle_RCPT(self, server: Any, session: Session, envelope: Envelope,
                          address: str, rcpt_options: list[str]) -> str:
        if self.rcpt_reply:
            return self.rcpt_reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Session, envelope: Envelope) -> str:
        await asyncio.sleep(self.data_delay)
        if self.data_reply:
            return self.data_reply
        assert isinstance(envelope.content, bytes)
        mail = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(mail, EmailMessage)
        self.mails.append(mail)
        self.envelopes.append(envelope)
        self.sessions.add(session)
        self.authenticated.append(session.authenticated)
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(params=["one command at a time", "pipelining"])
def inbox(request: pytest.FixtureRequest) -> Inbox:
    """Every test of a relay runs twice: with and without PIPELINING on offer."""
    inbox = Inbox()
    inbox.pipelining = request.param == "pipelining"
    return inbox


class Relay:
    """A local SMTP server that can be restarted on the same port, as a relay's restart is."""

    def __init__(self, inbox: Inbox, **options: Any) -> None:
        self.inbox, self.options, self.port = inbox, options, free_port()
        self.controller = self._start()

    def _start(self) -> Controller:
        controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port, **self.options)
        controller.start()
        return controller

    def restart(self) -> None:
        """Hang up on the latest client, stop, and listen again on the same port."""
        asyncio.run_coroutine_threadsafe(_hang_up(self.controller.smtpd),
                                         self.controller.loop).result()
        self.controller.stop()
        self.controller = self._start()


async def _hang_up(smtpd: SMTP | None) -> None:
    if smtpd is not None and smtpd.transport is not None:
        smtpd.transport.close()
        await asyncio.sleep(0)  # let the transport finish closing before the loop stops


@pytest.fixture
def server(inbox: Inbox) -> Iterator[Relay]:
    relay = Relay(inbox)
    yield relay
    relay.controller.stop()


@pytest.fixture
async def channel(server: Relay) -> AsyncIterator[EmailChannel]:
    email = EmailChannel(f"smtp://127.0.0.1:{server.port}", FROM, timeout=5)
    yield email
    await email.close()


async def test_a_mail_arrives_with_subject_both_bodies_and_the_callers_headers(
        channel: EmailChannel, inbox: Inbox) -> None:
    headers = {"List-Unsubscribe": "<https://hub.example/unsubscribe/tok-123>, "
                                   "<mailto:unsubscribe@vigil.example?subject=tok-123>",
               "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
               "Message-ID": "<delivery-42.contact-7@vigil.example>"}
    message = Message(ALERT.subject, ALERT.text, html="<p>Keep staff <b>away</b>.</p>",
                      headers=headers)

    assert (await channel.send(message, TO)).ok
    mail, envelope = inbox.mails[0], inbox.envelopes[0]
    assert (envelope.mail_from, envelope.rcpt_tos) == ("alerts@vigil.example", [TO])
    assert (mail["From"], mail["To"], mail["Subject"]) == (FROM, TO, ALERT.subject)
    assert mail.get_content_type() == "multipart/alternative" and mail["Date"]
    assert {name: mail[name] for name in headers} == headers
    plain, html = mail.get_body(("plain",)), mail.get_body(("html",))
    assert plain is not None and plain.get_content().strip() == ALERT.text
    assert html is not None and "<b>away</b>" in html.get_content()


async def test_without_html_a_plain_mail_gets_a_fresh_message_id_each_time(
        channel: EmailChannel, inbox: Inbox) -> None:
    assert (await channel.send(ALERT, TO)).ok and (await channel.send(ALERT, TO)).ok
    assert [mail.get_content_type() for mail in inbox.mails] == ["text/plain"] * 2
    ids = {mail["Message-ID"] for mail in inbox.mails}
    assert len(ids) == 2 and all(i.endswith("@vigil.example>") for i in ids)


async def test_fifty_concurrent_sends_share_one_connection(
        channel: EmailChannel, inbox: Inbox) -> None:
    targets = [f"desk{i}@partner.example" for i in range(50)]
    outcomes = await asyncio.gather(*(channel.send(ALERT, t) for t in targets))
    assert all(o.ok for o in outcomes)
    assert sorted(e.rcpt_tos[0] for e in inbox.envelopes) == sorted(targets)
    assert len(inbox.sessions) == 1


async def test_a_pool_spreads_sends_over_its_connections_and_no_more(
        server: Relay, inbox: Inbox) -> None:
    email = EmailChannel(f"smtp://127.0.0.1:{server.port}", FROM, connections=4)
    inbox.data_delay = 0.05  # slow enough that every connection is busy at once
    targets = [f"desk{i}@partner.example" for i in range(40)]
    outcomes = await asyncio.gather(*(email.send(ALERT, t) for t in targets))
    await email.close()
    assert all(o.ok for o in outcomes)
    assert sorted(e.rcpt_tos[0] for e in inbox.envelopes) == sorted(targets)
    assert len(inbox.sessions) == 4
    # The shared part is flattened once: each mail has its own To and Message-ID.
    assert {str(m["To"]) for m in inbox.mails} == set(targets)
    assert len({str(m["Message-ID"]) for m in inbox.mails}) == 40


async def test_recipient_headers_come_with_the_send_and_are_checked(
        channel: EmailChannel, inbox: Inbox) -> None:
    personal = {"Message-ID": "<key-1@vigil>", "List-Unsubscribe": "<https://hub/u/tok>"}
    assert (await channel.send(ALERT, TO, personal)).ok
    assert {name: inbox.mails[0][name] for name in personal} == personal
    outcome = await channel.send(ALERT, TO, {"X-Note": "fine\r\nBcc: spy@elsewhere.example"})
    assert (outcome.ok, outcome.permanent) == (False, True) and "linefeed" in str(outcome.error)
    outcome = await channel.send(ALERT, TO, {"To": "spy@elsewhere.example"})
    assert (outcome.ok, outcome.permanent) == (False, True)
    assert "written by the channel" in str(outcome.error) and len(inbox.mails) == 1


async def test_a_long_run_reconnects_after_max_per_connection(
        server: Relay, inbox: Inbox) -> None:
    email = EmailChannel(f"smtp://127.0.0.1:{server.port}", FROM, max_per_connection=10)
    outcomes = await asyncio.gather(*(email.send(ALERT, TO) for _ in range(25)))
    await email.close()
    assert all(o.ok for o in outcomes) and len(inbox.mails) == 25
    assert len(inbox.sessions) == 3


@pytest.mark.parametrize(("stage", "reply", "permanent"), [
    ("rcpt", "550 5.1.1 no such user", True),
    ("data", "554 5.7.1 message rejected", True),
    ("rcpt", "451 4.3.0 try again later", False),
    ("data", "452 4.3.1 insufficient storage", False),
])
async def test_a_refusal_is_reported_with_the_relays_reply_and_the_connection_kept(
        channel: EmailChannel, inbox: Inbox, stage: str, reply: str, permanent: bool) -> None:
    setattr(inbox, f"{stage}_reply", reply)
    outcome = await channel.send(ALERT, TO)
    assert (outcome.ok, outcome.permanent) == (False, permanent)
    assert outcome.error is not None and reply in outcome.error and TO not in outcome.error

    setattr(inbox, f"{stage}_reply", None)
    assert (await channel.send(ALERT, TO)).ok
    assert len(inbox.sessions) == 1


@pytest.mark.parametrize("relay", ["closed port", "hung server"])
async def test_an_unreachable_relay_is_a_temporary_failure(relay: str) -> None:
    # A socket that listens but never accepts: the TCP handshake completes, no greeting comes.
    with socket.socket() as hung:
        hung.bind(("127.0.0.1", 0))
        hung.listen()
        port = hung.getsockname()[1] if relay == "hung server" else free_port()
        email = EmailChannel(f"smtp://vigil:s3cret-pw@127.0.0.1:{port}", FROM, timeout=0.3)
        outcome = await email.send(ALERT, TO)
        await email.close()
    assert (outcome.ok, outcome.permanent) == (False, False)
    assert outcome.error is not None and "vigil:***@127.0.0.1" in outcome.error
    assert "s3cret" not in outcome.error


async def test_sends_queued_behind_a_hung_relay_fail_together() -> None:
    port, connections = free_port(), list[asyncio.StreamWriter]()

    async def never_greet(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(writer)

    hung = await asyncio.start_server(never_greet, "127.0.0.1", port)
    email = EmailChannel(f"smtp://127.0.0.1:{port}", FROM, timeout=0.3)
    outcomes = await asyncio.gather(*(email.send(ALERT, TO) for _ in range(20)))
    for writer in connections:
        writer.close()
    hung.close()
    await hung.wait_closed()
    assert {(o.ok, o.permanent) for o in outcomes} == {(False, False)}
    assert len(connections) == 1


async def test_a_restarted_relay_is_survived_by_reconnecting(
        channel: EmailChannel, server: Relay, inbox: Inbox) -> None:
    assert (await channel.send(ALERT, TO)).ok
    # A blocking restart: the loop does not see the hang-up before the next send.
    server.restart()
    assert (await channel.send(ALERT, TO)).ok
    assert len(inbox.mails) == 2 and len(inbox.sessions) == 2


async def test_a_cancelled_send_does_not_poison_the_connection(
        channel: EmailChannel, inbox: Inbox) -> None:
    inbox.data_delay = 1.0
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(channel.send(ALERT, "slow@partner.example"), 0.2)
    inbox.data_delay = 0.0
    assert (await channel.send(ALERT, TO)).ok
    assert inbox.envelopes[-1].rcpt_tos == [TO]


@pytest.mark.parametrize(("headers", "problem"), [
    ({"Bcc": "spy@elsewhere.example"}, "written by the channel"),
    ({"X-Note": "fine\r\nBcc: spy@elsewhere.example"}, "linefeed"),
    ({"Bad Name": "v"}, "not a header name"),
])
async def test_unsafe_headers_are_refused_permanently_and_nothing_sent(
        channel: EmailChannel, inbox: Inbox, headers: dict[str, str], problem: str) -> None:
    outcome = await channel.send(Message("s", "t", headers=headers), TO)
    assert (outcome.ok, outcome.permanent) == (False, True)
    assert outcome.error is not None and problem in outcome.error
    assert inbox.mails == []


async def test_an_address_only_channel_refuses_to_send() -> None:
    outcome = await EmailChannel().send(ALERT, TO)
    assert (outcome.ok, outcome.permanent) == (False, True)
    assert outcome.error is not None and "no smtp_url" in outcome.error


@pytest.mark.parametrize(("url", "mail_from", "problem"), [
    ("http://u:s3cret-pw@host:25", FROM, "smtp:// or smtps://"),
    ("smtp://u:s3cret-pw@:25", FROM, "no host"),
    ("smtp://u:s3cret-pw@host:port", FROM, "invalid port"),
    ("smtp://u:s3cret-pw@host:25", None, "mail_from"),
    ("smtp://u:s3cret-pw@host:25", "not an address", "mail_from"),
])
def test_a_bad_configuration_is_refused_without_echoing_the_password(
        url: str, mail_from: str | None, problem: str) -> None:
    with pytest.raises(ValueError, match=problem) as refused:
        EmailChannel(url, mail_from)
    assert "s3cret" not in str(refused.value)


@pytest.mark.parametrize(("target", "shown"), [
    ("desk@partner.example", "d***@partner.example"),
    ("a@b.example", "a***@b.example"),
    ("first.last+alerts@x.example", "f***@x.example"),
])
def test_describe_never_shows_the_full_address(target: str, shown: str) -> None:
    EmailChannel().check_target(target)
    assert EmailChannel().describe(target) == shown != target


@pytest.mark.parametrize("target", ["", "no-at-sign", "a@b", "a b@c.example", "a@b.example\r\n"])
def test_check_target_refuses_what_cannot_be_an_address(target: str) -> None:
    with pytest.raises(TargetError):
        EmailChannel().check_target(target)


def test_repr_masks_the_password() -> None:
    email = EmailChannel("smtps://vigil:s3cret-pw@relay.example", FROM)
    assert repr(email) == "EmailChannel(smtps://vigil:***@relay.example:465)"


# Implicit TLS with login, over a self-signed certificate for 127.0.0.1.

USER, PASSWORD = "vigil@relay", "p@ss:word/1"


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    folder = tmp_path_factory.mktemp("tls")
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def _authenticate(server: Any, session: Session, envelope: Envelope, mechanism: str,
                  auth_data: Any) -> AuthResult:
    login = auth_data if isinstance(auth_data, LoginPassword) else None
    ok = login is not None and (login.login, login.password) == (USER.encode(), PASSWORD.encode())
    return AuthResult(success=ok, handled=False)  # unhandled failure: aiosmtpd replies 535


@pytest.fixture
def tls_server(inbox: Inbox, certificate: tuple[Path, Path]) -> Iterator[Relay]:
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(*certificate)
    # The whole session is TLS from the first byte, so AUTH needs no STARTTLS first.
    relay = Relay(inbox, ssl_context=server_tls, authenticator=_authenticate,
                  auth_require_tls=False)
    yield relay
    relay.controller.stop()


@pytest.mark.parametrize(("password", "ok"), [("p%40ss%3Aword%2F1", True), ("wrong", False)])
async def test_smtps_logs_in_with_percent_decoded_credentials(
        tls_server: Relay, inbox: Inbox, certificate: tuple[Path, Path],
        password: str, ok: bool) -> None:
    client_tls = ssl.create_default_context(cafile=str(certificate[0]))
    email = EmailChannel(f"smtps://vigil%40relay:{password}@127.0.0.1:{tls_server.port}",
                         FROM, tls_context=client_tls)
    outcome = await email.send(ALERT, TO)
    await email.close()
    assert outcome.ok is ok and inbox.authenticated == [True] * ok
    if not ok:
        assert outcome.permanent is False and outcome.error is not None
        assert "535" in outcome.error and "wrong" not in outcome.error


async def test_smtps_without_a_login_greets_the_relay_before_the_first_mail(
        tls_server: Relay, inbox: Inbox, certificate: tuple[Path, Path]) -> None:
    # Implicit TLS with no login and no STARTTLS to decide: nothing in opening the session
    # says EHLO, so the channel must, or the relay answers 503 to MAIL.
    client_tls = ssl.create_default_context(cafile=str(certificate[0]))
    email = EmailChannel(f"smtps://127.0.0.1:{tls_server.port}", FROM, tls_context=client_tls)
    outcomes = [await email.send(ALERT, TO) for _ in range(2)]
    await email.close()
    assert [o.ok for o in outcomes] == [True, True], outcomes
    assert len(inbox.mails) == 2 and len(inbox.sessions) == 1
