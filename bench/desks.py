"""Desk clients in processes of their own, so that the measuring side is not the bottleneck.

Each process holds its share of the sockets and notes, for every alert frame, when each of
its sockets got it (CLOCK_MONOTONIC, which every process on the machine shares). The
coordinator sends commands over a pipe and gathers the times.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import re
import time
from collections import defaultdict
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

import aiohttp

SEQ = re.compile(r'"seq":(\d+)')


@dataclass(frozen=True)
class Connect:
    """Open these sockets all at once, at `at` (monotonic), and say when each went live."""

    url: str
    tokens: list[str | None]  # a bearer token per socket, or None for the bare servers
    resume_since: int | None  # the hub: send a resume and wait for its `replayed` marker
    at: float
    marker: bool = True  # False for a hub older than the marker: live once resume is sent


class DeskProcess:
    """The coordinator's handle on one client process."""

    def __init__(self, index: int) -> None:
        context = multiprocessing.get_context("spawn")
        self.pipe, child = context.Pipe()
        self.process = context.Process(target=_main, args=(child, index), daemon=True)
        self.process.start()

    def send(self, command: str, *args: Any) -> None:
        self.pipe.send((command, args))

    def answer(self, timeout_s: float = 600) -> Any:
        if not self.pipe.poll(timeout_s):
            raise TimeoutError("a desk process did not answer")
        return self.pipe.recv()

    def stop(self) -> None:
        self.send("quit")
        self.process.join(10)
        if self.process.is_alive():
            self.process.kill()


class Fleet:
    """Desk sockets spread over several client processes."""

    def __init__(self, processes: int = 2) -> None:
        self.members = [DeskProcess(n) for n in range(processes)]

    def connect(self, url: str, tokens: list[str | None], resume_since: int | None,
                marker: bool = True) -> tuple[float, list[float], int]:
        """Connect every desk at once; (start, live times, failures)."""
        at = time.monotonic() + 0.5
        share = len(self.members)
        for n, member in enumerate(self.members):
            member.send("connect", Connect(url, tokens[n::share], resume_since, at, marker))
        live: list[float] = []
        failed = 0
        for member in self.members:
            times, errors = member.answer()
            live += times
            failed += errors
        return at, live, failed

    def heard(self) -> dict[int, list[float]]:
        """Every receipt time of every alert seq since the last call, from all processes."""
        for member in self.members:
            member.send("heard")
        merged: dict[int, list[float]] = defaultdict(list)
        for member in self.members:
            for seq, times in member.answer().items():
                merged[seq] += times
        return merged

    def counts(self) -> dict[int, int]:
        for member in self.members:
            member.send("counts")
        merged: dict[int, int] = defaultdict(int)
        for member in self.members:
            for seq, count in member.answer().items():
                merged[seq] += count
        return merged

    def close_all(self) -> None:
        for member in self.members:
            member.send("close")
        for member in self.members:
            member.answer()

    def stop(self) -> None:
        for member in self.members:
            member.stop()


def _main(pipe: Connection, index: int) -> None:
    try:
        import uvloop
        uvloop.run(_serve(pipe, index))
    except ImportError:
        asyncio.run(_serve(pipe, index))


async def _serve(pipe: Connection, index: int) -> None:
    loop = asyncio.get_running_loop()
    desks = _Desks()
    http: aiohttp.ClientSession | None = None
    rounds = 0
    while True:
        command, args = await loop.run_in_executor(None, pipe.recv)
        if command == "connect":
            # Each process, and each round, connects from an address of its own: the
            # sockets of earlier rounds linger in TIME_WAIT and would slow the choice of a
            # free port.
            rounds += 1
            if http is not None:
                await http.close()
            http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(
                limit=0, local_addr=(f"127.{rounds % 250 + 1}.0.{index + 2}", 0)))
            pipe.send(await desks.connect(http, args[0]))
        elif command == "heard":
            pipe.send(desks.take_heard())
        elif command == "counts":
            pipe.send({seq: len(times) for seq, times in desks.heard.items()})
        elif command == "close":
            await desks.close()
            pipe.send(True)
        elif command == "quit":
            await desks.close()
            if http is not None:
                await http.close()
            return


class _Desks:
    def __init__(self) -> None:
        self.sockets: list[aiohttp.ClientWebSocketResponse] = []
        self.readers: list[asyncio.Task[None]] = []
        self.heard: defaultdict[int, list[float]] = defaultdict(list)

    def take_heard(self) -> dict[int, list[float]]:
        heard, self.heard = dict(self.heard), defaultdict(list)
        return heard

    async def connect(self, http: aiohttp.ClientSession,
                      order: Connect) -> tuple[list[float], int]:
        await asyncio.sleep(max(0.0, order.at - time.monotonic()))
        results = await asyncio.gather(*(self._one(http, order, token)
                                         for token in order.tokens), return_exceptions=True)
        times = [r for r in results if isinstance(r, float)]
        return times, len(results) - len(times)

    async def _one(self, http: aiohttp.ClientSession, order: Connect,
                   token: str | None) -> float:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        ws = await http.ws_connect(order.url, headers=headers, autoping=True,
                                   max_msg_size=0, timeout=aiohttp.ClientWSTimeout(ws_close=2))
        self.sockets.append(ws)
        live = asyncio.get_running_loop().create_future()
        if order.resume_since is not None:
            await ws.send_str(f'{{"type":"resume","since":{order.resume_since}}}')
        if order.resume_since is None or not order.marker:
            live.set_result(time.monotonic())
        self.readers.append(asyncio.create_task(self._read(ws, live)))
        return float(await asyncio.wait_for(live, 120))

    async def _read(self, ws: aiohttp.ClientWebSocketResponse, live: asyncio.Future[float]) -> None:
        async for message in ws:
            if message.type != aiohttp.WSMsgType.TEXT:
                continue
            data = message.data
            if data.startswith('{"type":"alert"'):
                found = SEQ.search(data, 0, 40)
                if found:
                    self.heard[int(found.group(1))].append(time.monotonic())
            elif data.startswith('{"type":"replayed"') and not live.done():
                live.set_result(time.monotonic())

    async def close(self) -> None:
        for reader in self.readers:
            reader.cancel()
        await asyncio.gather(*(ws.close() for ws in self.sockets), return_exceptions=True)
        self.sockets, self.readers = [], []
        self.heard.clear()
