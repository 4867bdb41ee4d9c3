"""Reading alerts: listing, paging forward with since, bad query values, health."""

from __future__ import annotations

import pytest

from tests.conftest import INSIDE, Hub


async def test_list_pages_forward_with_since_without_skipping(hub: Hub) -> None:
    publisher = await hub.publisher()
    await hub.partner("Bay Tower Security", INSIDE)
    seqs = [(await hub.publish(publisher, headline=f"A{n}"))["seq"] for n in range(5)]
    newest = await hub.call("GET", "/api/v1/alerts?limit=2", publisher, expect=200)
    assert [a["seq"] for a in newest] == seqs[::-1][:2]
    page = await hub.call("GET", f"/api/v1/alerts?since={seqs[0]}&limit=2", publisher)
    assert [a["seq"] for a in page] == seqs[1:3]
    page = await hub.call("GET", f"/api/v1/alerts?since={seqs[2]}&limit=2", publisher)
    assert [a["seq"] for a in page] == seqs[3:5]


@pytest.mark.parametrize("query", ["since=%C2%B2", "since=-1", "limit=0", "limit=501",
                                   "limit=" + "9" * 5000, "since=1.5"])
async def test_bad_query_values_are_422(hub: Hub, query: str) -> None:
    publisher = await hub.publisher()
    response = await hub.client.get(f"/api/v1/alerts?{query}", headers=hub.auth(publisher))
    assert response.status == 422
    assert set((await response.json())["fields"]) & {"since", "limit"}


async def test_health(hub: Hub) -> None:
    response = await hub.client.get("/healthz")
    assert response.status == 200
    assert await response.json() == {
        "status": "ok", "database": "ok", "storage": {"status": "ok"},
        "feed": {"status": "ok", "desks": 0, "lag_s": 0.0, "backlog": 0, "records_waiting": 0}}


async def test_unknown_api_path_is_json_404(hub: Hub) -> None:
    response = await hub.client.get("/api/v1/nothing-here")
    assert response.status == 404
    assert (await response.json())["error"] == "not_found"
