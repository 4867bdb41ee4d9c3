"""Channels are plugins: a channel declared only under tests/ (tests/channels/pager.py),
named in VIGIL_CHANNELS as the built-in ones are, is enrolled, targeted, sent and listed
end to end by a real hub and its delivery worker, with no line of hub/ knowing it."""

from __future__ import annotations

import asyncio
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from channels.registry import BUILT_IN, Registry, load
from hub.settings import Settings
from tests.channels.pager import pages_file
from tests.conftest import INSIDE, Hub

PAGER = "tests.channels.pager"
NUMBER = "+14165550100"
ROOT = Path(__file__).resolve().parents[2]


async def _pages(data_dir: Path, count: int) -> list[dict[str, Any]]:
    """The pages the pager channel has sent, once there are `count` of them."""
    file = pages_file(data_dir)
    for _ in range(500):
        if file.exists():
            pages = [json.loads(line) for line in file.read_text().splitlines()]
            if len(pages) >= count:
                return pages
        await asyncio.sleep(0.02)
    raise AssertionError(f"fewer than {count} pages in {file}")


@pytest.fixture
async def paged(aiohttp_client: Any, make_app: Any, clock: Any) -> Hub:
    app = make_app(worker=True, channels=(*BUILT_IN, PAGER))
    return Hub(await aiohttp_client(app), clock)


async def test_a_channel_declared_only_in_the_tests_receives_alerts_end_to_end(
        paged: Hub, settings: Settings) -> None:
    publisher = await paged.publisher()
    org = await paged.organisation("Bay Tower Security", sites=[INSIDE])
    await paged.contact(org, "Night Guard", pager=NUMBER)
    listed = await paged.call("GET", f"/api/v1/organisations/{org}/contacts")
    assert listed[0]["pager"] == NUMBER and listed[0]["email"] is None
    alert = await paged.publish(publisher)
    assert alert["targets"]["contacts"] == 1
    page = (await _pages(settings.data_dir, 1))[0]
    assert page["to"] == NUMBER and "Suspicious package" in page["text"]
    for _ in range(250):
        deliveries = await paged.call("GET", f"/api/v1/alerts/{alert['id']}/deliveries",
                                      publisher)
        pager = [d for d in deliveries if d["channel"] == "pager"]
        if pager and pager[0]["status"] == "sent":
            break
        await asyncio.sleep(0.02)
    assert pager == [pager[0]] and pager[0]["status"] == "sent"
    assert pager[0]["recipient"] == "Night Guard (pager ***0100)"  # the plugin's own mask


async def test_a_plugin_that_reaches_one_person_carries_tlp_red(
        paged: Hub, settings: Settings) -> None:
    # The pager declares itself individual, so a contact known only by a pager number is a
    # named person: TLP:RED reaches them on it (and on their own live feed), as email does.
    publisher = await paged.publisher()
    org = await paged.organisation("Bay Tower Security", sites=[INSIDE])
    await paged.contact(org, "Night Guard", pager=NUMBER)
    await paged.contact(org, "Ops Room", chat_url="json://127.0.0.1:9/hooks/ops")
    red = await paged.publish(publisher, tlp="TLP:RED")
    assert red["targets"]["contacts"] == 1  # the pager's person, not the chat room
    page = (await _pages(settings.data_dir, 1))[0]
    assert page["to"] == NUMBER


async def test_a_plugin_checks_its_own_contact_field(paged: Hub) -> None:
    org = await paged.organisation("Bay Tower Security", sites=[INSIDE])
    path = f"/api/v1/organisations/{org}/contacts"
    bad = await paged.call("POST", path, expect=422, json={"name": "Guard", "pager": "416-555"})
    assert bad["fields"] == {"pager": "must be a phone number in E.164 form, "
                                      "such as +14165550100"}
    none = await paged.call("POST", path, expect=422, json={"name": "Guard"})
    assert "pager" in none["fields"]["email"]  # the one-of names every channel's field


async def test_without_the_plugin_its_field_is_unknown(hub: Hub) -> None:
    org = await hub.organisation("Bay Tower Security", sites=[INSIDE])
    answer = await hub.call("POST", f"/api/v1/organisations/{org}/contacts", expect=422,
                            json={"name": "Guard", "pager": NUMBER})
    assert "pager" in answer["fields"]


async def served_contact_schemas(hub: Hub) -> tuple[dict[str, Any], Draft202012Validator]:
    """The contact schemas of the hub's own /api/v1/openapi.json, and a validator of a
    new contact's body against it."""
    document = await hub.call("GET", "/api/v1/openapi.json", expect=200)
    schemas = document["components"]["schemas"]
    create = Draft202012Validator({**schemas["ContactCreate"],
                                   "components": document["components"]})
    return {name: schemas[name] for name in ("ContactCreate", "ContactUpdate", "Contact")}, create


async def test_the_served_document_has_the_contact_field_of_a_plugin(paged: Hub) -> None:
    schemas, create = await served_contact_schemas(paged)
    for name in ("ContactCreate", "ContactUpdate"):
        pager = schemas[name]["properties"]["pager"]["anyOf"][0]
        assert pager["type"] == "string" and pager["maxLength"] == 16, name
    assert schemas["Contact"]["properties"]["pager"] == {"type": ["string", "null"]}
    assert "pager" in schemas["Contact"]["required"]
    assert create.is_valid({"name": "Guard", "pager": NUMBER})  # a pager alone will do
    assert not create.is_valid({"name": "Guard", "pager": "+1" + "4" * 15})
    assert not create.is_valid({"name": "Guard"})


async def test_without_the_plugin_the_served_document_has_no_such_field(hub: Hub) -> None:
    schemas, create = await served_contact_schemas(hub)
    for name, schema in schemas.items():
        assert "pager" not in schema["properties"], name
        assert "pager" not in str(schema.get("anyOf", "")), name
    assert not create.is_valid({"name": "Guard", "pager": NUMBER})
    assert create.is_valid({"name": "Guard", "email": "guard@example.org"})


def test_no_module_of_the_hub_names_the_test_channel() -> None:
    found = subprocess.run(["git", "grep", "-l", "-i", "pager", "--", "hub", "partners",
                            "channels"], cwd=ROOT, capture_output=True, text=True)
    assert found.stdout == ""


def test_the_channels_setting_names_the_modules() -> None:
    settings = Settings.from_env({"VIGIL_CHANNELS": f"channels.email, {PAGER}"})
    assert settings.channels == ("channels.email", PAGER)
    assert list(Registry.of(settings).known) == ["email", "pager"]
    assert Settings().channels == BUILT_IN
    with pytest.raises(ValueError, match="VIGIL_CHANNELS must name"):
        Settings.from_env({"VIGIL_CHANNELS": " , "})


def test_a_module_without_a_plugin_or_a_second_one_of_a_name_is_refused() -> None:
    with pytest.raises(ValueError, match=r"tests\.conftest declares no channel PLUGIN"):
        load(["tests.conftest"])
    with pytest.raises(ValueError, match=r"declares the channel 'email' .* twice"):
        load(["channels.email", "channels.email"])
    with pytest.raises(ValueError, match=r"no\.such declares no channel PLUGIN"):
        load(["no.such"])


def test_only_the_channels_the_settings_turn_on_are_on() -> None:
    off = Registry.of(Settings())
    assert off.names == {"chat"} and set(off.known) == {"email", "chat"}
    assert off.residents() is None  # residents need email, off without an SMTP relay
    on = Registry.of(Settings(smtp_url="smtp://127.0.0.1:25"))
    assert on.names == {"email", "chat"} and on.residents() is on.known["email"]
    assert on.individual("email") and not on.individual("chat") and not on.individual("feed")
