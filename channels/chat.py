"""Chat channel: Slack, Teams, Matrix, Telegram and JSON webhooks through apprise URLs."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from urllib.parse import unquote

import apprise

from channels.base import Message, Outcome, TargetError
from channels.registry import Plugin

# A host an operator can read (DNS name, IP, localhost). Anything else in the host slot is a
# credential: Slack's first token or bot token, a Telegram bot token `123456:ABC...`.
_HOSTNAME = re.compile(r"^(localhost|\[[0-9A-Fa-f:.]+\]|[\w-]+(\.[\w-]+)+)$")
# Path segments safe to show: short lowercase words (`hook`, `services`) and room, channel or
# user names (`#general`, `!room:example.org`, `@alice`). Every other segment may be a token:
# tokens mix case or digits, and nine lowercase letters are too few to be one worth hiding.
_PLAIN_SEGMENT = re.compile(r"^([a-z]{1,9}|[#@!][\w.:-]{1,64})$")
# apprise plugins log a refused delivery as "... error=<HTTP status>."
_HTTP_STATUS = re.compile(r"\berror=(\d{3})\b")
_RETRYABLE_4XX = {408, 429}  # request timeout, rate limited: the same request may succeed later
# Schemes that post to a host named in the URL, and the port each uses by default.
_HOST_PORTS = {"json": 80, "jsons": 443, "xml": 80, "xmls": 443, "form": 80, "forms": 443}
PROBE_TIMEOUT_S = 5.0
MAX_URL = 2000


class _Silence(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return False


@contextmanager
def _unlogged(logger: logging.Logger) -> Iterator[None]:
    """Nothing `logger` itself says while checking a URL: apprise logs an unparseable URL
    as an error, but a URL someone typed is refused with a 422 naming it, not a hub fault."""
    silence = _Silence()
    logger.addFilter(silence)
    try:
        yield
    finally:
        logger.removeFilter(silence)


class ChatChannel:
    name = "chat"

    def __init__(self, concurrency: int = 16) -> None:
        self.max_in_flight = concurrency  # each send is its own HTTP request

    @staticmethod
    def check_target(target: str) -> None:
        """Refuse anything but an apprise URL (slack://, tgram://, json://...) apprise can load."""
        if not isinstance(target, str) or "://" not in target:
            raise TargetError("must be an apprise URL such as slack://... or json://host/path")
        scheme = target.partition("://")[0].lower()
        if scheme == "msteams":
            raise TargetError("msteams:// is retired (Office 365 connectors); use workflows://")
        with _unlogged(logging.getLogger("apprise")):
            plugin = apprise.Apprise.instantiate(target)
        if plugin is None:
            raise TargetError("is not a URL apprise can deliver to")
        # Native https:// webhook URLs load too, but enrolment stores the apprise form only.
        if scheme not in _schemes(plugin.protocol, plugin.secure_protocol):
            raise TargetError(f"must use the apprise scheme ({plugin.service_name}), not {scheme}://")

    @staticmethod
    def describe(target: str) -> str:
        """The target with user info, tokens and query values masked; scheme and host kept."""
        return _masked(target)[0]

    def route(self, target: str) -> str:
        """The host a target posts to (`json://hooks.example:8080`), or the service
        (`slack`) for the schemes whose host is a token."""
        scheme, _, rest = target.partition("://")
        hostport = rest.split("/", 1)[0].split("?", 1)[0].rpartition("@")[2]
        host = hostport.rpartition(":")[0] if hostport.rpartition(":")[2].isdigit() \
            else hostport
        scheme = scheme.lower()
        if scheme in _HOST_PORTS and _HOSTNAME.match(host):
            return f"{scheme}://{hostport}"
        return scheme

    async def probe(self, route: str) -> bool:
        """Whether a webhook host takes a TCP connection again. A service reached by name
        (slack, tgram) has no host of ours to ask: the next sends are its probe."""
        scheme, _, hostport = route.partition("://")
        if not hostport:
            return True
        host, colon, port = hostport.rpartition(":")
        if not (colon and port.isdigit()):
            host, port = hostport, str(_HOST_PORTS[scheme])
        try:
            _, writer = await asyncio.wait_for(
                asyncio.open_connection(host.strip("[]"), int(port)), PROBE_TIMEOUT_S)
        except (OSError, TimeoutError):
            return False
        writer.close()
        return True

    async def send(self, message: Message, target: str,
                   headers: Mapping[str, str] | None = None) -> Outcome:
        """Deliver through apprise; ok only when apprise reports SUCCESS.

        Never raises for a remote failure. An HTTP 4xx (but 408/429) or a URL apprise cannot
        load is permanent; 5xx, 408, 429, refused connections and timeouts are temporary
        and an outage of the host.
        """
        description, secrets = _masked(target)
        notifier = apprise.Apprise()
        if not notifier.add(target):
            return Outcome(False, f"{description}: not a URL apprise can deliver to", True)
        # The result's logs are captured per call (not from the shared apprise logger), so
        # concurrent sends never read each other's HTTP status.
        with await notifier.async_notify(title=message.subject, body=message.text) as result:
            if result:
                return Outcome(ok=True)
            reasons = [entry.message for entry in result.logs()]
            status = result.status.name
        codes = [int(code) for reason in reasons for code in _HTTP_STATUS.findall(reason)]
        if codes:
            permanent = all(400 <= code < 500 and code not in _RETRYABLE_4XX for code in codes)
            return Outcome(False, f"{description}: HTTP {codes[-1]}", permanent,
                           outage=not permanent)
        reason = _scrub(reasons[-1], secrets) if reasons else f"apprise reported {status}"
        return Outcome(False, f"{description}: {reason}", outage=True)


def _schemes(*protocols: str | Iterable[str] | None) -> set[str]:
    found: set[str] = set()
    for protocol in protocols:
        if isinstance(protocol, str):
            found.add(protocol.lower())
        elif protocol:
            found.update(p.lower() for p in protocol)
    return found


def _mask(secret: str) -> str:
    # First and last character, as apprise's own privacy mode shows, only when long enough
    # that two characters give nothing away.
    return f"{secret[0]}…{secret[-1]}" if len(secret) >= 8 else "…"


def _masked(target: str) -> tuple[str, list[str]]:
    """The masked description of a target and the secrets it hid."""
    if "://" not in target:
        return _mask(target), [target]
    scheme, _, rest = target.partition("://")
    rest, _, query = rest.partition("?")
    netloc, slash, path = rest.partition("/")
    userinfo, at, hostport = netloc.rpartition("@")
    host, colon, port = hostport.rpartition(":")
    if not (colon and port.isdigit()):
        host, port = hostport, ""  # no numeric port: a Telegram token's colon is in the host
    secrets = userinfo.split(":") if at else []

    def hide(part: str, shown: bool) -> str:
        if shown or not part:
            return part
        secrets.append(part)
        return _mask(part)

    text = f"{scheme}://{'…@' if at else ''}{hide(host, bool(_HOSTNAME.match(host)))}"
    text += f":{port}" if port else ""
    text += slash + "/".join(hide(s, bool(_PLAIN_SEGMENT.match(s))) for s in path.split("/"))
    pairs = [pair.partition("=") for pair in query.split("&") if pair]
    if pairs:  # every value hidden: ?token=, ?sig=, +Authorization= headers all live here
        text += "?" + "&".join(f"{key}={hide(value, False)}" for key, _, value in pairs)
    return text, sorted({*secrets, *map(unquote, secrets)}, key=len, reverse=True)


def _scrub(text: str, secrets: Iterable[str]) -> str:
    # apprise plugins log privacy-safe messages; this is a second line in case one does not.
    for secret in secrets:
        if len(secret) >= 4:
            text = text.replace(secret, _mask(secret))
    return text


# What XML cannot carry, as partners.validation.XML_CONTROLS says (channels import nothing
# of partners; tests/channels/test_chat.py holds the two equal).
XML_CONTROLS = r"\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff"
# A URL apprise can deliver to, in its own scheme: which ones it loads (and what each needs
# after `://`) is apprise's to judge, so the format names that judgement. The pattern leaves
# out spaces and what XML cannot carry, which enrolment refuses before apprise is asked.
SCHEMA = {"format": "apprise-url",
          "pattern": rf"^[A-Za-z][A-Za-z0-9+.-]*://[^\s{XML_CONTROLS}]+$",
          "description": "an apprise URL, e.g. json://host/path or slack://T/B/C (format "
                         "`apprise-url`: one apprise loads, in its own scheme)"}
# A chat URL is a room or a webhook, a group, never one named person; and it is itself a
# credential (a webhook secret), so it is shown masked, never echoed.
PLUGIN = Plugin(
    name=ChatChannel.name, individual=False, contact_field="chat_url", label="Chat URL",
    hint="An apprise URL such as <code>slack://…</code> or <code>json://host/path</code>.",
    max_length=MAX_URL, check=ChatChannel.check_target, describe=ChatChannel.describe,
    secret=True, schema=SCHEMA, build=lambda settings: ChatChannel(settings.chat_concurrency))
