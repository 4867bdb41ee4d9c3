"""hub.cap.write.dump: CAP 1.2 that the OASIS schema accepts and that reads back unchanged."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from lxml import etree

from hub.cap import NS_12, CapArea, Circle, Info, Message, Pair, Reference, Resource, parse
from hub.cap.write import dump, format_datetime, format_number
from tests.cap.conftest import VALID_SAMPLES

DATA = Path(__file__).resolve().parents[1] / "data"
SAMPLES = DATA / "cap-samples"
EST = timezone(timedelta(hours=-5))
IST = timezone(timedelta(hours=5, minutes=30))
NS = {"c": NS_12}


@pytest.fixture(scope="module")
def schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(DATA / "CAP-v1.2.xsd")))


def assert_valid(schema: etree.XMLSchema, document: bytes) -> etree._Element:
    root = etree.fromstring(document)
    assert schema.validate(root), schema.error_log
    return root


def rich_message() -> Message:
    fire = Info(
        categories=("Fire", "Safety"),
        event="Wildfire",
        urgency="Immediate",
        severity="Extreme",
        certainty="Observed",
        language="en-CA",
        response_types=("Evacuate", "Monitor"),
        audience="Residents of the valley",
        event_codes=(Pair("SAME", "FRW"), Pair("profile:CAP-CP:Event:0.4", "wildfire")),
        effective=datetime(2024, 7, 1, 12, 0, tzinfo=EST),
        onset=datetime(2024, 7, 1, 12, 30, tzinfo=EST),
        expires=datetime(2024, 7, 2, 0, 0, tzinfo=UTC),
        sender_name="Valley Fire Service",
        headline="Leave now: fire at Ridge Rd & Main <north side>",
        description="The fire crossed Ridge Rd.\n\nWind gusts to 60 km/h.",
        instruction="Go east on Main St. Take pets.",
        web="https://fire.example.org/alerts/42?x=1&y=2",
        contact="+1 555 0100",
        parameters=(Pair("layer:Vigil:1.0:Tier", "1"), Pair("EAS-ORG", "CIV")),
        resources=(
            Resource("Evacuation map", "image/png", size=1234,
                     uri="https://fire.example.org/map.png", digest="a" * 40),
            Resource("Embedded note", "text/plain", deref_uri="SGVsbG8sIHdvcmxkIQ=="),
        ),
        areas=(
            CapArea(
                "North valley",
                polygons=(
                    ((49.1, -123.1), (49.2, -123.1), (49.2, -123.0), (49.1, -123.1)),
                    ((50.0, 10.0), (50.5, 10.0), (50.5, 10.5), (50.0, 10.0)),
                ),
                circles=(Circle(49.15, -123.05, 2.5), Circle(-33.8688, 151.2093, 0.0)),
                geocodes=(Pair("SAME", "059001"), Pair("FIPS6", "059001")),
                altitude=120.0,
                ceiling=3500.5,
            ),
            CapArea("South valley", geocodes=(Pair("profile:CAP-CP:Location:0.3", "5915022"),)),
        ),
    )
    feu = dataclasses.replace(
        fire, language="fr-CA", event="Feu de forêt",
        headline="Partez maintenant : feu près du chemin Ridge",
        description="Le feu a traversé le chemin Ridge. Évacuez vers l'est.",
        resources=(), parameters=())
    return Message(
        identifier="VIGIL-2024-0042",
        sender="alerts@fire.example.org",
        sent=datetime(2024, 7, 1, 11, 58, 3, tzinfo=EST),
        status="Actual",
        msg_type="Update",
        scope="Restricted",
        source="Dispatch desk 3",
        restriction="Emergency services & partners only",
        codes=("profile:CAP-CP:0.4", "IPAWSv1.0"),
        note="Supersedes the 11:40 alert",
        references=(
            Reference("alerts@fire.example.org", "VIGIL-2024-0041", "2024-07-01T11:40:00-05:00"),
            Reference("alerts@fire.example.org", "VIGIL-2024-0040", "2024-07-01T11:20:00-05:00"),
        ),
        incidents="FIRE-0007 FIRE-0008",
        infos=(fire, feu),
    )


def test_rich_message_validates_and_keeps_every_field(schema: etree.XMLSchema) -> None:
    document = dump(rich_message())
    assert document.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    root = assert_valid(schema, document)
    assert root.tag == f"{{{NS_12}}}alert"
    assert [e.text for e in root.iterfind("c:info/c:language", NS)] == ["en-CA", "fr-CA"]
    assert root.findtext("c:restriction", namespaces=NS) == "Emergency services & partners only"
    assert root.findtext("c:references", namespaces=NS) == (
        "alerts@fire.example.org,VIGIL-2024-0041,2024-07-01T11:40:00-05:00 "
        "alerts@fire.example.org,VIGIL-2024-0040,2024-07-01T11:20:00-05:00")
    assert [e.text for e in root.iterfind("c:code", NS)] == ["profile:CAP-CP:0.4", "IPAWSv1.0"]
    info = root.find("c:info", NS)
    assert info is not None
    assert [e.text for e in info.iterfind("c:responseType", NS)] == ["Evacuate", "Monitor"]
    assert [(e.findtext("c:valueName", namespaces=NS), e.findtext("c:value", namespaces=NS))
            for e in info.iterfind("c:parameter", NS)] == [("layer:Vigil:1.0:Tier", "1"),
                                                           ("EAS-ORG", "CIV")]
    resources = info.findall("c:resource", NS)
    assert resources[0].findtext("c:size", namespaces=NS) == "1234"
    assert resources[1].findtext("c:derefUri", namespaces=NS) == "SGVsbG8sIHdvcmxkIQ=="
    area = info.find("c:area", NS)
    assert area is not None
    assert [e.text for e in area.iterfind("c:polygon", NS)] == [
        "49.1,-123.1 49.2,-123.1 49.2,-123.0 49.1,-123.1",
        "50.0,10.0 50.5,10.0 50.5,10.5 50.0,10.0"]
    assert [e.text for e in area.iterfind("c:circle", NS)] == [
        "49.15,-123.05 2.5", "-33.8688,151.2093 0.0"]
    assert area.findtext("c:altitude", namespaces=NS) == "120.0"
    assert area.findtext("c:ceiling", namespaces=NS) == "3500.5"


def test_private_message_with_addresses_validates(schema: etree.XMLSchema) -> None:
    message = dataclasses.replace(rich_message(), scope="Private", restriction=None,
                                  addresses='ops@city.example "Desk 4" partner-17')
    root = assert_valid(schema, dump(message))
    assert root.findtext("c:scope", namespaces=NS) == "Private"
    assert root.findtext("c:addresses", namespaces=NS) == 'ops@city.example "Desk 4" partner-17'
    assert root.find("c:restriction", NS) is None


def test_message_without_info_validates(schema: etree.XMLSchema) -> None:
    earlier = Reference("a@b", "x-1", "2024-01-01T00:00:00Z")
    message = Message("ack-1", "hub@vigil.example", datetime(2024, 1, 1, tzinfo=UTC), "System",
                      "Ack", "Public", references=(earlier,))
    root = assert_valid(schema, dump(message))
    assert [etree.QName(e).localname for e in root] == [
        "identifier", "sender", "sent", "status", "msgType", "scope", "references"]


def test_special_characters_survive(schema: etree.XMLSchema) -> None:
    text = "Tom & Jerry <b>bold</b> \"quoted\" 'single' ]]> — Ürgent 警報 🔥\r\nline two\t."
    info = Info(("Other",), text, "Unknown", "Unknown", "Unknown", headline=text,
                areas=(CapArea(text, geocodes=(Pair(text, text),)),))
    message = Message("id&<1>", "s", datetime(2024, 1, 1, tzinfo=UTC), "Test", "Alert",
                      "Public", note=text, infos=(info,))
    root = assert_valid(schema, dump(message))
    assert root.findtext("c:identifier", namespaces=NS) == "id&<1>"
    assert root.findtext("c:note", namespaces=NS) == text
    assert root.findtext("c:info/c:headline", namespaces=NS) == text
    assert root.findtext("c:info/c:area/c:areaDesc", namespaces=NS) == text
    assert root.findtext("c:info/c:area/c:geocode/c:value", namespaces=NS) == text


def test_whitespace_in_values_is_not_touched() -> None:
    info = Info(("Met",), "  padded  ", "Future", "Minor", "Likely", description="\n  indented\n")
    root = etree.fromstring(dump(Message("i", "s", datetime(2024, 1, 1, tzinfo=UTC), "Test",
                                         "Alert", "Public", note="", infos=(info,))))
    assert root.findtext("c:info/c:event", namespaces=NS) == "  padded  "
    assert root.findtext("c:info/c:description", namespaces=NS) == "\n  indented\n"
    assert root.findtext("c:note", namespaces=NS) == ""


def test_characters_xml_cannot_carry_are_replaced_so_the_document_stays_whole() -> None:
    # Input refuses them now (issue 14.4), but text stored before must not take a public
    # feed down: each becomes U+FFFD and the document is still well-formed.
    message = Message("i", "s", datetime(2024, 1, 1, tzinfo=UTC), "Test", "Alert", "Public",
                      note="bell\x07 and NUL\x00")
    root = etree.fromstring(dump(message))
    assert root.findtext("c:note", namespaces=NS) == "bell\ufffd and NUL\ufffd"


@pytest.mark.parametrize("value", [
    1e-05, -1e-07, 0.1 + 0.2, 1 / 3, 90.0, -180.0, 0.0, -0.0, 1e16, 123456789.123456789,
    5e-324, 1.7976931348623157e308, 43.648012345678901,
])
def test_numbers_keep_their_exact_value_without_exponent(value: float) -> None:
    text = format_number(value)
    assert "e" not in text.lower()
    assert float(text) == value


def test_numbers_survive_in_the_document(schema: etree.XMLSchema) -> None:
    points = ((1e-05, -0.1 + -0.2), (1 / 3, 2 / 3), (45.123456789012345, -1e-07),
              (1e-05, -0.1 + -0.2))
    area = CapArea("Tiny", polygons=(points,), circles=(Circle(1e-06, 179.99999999999997, 1e-05),),
                   altitude=1e-05, ceiling=1e16)
    info = Info(("Geo",), "Quake", "Past", "Minor", "Observed", areas=(area,))
    root = assert_valid(schema, dump(Message("n", "s", datetime(2024, 1, 1, tzinfo=UTC), "Test",
                                             "Alert", "Public", infos=(info,))))
    polygon = root.findtext("c:info/c:area/c:polygon", namespaces=NS)
    assert polygon is not None and "e" not in polygon
    read = tuple(tuple(float(n) for n in pair.split(",")) for pair in polygon.split(" "))
    assert read == points
    circle = root.findtext("c:info/c:area/c:circle", namespaces=NS)
    assert circle is not None and "e" not in circle
    centre, radius = circle.split(" ")
    assert tuple(float(n) for n in centre.split(",")) == (1e-06, 179.99999999999997)
    assert float(radius) == 1e-05
    assert float(root.findtext("c:info/c:area/c:altitude", namespaces=NS) or "") == 1e-05
    assert root.findtext("c:info/c:area/c:ceiling", namespaces=NS) == "10000000000000000"


@pytest.mark.parametrize(("when", "text"), [
    (datetime(2024, 3, 5, 7, 8, 9, tzinfo=UTC), "2024-03-05T07:08:09+00:00"),
    (datetime(2024, 3, 5, 7, 8, 9, 999999, tzinfo=EST), "2024-03-05T07:08:09-05:00"),
    (datetime(2024, 12, 31, 23, 59, 59, tzinfo=IST), "2024-12-31T23:59:59+05:30"),
    (datetime(2024, 1, 1, tzinfo=timezone(timedelta(hours=-3, minutes=-30))),
     "2024-01-01T00:00:00-03:30"),
])
def test_date_times_keep_their_offset(when: datetime, text: str) -> None:
    assert format_datetime(when) == text


def test_date_times_in_the_document(schema: etree.XMLSchema) -> None:
    info = Info(("Met",), "Storm", "Expected", "Severe", "Likely",
                effective=datetime(2024, 3, 5, 7, 8, 9, 500, tzinfo=IST),
                onset=datetime(2024, 3, 5, 8, 0, tzinfo=UTC),
                expires=datetime(2024, 3, 6, 8, 0, tzinfo=EST))
    root = assert_valid(schema, dump(Message("d", "s", datetime(2024, 3, 5, 1, 2, 3, tzinfo=UTC),
                                             "Test", "Alert", "Public", infos=(info,))))
    assert root.findtext("c:sent", namespaces=NS) == "2024-03-05T01:02:03+00:00"
    assert root.findtext("c:info/c:effective", namespaces=NS) == "2024-03-05T07:08:09+05:30"
    assert root.findtext("c:info/c:onset", namespaces=NS) == "2024-03-05T08:00:00+00:00"
    assert root.findtext("c:info/c:expires", namespaces=NS) == "2024-03-06T08:00:00-05:00"


def test_naive_date_time_is_refused() -> None:
    with pytest.raises(ValueError):
        format_datetime(datetime(2024, 1, 1))


def test_rich_message_round_trips_through_parse() -> None:
    message = rich_message()
    assert parse(dump(message)) == message


@pytest.mark.parametrize("name", VALID_SAMPLES)
def test_sample_round_trips_and_validates(name: str, schema: etree.XMLSchema) -> None:
    original = parse((SAMPLES / name).read_bytes())
    written = dump(original)
    assert_valid(schema, written)
    again = parse(written)
    assert again.version == "1.2"
    # What the reader tolerated (an empty <references/>) is not written back.
    assert again.warnings == ()
    assert dataclasses.replace(again, version=original.version,
                               warnings=original.warnings) == original


def test_every_valid_sample_is_covered() -> None:
    assert len(VALID_SAMPLES) == 13
