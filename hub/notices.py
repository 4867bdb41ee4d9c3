"""One-off emails that are not alerts (subscription confirmations), sent in the background."""

from __future__ import annotations

import asyncio
import logging

import jinja2

from channels.base import Channel, Message
from channels.registry import Plugin, Registry
from hub.messages import TEMPLATES
from partners.models import Subscription

log = logging.getLogger(__name__)
SEND_TIMEOUT_S = 30.0


class Notices:
    """Sends notices without holding up the request that caused them."""

    def __init__(self, channels: Registry, public_url: str) -> None:
        # Notices go to residents' addresses, on the channel that reaches residents.
        self.plugin: Plugin | None = channels.residents()
        self.channel: Channel | None = self.plugin.build(channels.settings) if self.plugin \
            else None
        self.public_url = public_url.rstrip("/")
        self.templates = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES),
                                            autoescape=False, undefined=jinja2.StrictUndefined)
        self.tasks: set[asyncio.Task[None]] = set()

    def confirm_subscription(self, subscription: Subscription, secret: str) -> None:
        url = f"{self.public_url}/subscribe/confirm/{secret}"
        text = self.templates.get_template("messages/confirm.txt").render(
            radius_m=subscription.radius_m, lat=subscription.lat, lon=subscription.lon,
            confirm_url=url)
        self._send(Message("Confirm your Vigil alert subscription", text), subscription.email)

    def _send(self, message: Message, address: str) -> None:
        task = asyncio.create_task(self._deliver(message, address))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _deliver(self, message: Message, address: str) -> None:
        assert self.channel is not None and self.plugin is not None
        try:
            outcome = await asyncio.wait_for(self.channel.send(message, address),
                                             SEND_TIMEOUT_S)
        except TimeoutError:
            log.warning("notice to %s timed out", self.plugin.describe(address))
            return
        if not outcome.ok:
            log.warning("notice to %s failed: %s", self.plugin.describe(address),
                        outcome.error)

    async def close(self) -> None:
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        close = getattr(self.channel, "close", None)
        if close is not None:
            await close()
