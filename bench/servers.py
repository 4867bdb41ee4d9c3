"""The bare baselines: what Python itself does on this machine, with no hub around it.

    python -m bench.servers websockets|aiohttp PORT

Both serve `/feed` (WebSocket) and `GET /broadcast?seq=N`, which sends one 1 KB frame
shaped like a hub alert frame to every connected socket and answers when it has: the
`websockets` server with `websockets.broadcast()`, the aiohttp one with a loop over
`send_str`. Run on uvloop, as the hub is.
"""

from __future__ import annotations

import asyncio
import http
import json
import sys
from typing import Any

FRAME_BYTES = 1024


def frame(seq: int) -> str:
    """A 1 KB text frame that starts the way a hub alert frame does."""
    head = f'{{"type":"alert","seq":{seq},"pad":"'
    return head + "x" * (FRAME_BYTES - len(head) - 2) + '"}'


async def websockets_server(port: int) -> None:
    from websockets.asyncio.server import ServerConnection, broadcast, serve
    from websockets.http11 import Request, Response

    connected: set[ServerConnection] = set()

    async def handler(connection: ServerConnection) -> None:
        connected.add(connection)
        try:
            await connection.wait_closed()
        finally:
            connected.discard(connection)

    def process_request(connection: ServerConnection, request: Request) -> Response | None:
        if request.path.startswith("/broadcast"):
            seq = int(request.path.split("seq=")[1])
            broadcast(connected, frame(seq))
            return connection.respond(http.HTTPStatus.OK, json.dumps({"sent": len(connected)}))
        return None

    async with serve(handler, "127.0.0.1", port, process_request=process_request,
                     compression=None, backlog=4096, ping_interval=20, max_queue=16):
        await asyncio.Future()


async def aiohttp_server(port: int) -> None:
    from aiohttp import web

    connected: set[web.WebSocketResponse] = set()

    async def feed(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(heartbeat=20, compress=False)
        await ws.prepare(request)
        connected.add(ws)
        try:
            async for _ in ws:
                pass
        finally:
            connected.discard(ws)
        return ws

    async def trigger(request: web.Request) -> web.Response:
        text = frame(int(request.query["seq"]))
        for ws in list(connected):
            await ws.send_str(text)
        return web.json_response({"sent": len(connected)})

    app = web.Application()
    app.router.add_get("/feed", feed)
    app.router.add_get("/broadcast", trigger)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port, backlog=4096).start()
    await asyncio.Future()


def main(argv: list[str]) -> None:
    kind, port = argv[0], int(argv[1])
    server: Any = {"websockets": websockets_server, "aiohttp": aiohttp_server}[kind]
    try:
        import uvloop
        uvloop.run(server(port))
    except ImportError:
        asyncio.run(server(port))


if __name__ == "__main__":
    main(sys.argv[1:])
