"""What `vigil demo` sends, caught in its own process so every face works with no other
service: a mail catcher (an SMTP server, as MailHog is) and a webhook catcher for the demo's
chat contacts. `/demo/mail` lists what they caught, newest first; `/demo/mail.json` is the
same as JSON. None of this exists outside the demo."""

from __future__ import annotations

import asyncio
import json
import re
import socket
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiohttp import web
from aiosmtpd.smtp import SMTP, Envelope, Session

from hub.access import PUBLIC, Rule, allow
from hub.http import DEMO_MAILBOX
from hub.pages.render import render

KEEP = 1000  # the newest caught messages kept; older ones are dropped
HOOK_PATH = "/demo/hooks"
_LINK = re.compile(r"https?://[^\s<>\"')]+")


@dataclass(frozen=True)
class Caught:
    """One message the demo "sent": a mail to its relay or a post to a chat webhook."""

    id: int
    channel: str  # "email" or "chat"
    at: datetime
    to: tuple[str, ...]
    sender: str
    subject: str
    text: str

    @property
    def links(self) -> list[str]:
        return list(dict.fromkeys(_LINK.findall(self.text)))

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "channel": self.channel, "at": self.at.isoformat(),
                "to": list(self.to), "from": self.sender, "subject": self.subject,
                "text": self.text, "links": self.links}


class Catcher:
    """Keeps what the demo's mail relay and webhooks receive."""

    def __init__(self, clock: Callable[[], datetime]) -> None:
        self.clock = clock
        self.caught: deque[Caught] = deque(maxlen=KEEP)
        self._next = 1

    def keep(self, channel: str, to: tuple[str, ...], sender: str, subject: str,
             text: str) -> Caught:
        item = Caught(self._next, channel, self.clock(), to, sender, subject, text)
        self._next += 1
        self.caught.append(item)
        return item

    def newest_first(self) -> list[Caught]:
        return list(reversed(self.caught))

    # ---- the aiosmtpd handler of the mail catcher

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or envelope.content or b""
        raw = content if isinstance(content, bytes) else content.encode()
        mail = message_from_bytes(raw, policy=policy.default)
        assert isinstance(mail, EmailMessage)
        body = mail.get_body(preferencelist=("plain", "html"))
        text = body.get_content() if body is not None else ""
        self.keep("email", tuple(envelope.rcpt_tos), envelope.mail_from or "",
                  str(mail.get("Subject", "")), str(text))
        return "250 Message accepted for delivery"


CATCHER = web.AppKey("demo_catcher", Catcher)


def hook_base(host: str, port: int) -> str:
    """The apprise URL prefix the demo's chat contacts post to: this very process."""
    reachable = "127.0.0.1" if host in ("0.0.0.0", "::", "localhost") else host
    return f"json://{reachable}:{port}{HOOK_PATH}"


def mail_socket() -> socket.socket:
    """A listening socket on a free local port for the mail catcher, bound before the app is
    made so that its `smtp://` URL can be in the settings the app starts with."""
    sock = socket.create_server(("127.0.0.1", 0))
    sock.setblocking(False)
    return sock


def install(app: web.Application, sock: socket.socket, clock: Callable[[], datetime]) -> None:
    """Add the catchers and their pages to a demo app; the mail catcher serves on `sock`."""
    app[CATCHER] = catcher = Catcher(clock)
    app[DEMO_MAILBOX] = True
    app.router.add_routes(routes)

    async def serve_mail(app: web.Application) -> AsyncIterator[None]:
        server = await asyncio.get_running_loop().create_server(
            lambda: SMTP(catcher, hostname="vigil-demo", enable_SMTPUTF8=True), sock=sock)
        yield
        server.close()

    # First in, so it starts before the worker that mails through it and stops after it.
    app.cleanup_ctx.insert(0, serve_mail)


routes = web.RouteTableDef()


@routes.post(HOOK_PATH + "/{slug:[a-z0-9-]{1,80}}")
@allow(Rule(public=True, csrf=False))
async def demo_hook(request: web.Request) -> web.Response:
    """Catch what apprise's `json://` posts for a demo chat contact."""
    try:
        body = json.loads(await request.read() or b"{}")
    except ValueError:
        body = {}
    body = body if isinstance(body, dict) else {}
    request.app[CATCHER].keep("chat", (request.match_info["slug"],), "apprise",
                              str(body.get("title", "")), str(body.get("message", "")))
    return web.json_response({"caught": True})


@routes.get("/demo/mail")
@allow(PUBLIC)
async def demo_mail_page(request: web.Request) -> web.Response:
    return render(request, "demo/mail", caught=request.app[CATCHER].newest_first())


@routes.get("/demo/mail.json")
@allow(PUBLIC)
async def demo_mail_json(request: web.Request) -> web.Response:
    return web.json_response(
        {"messages": [item.as_json() for item in request.app[CATCHER].newest_first()]})
