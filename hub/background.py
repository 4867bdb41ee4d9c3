"""Background loops: one task per job that runs a round when woken, or after a quiet spell."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)


class Loop:
    """Runs `round()` each time `wake()` is called, and at least every `interval_s`.

    The database is the source of truth, so a round always looks at what is due now; a lost
    wake-up only delays work until the next interval. A failing round is logged and tried
    again, so one database hiccup never stops the job for good.
    """

    def __init__(self, name: str, round_: Callable[[], Awaitable[object]],
                 interval_s: float) -> None:
        self.name, self.round, self.interval_s = name, round_, interval_s
        self.woken = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    def wake(self) -> None:
        self.woken.set()

    def start(self) -> None:
        self.task = asyncio.create_task(self._run(), name=self.name)

    async def close(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
            self.task = None

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.woken.wait(), self.interval_s)
            self.woken.clear()
            try:
                await self.round()
            except Exception:
                log.exception("%s round failed; trying again", self.name)
                await asyncio.sleep(min(1.0, self.interval_s))
