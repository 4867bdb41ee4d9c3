"""Chat channel against a real local webhook: apprise's json:// plugin posting to aiohttp."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from channels import chat as chat_module
from channels.base import Message, TargetError
from channels.chat import ChatChannel
from partners import validation

MESSAGE = Message(subject="Suspicious package, King St W", text="Keep staff away from the lobby.")


@dataclass
class Webhook:
    """What the local webhook received, and how it should answer the next posts."""

    port: int = 0
    received: list[dict[str, Any]] = field(default_factory=list)
    status: int = 200
    hold: asyncio.Event | None = None  # when set, answer only after this is released

    def url(self, path: str = "/hook", query: str = "") -> str:
        return f"json://127.0.0.1:{self.port}{path}{query}"


WEBHOOK = web.AppKey("webhook", Webhook)


async def hook_receive(request: web.Request) -> web.Response:
    webhook = request.app[WEBHOOK]
    if webhook.hold is not None:
        await webhook.hold.wait()
    webhook.received.append(await request.json())
    return web.json_response({}, status=webhook.status)


@pytest.fixture
async def webhook(aiohttp_server: Callable[[web.Application], Awaitable[TestServer]]) -> Webhook:
    app = web.Application()
    app.router.add_post("/hook", hook_receive)
    app[WEBHOOK] = hook = Webhook()
    hook.port = (await aiohttp_server(app)).port
    return hook


@pytest.fixture
def chat() -> ChatChannel:
    return ChatChannel()


async def test_message_arrives_with_title_and_body(chat: ChatChannel, webhook: Webhook) -> None:
    outcome = await chat.send(MESSAGE, webhook.url())

    assert outcome.ok and outcome.error is None
    [posted] = webhook.received
    assert posted["title"] == MESSAGE.subject
    assert posted["message"] == MESSAGE.text


@pytest.mark.parametrize(
    ("status", "permanent"),
    [(500, False), (502, False), (503, False), (408, False), (429, False),
     (400, True), (401, True), (403, True), (404, True), (410, True)],
)
async def test_refused_delivery_fails_with_the_server_status(
    chat: ChatChannel, webhook: Webhook, status: int, permanent: bool
) -> None:
    webhook.status = status

    outcome = await chat.send(MESSAGE, webhook.url())

    assert not outcome.ok
    assert outcome.permanent is permanent
    assert outcome.error is not None and f"HTTP {status}" in outcome.error
    assert len(webhook.received) == 1  # apprise reached the server; the server said no


async def test_error_names_the_target_without_its_secrets(
    chat: ChatChannel, webhook: Webhook
) -> None:
    webhook.status = 500
    target = f"json://alice:Hunter2Secret@127.0.0.1:{webhook.port}/hook?token=Tok3nValue99"

    outcome = await chat.send(MESSAGE, target)

    assert not outcome.ok and outcome.error is not None
    assert f"127.0.0.1:{webhook.port}/hook" in outcome.error
    for secret in ("alice", "Hunter2Secret", "Tok3nValue99"):
        assert secret not in outcome.error


async def test_connection_refused_is_a_temporary_failure(
    chat: ChatChannel, unused_tcp_port: int
) -> None:
    outcome = await chat.send(MESSAGE, f"json://127.0.0.1:{unused_tcp_port}/hook")

    assert not outcome.ok and not outcome.permanent
    assert outcome.error is not None and f"127.0.0.1:{unused_tcp_port}" in outcome.error


async def test_a_server_slower_than_the_read_timeout_is_a_temporary_failure(
    chat: ChatChannel, webhook: Webhook
) -> None:
    webhook.hold = asyncio.Event()
    try:
        # apprise's `rto` is the socket read timeout in seconds; the outer limit only stops a
        # regression from hanging the suite, it is not a timing assertion.
        async with asyncio.timeout(10):
            outcome = await chat.send(MESSAGE, webhook.url(query="?rto=0.2&cto=0.2"))
    finally:
        webhook.hold.set()

    assert not outcome.ok and not outcome.permanent


@pytest.mark.parametrize("target", ["json://", "nosuchservice://host/path", "tgram://123/"])
async def test_a_url_apprise_cannot_load_is_a_permanent_failure(
    chat: ChatChannel, target: str
) -> None:
    outcome = await chat.send(MESSAGE, target)

    assert not outcome.ok and outcome.permanent


async def test_hundred_concurrent_sends_all_arrive(chat: ChatChannel, webhook: Webhook) -> None:
    messages = [Message(subject=f"Alert {n}", text=f"Body {n}") for n in range(100)]

    outcomes = await asyncio.gather(*(chat.send(m, webhook.url()) for m in messages))

    assert all(outcome.ok for outcome in outcomes)
    assert len(webhook.received) == 100
    assert sorted(p["title"] for p in webhook.received) == sorted(m.subject for m in messages)


SLACK_A, SLACK_B, SLACK_C = "T1JJ3T3L2", "A1BRTD4JD", "TIiajkdnlazkcOXrIdevi7FQ"
SLACK_BOT = "xoxb-1234-1234-4ddbc191d40ee098cbaae6f3523ada2d"
TELEGRAM_BOT = "123456789:ABCdefGhIJKlmNoPQRsTUVwxyZ"
MATRIX_TOKEN = "syt_YWxpY2U_ZmFrZXRva2VuMTIz"
WORKFLOW, SIGNATURE = "0f1e2d3c4b5a69788796a5b4c3d2e1f0", "AbCdEfGhIjKlMnOp-QrStUvWxYz_0123456789"
TEAMS_A, TEAMS_B, TEAMS_C = "abcdefgh@01234567-89ab", "0123456789abcdef", "ffffffff-0000-1111"

VALID_TARGETS = [
    f"slack://{SLACK_A}/{SLACK_B}/{SLACK_C}",
    f"slack://vigil@{SLACK_A}/{SLACK_B}/{SLACK_C}/#alerts",
    f"slack://{SLACK_BOT}/#alerts",
    f"tgram://{TELEGRAM_BOT}/-1001234567890",
    f"tgram://{TELEGRAM_BOT}/12345678/",
    "matrix://vigil:S3cretPass@matrix.example.org/#alerts:example.org",
    f"matrixs://{MATRIX_TOKEN}@matrix.example.org/!room:example.org",
    f"matrixs://matrix.example.org/#alerts?token={MATRIX_TOKEN}",
    "json://127.0.0.1:8080/hook",
    "json://localhost/hook",
    "jsons://hooks.example.com/alerts?+X-Token=S3cretHeader",
    f"workflows://prod-01.westus.logic.azure.com/{WORKFLOW}/{SIGNATURE}",
]

INVALID_TARGETS = [
    "",
    "not a url",
    "hooks.example.com/hook",
    "nosuchservice://host/path",
    f"https://hooks.slack.com/services/{SLACK_A}/{SLACK_B}/{SLACK_C}",  # native, not apprise form
    "http://example.com/hook",
    "slack://",
    f"slack://{SLACK_A}",
    "tgram://123/",
    "matrix://",
    "json://",
    f"msteams://{TEAMS_A}/{TEAMS_B}/{TEAMS_C}/",  # apprise 2.x retired it with O365 connectors
]


@pytest.mark.parametrize("target", VALID_TARGETS)
def test_check_target_accepts_documented_forms(chat: ChatChannel, target: str) -> None:
    chat.check_target(target)


@pytest.mark.parametrize("target", INVALID_TARGETS)
def test_check_target_refuses(chat: ChatChannel, target: str) -> None:
    with pytest.raises(TargetError):
        chat.check_target(target)


DESCRIBE_CASES = [
    # (target, secrets that must not survive, what an operator must still see)
    (f"slack://{SLACK_A}/{SLACK_B}/{SLACK_C}", [SLACK_A, SLACK_B, SLACK_C], ["slack://"]),
    (f"slack://vigil@{SLACK_A}/{SLACK_B}/{SLACK_C}/#alerts",
     [SLACK_A, SLACK_B, SLACK_C], ["slack://", "#alerts"]),
    (f"slack://{SLACK_BOT}/#alerts", [SLACK_BOT], ["slack://", "#alerts"]),
    (f"https://hooks.slack.com/services/{SLACK_A}/{SLACK_B}/{SLACK_C}",
     [SLACK_A, SLACK_B, SLACK_C], ["https://hooks.slack.com/services/"]),
    (f"tgram://{TELEGRAM_BOT}/-1001234567890", [TELEGRAM_BOT, "ABCdefGhIJ"], ["tgram://"]),
    ("matrix://vigil:S3cretPass@matrix.example.org/#alerts:example.org",
     ["S3cretPass", "vigil:"], ["matrix://", "matrix.example.org", "#alerts:example.org"]),
    (f"matrixs://{MATRIX_TOKEN}@matrix.example.org/!room:example.org",
     [MATRIX_TOKEN], ["matrixs://", "matrix.example.org"]),
    (f"matrixs://matrix.example.org/#alerts?token={MATRIX_TOKEN}",
     [MATRIX_TOKEN], ["matrixs://matrix.example.org/#alerts", "token="]),
    (f"msteams://{TEAMS_A}/{TEAMS_B}/{TEAMS_C}/", [TEAMS_A, TEAMS_B, TEAMS_C], ["msteams://"]),
    (f"msteams://vigilteam/{TEAMS_A}/{TEAMS_B}/{TEAMS_C}/Tok3nD4567",
     [TEAMS_A, TEAMS_B, TEAMS_C, "Tok3nD4567"], ["msteams://"]),
    (f"workflows://prod-01.westus.logic.azure.com/{WORKFLOW}/{SIGNATURE}",
     [WORKFLOW, SIGNATURE], ["workflows://prod-01.westus.logic.azure.com/"]),
    ("json://alice:Hunter2Pass@127.0.0.1:8080/hook?token=Tok3nValue99&rto=4",
     ["alice", "Hunter2Pass", "Tok3nValue99"],
     ["json://", "127.0.0.1:8080/hook", "token=", "rto="]),
    ("jsons://hooks.example.com/hook?+Authorization=Bearer%20S3cretBearer&-apikey=K3yK3yK3y",
     ["S3cretBearer", "K3yK3yK3y"], ["jsons://hooks.example.com/hook"]),
    ("jsons://hooks.example.com/hook/Abc123Path99Secret", ["Abc123Path99Secret"],
     ["jsons://hooks.example.com/hook/"]),
    (SLACK_BOT, [SLACK_BOT], []),  # not a URL at all: nothing of it is shown
]


def test_the_documented_url_leaves_out_what_xml_cannot_carry() -> None:
    # The channel spells out what the hub's text checks refuse; the two must stay equal.
    assert chat_module.XML_CONTROLS == validation.XML_CONTROLS
    assert validation.XML_CONTROLS in chat_module.SCHEMA["pattern"]


@pytest.mark.parametrize(("target", "secrets", "visible"), DESCRIBE_CASES)
def test_describe_masks_every_secret(
    chat: ChatChannel, target: str, secrets: list[str], visible: list[str]
) -> None:
    description = chat.describe(target)

    for secret in secrets:
        # Not the secret, nor any run of five of its characters.
        windows = {secret[i:i + 5] for i in range(max(len(secret) - 4, 1))}
        assert not any(window in description for window in windows), (secret, description)
    for part in visible:
        assert part in description, (part, description)


@pytest.mark.parametrize("target", VALID_TARGETS)
def test_describe_keeps_the_scheme(chat: ChatChannel, target: str) -> None:
    assert chat.describe(target).startswith(target.partition("://")[0] + "://")
