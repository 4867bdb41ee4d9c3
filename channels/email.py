"""Email channel: addresses checked and masked; mail sent over a pool of reused SMTP
sessions, each pipelining its mail transactions where the relay allows (smtp_session)."""

from __future__ import annotations

import asyncio
import email.policy
import io
import re
import ssl
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.generator import BytesGenerator
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from urllib.parse import unquote, urlsplit

import aiosmtplib

from channels.base import Message, Outcome, TargetError
from channels.registry import Plugin
from channels.smtp_session import Refused, Session, SessionClosed, ready_body

# Deliberately simple: one @, no spaces or controls, a dotted domain. Deliverability is the
# MTA's call.
MAX_ADDRESS = 320  # RFC 5321: 64 for the local part, 255 for the domain, and the @
ADDRESS = re.compile(r"^[^@\s<>,;\x00-\x1f\x7f\ufffe\uffff]{1,64}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
# The sender may be a local name such as alerts@localhost (the default): the relay decides.
_SENDER = re.compile(r"^[^@\s<>,;]{1,64}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*$")

# RFC 5322 field names: printable ASCII except the colon; here never starting with a dot,
# so that no header line needs dot-stuffing on its way through DATA.
_HEADER_NAME = re.compile(r"^[!-\-/-9;-~][!-9;-~]*$")

# Long header lines are left whole (RFC 5322 allows 998 characters): folding a long URL
# would turn List-Unsubscribe into RFC 2047 encoded words, which mail services ignore.
_POLICY = email.policy.default.clone(max_line_length=998)
# Written by the channel from the Message and the target. A caller's headers may add
# List-Unsubscribe or pin Message-ID, never redirect a mail or change its structure.
_CHANNEL_HEADERS = frozenset({
    "from", "sender", "to", "cc", "bcc", "subject", "date",
    "mime-version", "content-type", "content-transfer-encoding",
})

_DEFAULT_PORTS = {"smtp": 25, "smtps": 465}


@dataclass(frozen=True)
class _Relay:
    """Where to hand mail over, parsed once from the smtp_url."""

    scheme: str
    host: str
    port: int
    username: str | None
    password: str | None = field(repr=False)

    @classmethod
    def parse(cls, url: str) -> _Relay:
        # Errors name the part that is wrong and never echo the URL: it may hold a password.
        parts = urlsplit(url)
        if parts.scheme not in _DEFAULT_PORTS:
            raise ValueError("SMTP URL must start with smtp:// or smtps://")
        if not parts.hostname:
            raise ValueError("SMTP URL has no host")
        try:
            port = parts.port or _DEFAULT_PORTS[parts.scheme]
        except ValueError:
            raise ValueError("SMTP URL has an invalid port") from None
        username = unquote(parts.username) if parts.username else None
        password = unquote(parts.password) if parts.password is not None else None
        return cls(parts.scheme, parts.hostname, port, username, password)

    @property
    def implicit_tls(self) -> bool:
        return self.scheme == "smtps"

    def describe(self) -> str:
        """The URL with the password masked, safe for logs and pages."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        login = f"{self.username}:***@" if self.username else ""
        return f"{self.scheme}://{login}{host}:{self.port}"


class _Connection:
    """One SMTP session of the pool, opened when first used and reopened when dropped."""

    def __init__(self) -> None:
        self.session: Session | None = None
        self.sent = 0  # mails on this session, to hang up before the relay's own cap

    @property
    def open(self) -> bool:
        return self.session is not None and self.session.usable

    def drop(self) -> None:
        session, self.session = self.session, None
        if session is not None:
            session.close()

    async def hang_up(self) -> None:
        session, self.session = self.session, None
        if session is not None:
            await session.quit()


class EmailChannel:
    """Sends each message as its own mail over a pool of kept-open SMTP connections.

    A mail is flattened once per Message and character set (the From, Subject and both
    bodies); each send adds only the recipient's own header lines (To, Date, Message-ID,
    List-Unsubscribe) in front of those bytes. `EmailChannel()` without an smtp_url only
    checks and describes addresses.
    """

    name = "email"

    def __init__(
        self,
        smtp_url: str | None = None,
        mail_from: str | None = None,
        *,
        connections: int = 1,
        timeout: float = 10.0,
        max_per_connection: int = 100,
        tls_context: ssl.SSLContext | None = None,
    ) -> None:
        self._relay = _Relay.parse(smtp_url) if smtp_url else None
        self._mail_from = mail_from or ""
        self._envelope_from = parseaddr(self._mail_from)[1]
        if self._relay and not _SENDER.match(self._envelope_from):
            raise ValueError("mail_from must be an address such as 'Vigil <alerts@example.org>'")
        if connections < 1:
            raise ValueError("connections must be at least 1")
        self._timeout = timeout  # per connect and per SMTP command, so a hung relay ends
        # Relays cap mails per session (often 100); hanging up first avoids a 421 mid-run.
        self._max_per_connection = max_per_connection
        self._tls_context = tls_context
        self._pool = [_Connection() for _ in range(connections)]
        self._idle: asyncio.Queue[_Connection] = asyncio.Queue()
        for connection in self._pool:
            self._idle.put_nowait(connection)
        # Each connection carries one mail at a time; the dispatcher keeps more sends in
        # flight than that, so a connection never waits for a send's record to be written.
        self.max_in_flight = 4 * connections
        self._helo_name: str | None = None  # resolved once: getfqdn can be slow
        self._unreachable: tuple[float, str] | None = None  # last failed connect: (when, error)
        self._flattened: OrderedDict[tuple[int, bool], tuple[Message, bytes]] = OrderedDict()
        self._date: tuple[int, str] = (0, "")

    def __repr__(self) -> str:
        relay = self._relay.describe() if self._relay else "addresses only"
        return f"EmailChannel({relay})"

    @staticmethod
    def check_target(target: str) -> None:
        if not isinstance(target, str) or len(target) > MAX_ADDRESS \
                or not ADDRESS.fullmatch(target):
            raise TargetError("is not a valid email address")

    @staticmethod
    def describe(target: str) -> str:
        local, _, domain = target.partition("@")
        return f"{local[:1]}***@{domain}"

    def route(self, target: str) -> str:
        return self._relay.describe() if self._relay else "email"

    async def probe(self, route: str) -> bool:
        """Whether the relay takes a session again (connect, EHLO, NOOP); the connection
        stays in the pool for the sends that follow."""
        if self._relay is None:
            return False
        connection = await self._idle.get()
        try:
            session = await self._connection(connection, self._relay)
            await session.noop()
        except (aiosmtplib.SMTPException, OSError, SessionClosed, Refused):
            connection.drop()
            return False
        finally:
            self._idle.put_nowait(connection)
        self._unreachable = None
        return True

    async def send(self, message: Message, target: str,
                   headers: Mapping[str, str] | None = None) -> Outcome:
        """Deliver one message to one address; report the relay's answer, never raise for it.

        ok on a 2xx acceptance. A 5xx reply to MAIL, RCPT or DATA is permanent (the relay
        will refuse this mail again); 4xx replies are temporary. Refused or dropped
        connections, failed logins, 421 and timeouts are temporary and an outage of the
        relay. A connection the relay dropped while idle is reopened and the message sent
        once more; the Message-ID stays the same, so a receiver can drop the rare
        duplicate. Sends queued behind a failed connect get its error without trying
        again. Cancelling a send closes its connection, since the relay's reply to it
        would otherwise be read by the next send.
        """
        if self._relay is None:
            return Outcome(ok=False, permanent=True,
                           error="email is off: this EmailChannel has no smtp_url to send through")
        utf8 = not (self._envelope_from + target).isascii()
        try:
            self.check_target(target)
            data = self._mail(message, target, headers or {}, utf8)
        except ValueError as exc:
            return Outcome(ok=False, permanent=True,
                           error=f"cannot write mail to {self.describe(target)}: {exc}")
        queued_at = asyncio.get_running_loop().time()
        connection = await self._idle.get()
        try:
            # Sends that queued while a connect failed share its answer: a fan-out to a
            # dead relay costs one connect timeout, not one per message.
            if self._unreachable and self._unreachable[0] > queued_at:
                return Outcome(ok=False, error=self._unreachable[1], outage=True)
            return await self._deliver(connection, self._relay, data, target, utf8)
        finally:
            self._idle.put_nowait(connection)

    async def close(self) -> None:
        """Say QUIT and hang up every connection; a later send opens new ones."""
        taken = [await self._idle.get() for _ in self._pool]
        try:
            for connection in taken:
                await connection.hang_up()
        finally:
            for connection in taken:
                self._idle.put_nowait(connection)

    def _mail(self, message: Message, target: str, headers: Mapping[str, str],
              utf8: bool) -> bytes:
        """The mail's bytes: this recipient's header lines, then the shared flattened part."""
        policy = _POLICY.clone(linesep="\r\n", utf8=utf8)
        lines = [f"To: {target}\r\n", f"Date: {self._now()}\r\n"]
        for name, value in headers.items():
            lines.append(_header_line(name, value, policy))
        if "Message-ID" not in headers and "Message-ID" not in message.headers:
            domain = self._envelope_from.rpartition("@")[2]
            lines.append(f"Message-ID: {make_msgid(domain=domain)}\r\n")
        # Ready to send as it is (see smtp_session.ready_body): a header line never begins
        # with a dot, and the shared part was dot-stuffed once.
        return "".join(lines).encode() + self._flatten(message, policy, utf8)

    def _flatten(self, message: Message, policy: email.policy.EmailPolicy[EmailMessage],
                 utf8: bool) -> bytes:
        key = (id(message), utf8)
        cached = self._flattened.get(key)
        if cached is not None and cached[0] is message:
            self._flattened.move_to_end(key)
            return cached[1]
        mail = EmailMessage(policy=_POLICY)
        mail["From"] = self._mail_from
        mail["Subject"] = message.subject
        # RFC 3834: tells autoresponders (out-of-office) not to answer an alert.
        mail["Auto-Submitted"] = "auto-generated"
        for name, value in message.headers.items():
            _check_header(name)
            del mail[name]
            mail[name] = value  # raises ValueError on CR or LF: no header injection
        mail.set_content(message.text)
        if message.html is not None:
            mail.add_alternative(message.html, subtype="html")
        with io.BytesIO() as out:
            BytesGenerator(out, policy=policy).flatten(mail)
            data = ready_body(out.getvalue())
        self._flattened[key] = (message, data)  # holding the message keeps its id unique
        if len(self._flattened) > 256:
            self._flattened.popitem(last=False)
        return data

    def _now(self) -> str:
        second = int(time.time())
        if self._date[0] != second:
            self._date = (second, format_datetime(datetime.fromtimestamp(second, UTC)))
        return self._date[1]

    async def _deliver(self, connection: _Connection, relay: _Relay, data: bytes, target: str,
                       utf8: bool) -> Outcome:
        for attempt in (1, 2):
            reused = connection.open
            try:
                session = await self._connection(connection, relay)
            except (aiosmtplib.SMTPException, OSError, SessionClosed) as exc:
                error = f"cannot use {relay.describe()}: {_text(exc)}"
                self._unreachable = (asyncio.get_running_loop().time(), error)
                return Outcome(ok=False, error=error, outage=True)
            try:
                if utf8 and not session.smtputf8:
                    return Outcome(ok=False, permanent=True,
                                   error=f"cannot send to {self.describe(target)}: "
                                         "the relay does not support SMTPUTF8 addresses")
                await session.send_mail(self._envelope_from, target, data, utf8=utf8)
            except Refused as exc:
                return self._refused(connection, exc.code, exc.text, target)
            except ValueError as exc:
                return Outcome(ok=False, permanent=True,
                               error=f"cannot send to {self.describe(target)}: {_text(exc)}")
            except SessionClosed as exc:
                connection.drop()
                if reused and attempt == 1:
                    continue  # the relay closed an idle connection; a fresh one will do
                return Outcome(ok=False, outage=True,
                               error=f"{relay.describe()} hung up: {_text(exc)}")
            except (TimeoutError, OSError) as exc:
                connection.drop()  # a timed-out command leaves the session in an unknown state
                return Outcome(ok=False, outage=True,
                               error=f"{relay.describe()} failed: {_text(exc)}")
            except BaseException:
                connection.drop()
                raise
            connection.sent += 1
            return Outcome(ok=True)
        raise AssertionError("unreachable: the second attempt always returns")

    def _refused(self, connection: _Connection, code: int, text: str, target: str) -> Outcome:
        closing = code == 421  # the relay is closing this session: an outage, not this mail
        if closing:
            connection.drop()
        return Outcome(ok=False, permanent=500 <= code < 600, outage=closing,
                       error=f"{code} {text} (to {self.describe(target)})")

    async def _connection(self, connection: _Connection, relay: _Relay) -> Session:
        """The connection's session, opened (greeting, EHLO, STARTTLS, AUTH, by aiosmtplib)
        if it has none, or none it may still use."""
        if connection.session is not None and connection.open:
            if connection.sent < self._max_per_connection:
                return connection.session
            await connection.hang_up()
        connection.drop()
        smtp = aiosmtplib.SMTP(
            hostname=relay.host, port=relay.port,
            use_tls=relay.implicit_tls, tls_context=self._tls_context,
            # smtp:// upgrades with STARTTLS when the relay offers it, certificate checked.
            start_tls=False if relay.implicit_tls else None,
            timeout=self._timeout, local_hostname=self._helo_name,
        )
        await smtp.connect()
        self._helo_name = smtp.local_hostname
        try:
            if smtp.is_ehlo_or_helo_needed:  # connect() greets only to STARTTLS
                try:
                    await smtp.ehlo()
                except aiosmtplib.SMTPHeloError:
                    await smtp.helo()  # a relay from before ESMTP
            if relay.username is not None:
                await smtp.login(relay.username, relay.password or "")
        except Exception:
            # A refused login leaves the connection open: hang up on it and wait until it
            # is closed (TLS shutdown too), so no socket outlives the failed attempt.
            if smtp.is_connected:
                await Session.take_over(smtp, self._timeout).quit()
            smtp.close()
            raise
        except BaseException:
            smtp.close()
            raise
        connection.session, connection.sent = Session.take_over(smtp, self._timeout), 0
        return connection.session


def _check_header(name: str) -> None:
    if not _HEADER_NAME.match(name):
        raise ValueError(f"{name!r} is not a header name")
    if name.lower() in _CHANNEL_HEADERS:
        raise ValueError(f"header {name} is written by the channel")


def _header_line(name: str, value: str, policy: email.policy.EmailPolicy[EmailMessage]) -> str:
    """One recipient's header, checked as the message's own headers are."""
    _check_header(name)
    if "\r" in value or "\n" in value:
        raise ValueError(f"header {name} contains a linefeed")
    if value.isascii() and len(name) + len(value) < 996:
        return f"{name}: {value}\r\n"
    return policy.fold(name, value)


def _text(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


PLUGIN = Plugin(
    name=EmailChannel.name, individual=True, contact_field="email", label="Email",
    hint="", input_type="email", max_length=MAX_ADDRESS, check=EmailChannel.check_target,
    describe=EmailChannel.describe, shown="{name} <{address}>", switch="smtp_url", html=True,
    residents=True, schema={"pattern": ADDRESS.pattern},
    build=lambda settings: EmailChannel(settings.smtp_url, settings.mail_from,
                                        connections=settings.smtp_connections))
