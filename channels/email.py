"""Email channel: addresses checked and masked; mail sent over one reused SMTP connection."""

from __future__ import annotations

import asyncio
import contextlib
import email.policy
import io
import re
import ssl
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.generator import BytesGenerator
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from urllib.parse import unquote, urlsplit

import aiosmtplib

from channels.base import Message, Outcome, TargetError

# Deliberately simple: one @, no spaces, a dotted domain. Deliverability is the MTA's call.
_ADDRESS = re.compile(r"^[^@\s<>,;]{1,64}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
# The sender may be a local name such as alerts@localhost (the default): the relay decides.
_SENDER = re.compile(r"^[^@\s<>,;]{1,64}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*$")

# RFC 5322 field names: printable ASCII except the colon.
_HEADER_NAME = re.compile(r"^[!-9;-~]+$")

# Long header lines are left whole (RFC 5322 allows 998 characters): folding a long URL
# would turn List-Unsubscribe into RFC 2047 encoded words, which mail services ignore.
_POLICY = email.policy.default.clone(max_line_length=998)
# Written by the channel from the Message and the target. A caller's headers may add
# List-Unsubscribe or pin Message-ID, never redirect a mail or change its structure.
_CHANNEL_HEADERS = frozenset({
    "from", "sender", "to", "cc", "bcc", "subject",
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


class EmailChannel:
    """Sends each message as its own mail over one kept-open SMTP connection.

    `EmailChannel()` without an smtp_url only checks and describes addresses.
    """

    name = "email"
    individual = True
    max_in_flight = 1  # one SMTP connection carries one message at a time anyway

    def __init__(
        self,
        smtp_url: str | None = None,
        mail_from: str | None = None,
        *,
        timeout: float = 10.0,
        max_per_connection: int = 100,
        tls_context: ssl.SSLContext | None = None,
    ) -> None:
        self._relay = _Relay.parse(smtp_url) if smtp_url else None
        self._mail_from = mail_from or ""
        self._envelope_from = parseaddr(self._mail_from)[1]
        if self._relay and not _SENDER.match(self._envelope_from):
            raise ValueError("mail_from must be an address such as 'Vigil <alerts@example.org>'")
        self._timeout = timeout  # per connect and per SMTP command, so a hung relay ends
        # Relays cap mails per session (often 100); hanging up first avoids a 421 mid-run.
        self._max_per_connection = max_per_connection
        self._tls_context = tls_context
        self._lock = asyncio.Lock()  # one SMTP transaction at a time on the shared connection
        self._smtp: aiosmtplib.SMTP | None = None
        self._sent_on_connection = 0
        self._helo_name: str | None = None  # resolved once: getfqdn can be slow
        self._unreachable: tuple[float, str] | None = None  # last failed connect: (when, error)

    def __repr__(self) -> str:
        relay = self._relay.describe() if self._relay else "addresses only"
        return f"EmailChannel({relay})"

    def check_target(self, target: str) -> None:
        if not isinstance(target, str) or len(target) > 320 or not _ADDRESS.match(target):
            raise TargetError("is not a valid email address")

    def describe(self, target: str) -> str:
        local, _, domain = target.partition("@")
        return f"{local[:1]}***@{domain}"

    async def send(self, message: Message, target: str) -> Outcome:
        """Deliver one message to one address; report the relay's answer, never raise for it.

        ok on a 2xx acceptance. A 5xx reply to MAIL, RCPT or DATA is permanent (the relay
        will refuse this mail again); 4xx replies, refused or dropped connections, failed
        logins and timeouts are temporary. A connection the relay dropped while idle is
        reopened and the message sent once more; the Message-ID stays the same, so a
        receiver can drop the rare duplicate. Sends queued behind a failed connect get
        its error without trying again. Cancelling a send closes the connection, since
        the relay's reply to it would otherwise be read by the next send.
        """
        if self._relay is None:
            return Outcome(ok=False, permanent=True,
                           error="email is off: this EmailChannel has no smtp_url to send through")
        try:
            self.check_target(target)
            mail = self._compose(message, target)
        except ValueError as exc:
            return Outcome(ok=False, permanent=True,
                           error=f"cannot write mail to {self.describe(target)}: {exc}")
        queued_at = asyncio.get_running_loop().time()
        async with self._lock:
            # Sends that queued while a connect failed share its answer: a fan-out to a
            # dead relay costs one connect timeout, not one per message.
            if self._unreachable and self._unreachable[0] > queued_at:
                return Outcome(ok=False, error=self._unreachable[1])
            return await self._deliver(self._relay, mail, target)

    async def close(self) -> None:
        """Say QUIT and hang up; a later send opens a new connection."""
        async with self._lock:
            await self._hang_up()

    def _compose(self, message: Message, target: str) -> EmailMessage:
        mail = EmailMessage(policy=_POLICY)
        mail["From"] = self._mail_from
        mail["To"] = target
        mail["Subject"] = message.subject
        mail["Date"] = format_datetime(datetime.now(UTC))
        # RFC 3834: tells autoresponders (out-of-office) not to answer an alert.
        mail["Auto-Submitted"] = "auto-generated"
        for name, value in message.headers.items():
            if not _HEADER_NAME.match(name):
                raise ValueError(f"{name!r} is not a header name")
            if name.lower() in _CHANNEL_HEADERS:
                raise ValueError(f"header {name} is written by the channel")
            del mail[name]
            mail[name] = value  # raises ValueError on CR or LF: no header injection
        if "Message-ID" not in mail:
            mail["Message-ID"] = make_msgid(domain=self._envelope_from.rpartition("@")[2])
        mail.set_content(message.text)
        if message.html is not None:
            mail.add_alternative(message.html, subtype="html")
        return mail

    async def _send(self, smtp: aiosmtplib.SMTP, mail: EmailMessage, target: str) -> None:
        """Send as aiosmtplib's send_message would, but flattened with our own policy."""
        utf8 = not (self._envelope_from + target).isascii()
        if utf8 and not smtp.supports_extension("smtputf8"):
            raise aiosmtplib.SMTPNotSupported("the relay does not support SMTPUTF8 addresses")
        policy = _POLICY.clone(linesep="\r\n", utf8=utf8)
        with io.BytesIO() as out:
            BytesGenerator(out, policy=policy).flatten(mail)
            data = out.getvalue()
        await smtp.sendmail(self._envelope_from, [target], data,
                            mail_options=["SMTPUTF8"] if utf8 else [])

    async def _deliver(self, relay: _Relay, mail: EmailMessage, target: str) -> Outcome:
        for attempt in (1, 2):
            reused = self._smtp is not None and self._smtp.is_connected
            try:
                smtp = await self._connection(relay)
            except (aiosmtplib.SMTPException, OSError) as exc:
                error = f"cannot use {relay.describe()}: {_text(exc)}"
                self._unreachable = (asyncio.get_running_loop().time(), error)
                return Outcome(ok=False, error=error)
            try:
                await self._send(smtp, mail, target)
            except aiosmtplib.SMTPRecipientsRefused as exc:
                refusal = exc.recipients[0]
                return self._refused(refusal.code, refusal.message, target)
            except aiosmtplib.SMTPHeloError as exc:
                self._drop()  # the relay refused the session, not this mail
                return Outcome(ok=False, error=f"{relay.describe()} refused EHLO: {_text(exc)}")
            except aiosmtplib.SMTPResponseException as exc:
                return self._refused(exc.code, exc.message, target)
            except (aiosmtplib.SMTPNotSupported, ValueError) as exc:
                return Outcome(ok=False, permanent=True,
                               error=f"cannot send to {self.describe(target)}: {_text(exc)}")
            except aiosmtplib.SMTPServerDisconnected as exc:
                self._drop()
                if reused and attempt == 1:
                    continue  # the relay closed an idle connection; a fresh one will do
                return Outcome(ok=False, error=f"{relay.describe()} hung up: {_text(exc)}")
            except (aiosmtplib.SMTPException, OSError) as exc:
                self._drop()  # a timed-out command leaves the session in an unknown state
                return Outcome(ok=False, error=f"{relay.describe()} failed: {_text(exc)}")
            except BaseException:
                self._drop()
                raise
            self._sent_on_connection += 1
            return Outcome(ok=True)
        raise AssertionError("unreachable: the second attempt always returns")

    def _refused(self, code: int, text: str, target: str) -> Outcome:
        if code == 421:  # the relay is closing this session
            self._drop()
        return Outcome(ok=False, permanent=500 <= code < 600,
                       error=f"{code} {text} (to {self.describe(target)})")

    async def _connection(self, relay: _Relay) -> aiosmtplib.SMTP:
        smtp = self._smtp
        if smtp is not None and smtp.is_connected:
            if self._sent_on_connection < self._max_per_connection:
                return smtp
            await self._hang_up()
        self._drop()
        smtp = aiosmtplib.SMTP(
            hostname=relay.host, port=relay.port,
            username=relay.username, password=relay.password,
            use_tls=relay.implicit_tls, tls_context=self._tls_context,
            # smtp:// upgrades with STARTTLS when the relay offers it, certificate checked.
            start_tls=False if relay.implicit_tls else None,
            timeout=self._timeout, local_hostname=self._helo_name,
        )
        await smtp.connect()
        self._smtp, self._sent_on_connection = smtp, 0
        self._helo_name = smtp.local_hostname
        return smtp

    async def _hang_up(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is None:
            return
        try:
            if smtp.is_connected:
                with contextlib.suppress(aiosmtplib.SMTPException, OSError):
                    await smtp.quit()
        finally:
            smtp.close()

    def _drop(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            smtp.close()


def _text(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__
