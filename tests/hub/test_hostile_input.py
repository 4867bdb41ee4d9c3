"""Hostile and awkward input (issue 14), each case sent as named: bodies that arrive in pieces."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

from hub.cap import MAX_DOCUMENT_BYTES
from hub.http import MAX_JSON_BODY
from tests.capdoc import cap_alert
from tests.conftest import Hub, alert_body

RUNS = 10


async def in_pieces(data: bytes, piece: int = 16 * 1024) -> AsyncIterator[bytes]:
    """The body a slow phone sends: small chunks (no Content-Length), a pause between."""
    for start in range(0, len(data), piece):
        yield data[start:start + piece]
        await asyncio.sleep(0.001)


async def post_in_pieces(hub: Hub, path: str, token: str, data: bytes,
                         content_type: str) -> tuple[int, Any]:
    response = await hub.client.post(path, data=in_pieces(data), headers={
        **hub.auth(token), "Content-Type": content_type})
    return response.status, await response.json()


async def test_a_json_body_just_under_the_limit_is_read_whole_every_time(hub: Hub) -> None:
    publisher = await hub.publisher()
    # Valid JSON of 0.99 MiB: an alert whose description is too long for an alert, so the
    # answer names `description`, which only a body read to its end can say.
    body = alert_body(description="x" * (MAX_JSON_BODY - 12_000))
    data = json.dumps(body).encode()
    assert 0.98 * MAX_JSON_BODY < len(data) <= MAX_JSON_BODY
    for _ in range(RUNS):
        status, answer = await post_in_pieces(hub, "/api/v1/alerts/preview", publisher, data,
                                              "application/json")
        assert status == 422 and "body" not in answer["fields"], answer
        assert "description" in answer["fields"]


async def test_a_cap_document_of_1_9_mib_in_pieces_is_imported_every_time(hub: Hub) -> None:
    publisher = await hub.publisher()
    for run in range(RUNS):
        document = cap_alert(f"TFS-BIG-{run}")
        padding = b"<!--" + b" padding" * ((19 * MAX_DOCUMENT_BYTES // 20) // 8) + b"-->"
        document = document.replace(b"<identifier>", padding + b"<identifier>", 1)
        assert 0.9 * MAX_DOCUMENT_BYTES < len(document) <= MAX_DOCUMENT_BYTES
        status, answer = await post_in_pieces(hub, "/api/v1/cap", publisher, document,
                                              "application/cap+xml")
        assert status == 201, answer
