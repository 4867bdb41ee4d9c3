from tests.conftest import INSIDE, Hub, next_frame


async def test_publish_reaches_desk(hub: Hub) -> None:
    publisher = await hub.publisher()
    _, partner = await hub.partner("Bay Tower Security", INSIDE)
    async with hub.client.ws_connect("/api/v1/feed", headers=hub.auth(partner)) as ws:
        await ws.send_json({"type": "resume", "since": 0})
        created = await hub.publish(publisher)
        assert created["targets"] == {"organisations": 1, "contacts": 1, "residents": 0}
        frame = await next_frame(ws)
        assert frame["type"] == "alert" and frame["seq"] == created["seq"]
