"""hub.cap.parse: the real samples, hardened XML loading, and each CAP rule on small documents."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, timezone

import pytest
from defusedxml import DTDForbidden

from hub.cap import (
    MAX_DOCUMENT_BYTES,
    MAX_RESOURCE_BYTES,
    NS_11,
    NS_12,
    NS_DSIG,
    CapArea,
    CapInvalid,
    Circle,
    Message,
    Pair,
    Reference,
    Resource,
    Violation,
    parse,
)

from .conftest import SAMPLES, VALID_SAMPLES

DTD_REFUSED = Violation("/", "DTDs, entity declarations and external references are not allowed")

# -- a minimal valid CAP 1.2 document that a test can change one element of -----------------------

ALERT = {"identifier": "VIGIL-1", "sender": "ops@example.org", "sent": "2024-05-01T12:00:00-04:00",
         "status": "Actual", "msgType": "Alert", "scope": "Public"}
INFO = {"category": "Met", "event": "Storm", "urgency": "Immediate", "severity": "Severe",
        "certainty": "Observed"}
AREA = {"areaDesc": "Downtown"}
SQUARE = "43.64,-79.39 43.64,-79.37 43.66,-79.37 43.66,-79.39 43.64,-79.39"


def _fields(base: Mapping[str, str | None], changes: Mapping[str, str | None] | None) -> str:
    merged = {**base, **(changes or {})}
    return "".join(f"<{k}>{v}</{k}>" for k, v in merged.items() if v is not None)


def cap(alert: Mapping[str, str | None] | None = None,
        info: Mapping[str, str | None] | None = None,
        area: Mapping[str, str | None] | None = None, *, extra_alert: str = "",
        extra_info: str = "", extra_area: str = "", namespace: str = NS_12,
        with_info: bool = True) -> bytes:
    """The minimal document; a value of None drops that element, extra_* appends raw XML."""
    area_xml = f"<area>{_fields(AREA, area)}{extra_area}</area>"
    info_xml = f"<info>{_fields(INFO, info)}{extra_info}{area_xml}</info>" if with_info else ""
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<alert xmlns="{namespace}">'
            f"{_fields(ALERT, alert)}{info_xml}{extra_alert}</alert>").encode()


def violations(data: bytes) -> list[Violation]:
    with pytest.raises(CapInvalid) as caught:
        parse(data)
    return caught.value.violations


def paths(data: bytes) -> list[str]:
    return [v.path for v in violations(data)]


def only(data: bytes) -> Violation:
    """The single violation `data` must produce."""
    found = violations(data)
    assert len(found) == 1, found
    return found[0]


def sample(name: str) -> Message:
    return parse((SAMPLES / name).read_bytes())


# -- the samples ------------------------------------------------------------------------------


def test_the_sample_set_is_the_expected_one() -> None:
    assert len(VALID_SAMPLES) == 13  # a sample silently missing would skip its checks


@pytest.mark.parametrize("name", VALID_SAMPLES)
def test_valid_samples_parse(name: str) -> None:
    message = sample(name)
    assert message.identifier and message.sender
    assert message.sent.utcoffset() is not None
    assert message.version in ("1.1", "1.2")


# name -> (version, [(language, [(polygons, circles, geocodes, first point or centre)])])
Area = tuple[int, int, int, tuple[float, float] | None]
SPOTS: dict[str, tuple[str, list[tuple[str, list[Area]]]]] = {
    "43b080713727.cap": ("1.2", [("en-US", [(0, 0, 0, None)])]),
    "KAR0-0306112239-SW.cap": ("1.1", [("en-US", [(0, 0, 1, None)])]),
    "australia.cap": ("1.2", [("en-AU", [(0, 1, 1, (-35.3888, 147.0598))]),
                              ("en-AU", [(0, 1, 1, (-35.3888, 147.0598))])]),
    "canada.cap": ("1.2", [("en-CA", [(1, 0, 10, (42.3481, -82.9314)),
                                      (1, 0, 3, (42.3564, -81.5498))]),
                           ("fr-CA", [(1, 0, 10, (42.3481, -82.9314)),
                                      (1, 0, 3, (42.3564, -81.5498))])]),
    "canada_errors.cap": ("1.2", [("en-CA", [(1, 0, 1, (42.3481, -82.9314))])]),
    "canada_signed.cap": ("1.2", [("en-CA", [(1, 0, 20, (54.4054, -104.2)),
                                             (1, 0, 16, (56.12, -106.753))]),
                                  ("fr-CA", [(1, 0, 20, (54.4054, -104.2)),
                                             (1, 0, 16, (56.12, -106.753))])]),
    "earthquake-iso8859-1.cap": ("1.2", [("en-US", [(0, 1, 0, (12.747, -88.783))])]),
    "earthquake.cap": ("1.1", [("en-US", [(0, 1, 0, (-16.053, -173.274))])]),
    "earthquake_signed.cap": ("1.1", [("en-US", [(0, 1, 0, (38.82, -122.812))])]),
    "no_optional_fields.cap": ("1.1", []),
    "thunderstorm.cap": ("1.2", [("en-US", [(1, 0, 3, (38.47, -120.14))])]),
    "wcatwc-warning.cap": ("1.2", [("en-US", [(0, 0, 2, None)])]),
    "weather.cap": ("1.1", [("en-US", [(0, 0, 2, None)])]),
}


def test_every_valid_sample_has_spot_checks() -> None:
    assert sorted(SPOTS) == VALID_SAMPLES


@pytest.mark.parametrize("name", sorted(SPOTS))
def test_sample_versions_languages_and_areas(name: str) -> None:
    version, infos = SPOTS[name]
    message = sample(name)
    assert message.version == version
    assert [info.language for info in message.infos] == [lang for lang, _ in infos]
    for info, (_, areas) in zip(message.infos, infos, strict=True):
        seen = []
        for area in info.areas:
            first = (area.polygons[0][0] if area.polygons
                     else (area.circles[0].lat, area.circles[0].lon) if area.circles else None)
            seen.append((len(area.polygons), len(area.circles), len(area.geocodes), first))
        assert seen == areas


def test_canada_references_and_empty_optional_elements() -> None:
    message = sample("canada.cap")
    assert message.references == (
        Reference("cap@ec.gc.ca", "2.49.0.1.124.a3f342a4.2012", "2012-05-02T21:45:05-00:00"),
        Reference("cap@ec.gc.ca", "2.49.0.1.124.60f31a3a.2012", "2012-05-02T21:55:21-00:00"),
    )
    assert message.msg_type == "Update"
    # <restriction/>, <addresses/>, <note/>, <incidents/>, <contact/> are empty: read as absent.
    assert (message.restriction, message.addresses, message.note, message.incidents) == (
        None, None, None, None)
    assert message.infos[0].contact is None
    assert message.codes == ("profile:CAP-CP:0.4", "layer:EC-MSC-SMC:1.0", "layer:SOREM:1.0")
    assert message.sent == datetime(2012, 5, 2, 23, 21, 4, tzinfo=UTC)
    english, french = message.infos
    assert english.event == "thunderstorm" and french.event == "orages"
    assert french.areas[0].description == "Windsor - Leamington - comté d'Essex"
    assert english.event_codes == (Pair("profile:CAP-CP:Event:0.4", "thunderstorm"),
                                   Pair("SAME", "SVA"))
    assert english.parameters[0] == Pair("layer:EC-MSC-SMC:1.0:Alert_Type", "watch")
    assert len(english.parameters) == 5
    polygon = english.areas[0].polygons[0]
    assert len(polygon) == 17 and polygon[0] == polygon[-1] == (42.3481, -82.9314)
    assert english.areas[0].geocodes[1] == Pair("profile:CAP-CP:Location:0.3", "3537001")


def test_canada_signed_keeps_nine_references_and_ignores_two_signatures() -> None:
    message = sample("canada_signed.cap")
    assert len(message.references) == 9
    assert message.references[-1] == Reference(
        "cap-pac@ec.gc.ca", "2.49.0.1.124.b5af9b7c.2013", "2013-01-24T21:26:00-00:00")
    english, french = message.infos
    assert english.description is not None
    assert english.description.startswith("No further significant accumulations expected.\n\n")
    assert french.instruction is None  # <instruction /> is empty


def test_wcatwc_references_incidents_resources_and_parameters() -> None:
    message = sample("wcatwc-warning.cap")
    assert message.references == (Reference("PAAQ", "PAAQ-1-lqw6d6", "2011-09-02T10:55:55-00:00"),)
    assert message.incidents == "lqw6d6"
    assert message.source == "NWS West Coast/Alaska Tsunami Warning Center Palmer AK"
    info = message.infos[0]
    assert [r.mime_type for r in info.resources] == ["image/jpeg", "image/jpeg", "application/json"]
    assert info.resources[2].description == "Event Data as a JSON document"
    assert info.resources[2].uri == ("http://newwcatwc.arh.noaa.gov/tsuPortal/events/PAAQ/2011/"
                                     "09/02/lqw6d6/2/WEPA41/PAAQ.js")
    assert info.parameters[1] == Pair("EventPreliminaryMagnitude", "7.1")
    assert len(info.parameters) == 38
    assert info.onset == datetime(2011, 9, 2, 11, 36, 50, tzinfo=UTC)


def test_dhs_sample_resource_parameter_and_multiline_text() -> None:
    info = sample("43b080713727.cap").infos[0]
    assert info.resources == (Resource("Image file (GIF)", "image/gif",
                                       uri="http://www.dhs.gov/dhspublic/getAdvisoryImage"),)
    assert info.parameters == (Pair("HSAS", "ORANGE"),)
    assert info.areas == (CapArea("U.S. nationwide and interests worldwide"),)
    assert info.description is not None and info.instruction is not None
    assert info.description.startswith("The Department of Homeland Security has elevated")
    assert "Advisory \nSystem threat level" in info.description  # inner newline kept
    assert info.instruction.startswith("A High Condition")  # leading space stripped
    assert info.instruction.endswith("existing plans.")


def test_australia_categories_codes_and_empty_parameter_value() -> None:
    message = sample("australia.cap")
    assert message.sent.utcoffset() == timedelta(hours=10)
    assert message.codes == ("urn:oasis:names:tc:emergency:cap:1.2:profile:CAP-AU:1.0",)
    info = message.infos[0]
    assert info.categories == ("Fire", "Met")
    assert info.response_types == ("Evacuate",)
    assert info.expires == datetime(2011, 10, 6, 23, 4, tzinfo=timezone(timedelta(hours=10)))
    assert Pair("AllocatedResources", "") in info.parameters
    assert info.description is not None and "<br />" in info.description  # &lt;br /&gt;
    assert info.areas[0].circles == (Circle(-35.3888, 147.0598, 25.0),)
    assert message.infos[1].areas[0].geocodes == (
        Pair("http://www.psma.com.au/?product=postcode-boundaries", "2642"),)


def test_cap_11_samples_read_as_11() -> None:
    kar = sample("KAR0-0306112239-SW.cap")
    assert kar.version == "1.1" and kar.source == "SW"
    assert kar.infos[0].event_codes == (Pair("SAME", "CAE"),)
    assert kar.infos[0].areas[0].geocodes == (Pair("SAME", "006037"),)
    weather = sample("weather.cap")
    assert weather.version == "1.1"
    assert weather.infos[0].parameters[2].value == (
        "/O.CON.KTFX.FF.A.0003.000000T0000Z-100830T1800Z/\n"
        "/00000.0.ER.000000T0000Z.000000T0000Z.000000T0000Z.OO/")
    assert sample("no_optional_fields.cap").infos == ()


def test_iso_8859_1_sample_decodes_by_its_declaration() -> None:
    message = sample("earthquake-iso8859-1.cap")
    info = message.infos[0]
    assert info.headline == "EQ 4.6 Usulután, Usulután, El Salvador - PRELIMINARY REPORT"
    assert info.areas[0].description.startswith("47 miles (76 km) SSW of Usulután, Usulután")
    assert info.areas[0].circles == (Circle(12.747, -88.783, 0.0),)
    assert message.addresses == "0"
    assert info.onset == datetime(2012, 10, 14, 22, 40, 56, tzinfo=UTC)


def test_invalid_sample_names_the_missing_scope() -> None:
    assert violations((SAMPLES / "invalid.cap").read_bytes()) == [
        Violation("/alert/scope", "is required")]


def test_canada_errors_sample_reads_its_empty_references_as_absent_with_a_warning() -> None:
    # Its empty <restriction/> is not reported either: canada.cap, a real Environment Canada
    # alert, carries the same empty element with scope Public (an empty element is absent).
    message = sample("canada_errors.cap")
    assert message.references == ()
    assert [w.path for w in message.warnings] == ["/alert/references"]
    assert "empty" in message.warnings[0].message


def test_noaa_errors_sample_names_every_real_problem_and_tolerates_the_empty_ones() -> None:
    data = (SAMPLES / "noaa_errors.cap").read_bytes()
    found = violations(data)
    assert [v.path for v in found] == [
        "/alert/info[1]/urgency",
        "/alert/info[1]/severity",
        "/alert/info[1]/certainty",
        "/alert/info[1]/area[1]/polygon[1]",  # "+40.85,-118.09," (trailing comma)
        "/alert/info[1]/area[1]/polygon[1]",  # "+40.86,-118.09,"
    ]
    assert "'+40.85,-118.09,'" in found[3].message
    assert "'+40.86,-118.09,'" in found[4].message
    assert "empty" in found[0].message and "Immediate" in found[0].message
    # With its real faults fixed, it is read, and the empty <references> and <polygon> are
    # the warnings.
    fixed = (data.replace(b"<urgency></urgency>", b"<urgency>Immediate</urgency>")
             .replace(b"<severity></severity>", b"<severity>Severe</severity>")
             .replace(b"<certainty></certainty>", b"<certainty>Observed</certainty>")
             .replace(b"-118.09,", b"-118.09"))
    message = parse(fixed)
    assert [w.path for w in message.warnings] == [
        "/alert/references", "/alert/info[1]/area[1]/polygon[2]"]
    assert len(message.infos[0].areas[0].polygons) == 1


@pytest.mark.parametrize("empty", ["<references/>", "<references></references>",
                                   "<references>  \n </references>"])
def test_an_empty_references_element_is_read_as_absent_with_a_warning(empty: str) -> None:
    message = parse(cap(extra_alert=empty))
    assert message.references == ()
    assert message.warnings == (Violation("/alert/references", message.warnings[0].message),)


@pytest.mark.parametrize("empty", ["<polygon/>", "<polygon></polygon>"])
def test_an_empty_polygon_is_skipped_with_a_warning(empty: str) -> None:
    message = parse(cap(extra_area=f"<polygon>{SQUARE}</polygon>{empty}"))
    assert len(message.infos[0].areas[0].polygons) == 1
    assert [w.path for w in message.warnings] == ["/alert/info[1]/area[1]/polygon[2]"]


@pytest.mark.parametrize(("broken", "path"), [
    ("<references>not-a-triple</references>", "/alert/references"),
    ("<references><b/></references>", "/alert/references/b"),
])
def test_references_that_are_really_broken_are_still_refused(broken: str, path: str) -> None:
    assert path in paths(cap(extra_alert=broken))


@pytest.mark.parametrize("broken", ["43.64,-79.39 43.64,-79.37", "x,y z", "<b/>"])
def test_a_polygon_that_is_really_broken_is_still_refused(broken: str) -> None:
    found = paths(cap(extra_area=f"<polygon>{broken}</polygon>"))
    assert any(p.startswith("/alert/info[1]/area[1]/polygon[1]") for p in found), found


# -- hardened loading -------------------------------------------------------------------------


def _billion_laughs() -> bytes:
    entities = ['<!ENTITY lol0 "lol">'] + [
        f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)]
    return (f'<?xml version="1.0"?>\n<!DOCTYPE alert [\n{chr(10).join(entities)}\n]>\n'
            f'<alert xmlns="{NS_12}"><identifier>&lol9;</identifier></alert>').encode()


@pytest.mark.parametrize("data", [
    pytest.param((SAMPLES / "xee.cap").read_bytes(), id="xee.cap"),
    pytest.param(_billion_laughs(), id="billion-laughs"),
    pytest.param(b'<!DOCTYPE alert><alert xmlns="' + NS_12.encode() + b'"/>', id="bare-doctype"),
])
def test_dtds_are_refused_before_anything_is_expanded(data: bytes) -> None:
    with pytest.raises(CapInvalid) as caught:
        parse(data)
    assert caught.value.violations == [DTD_REFUSED]
    # Refused at the DOCTYPE itself, before any entity declaration was read or expanded.
    assert isinstance(caught.value.__cause__, DTDForbidden)


def test_oversized_documents_are_refused_before_parsing() -> None:
    found = only(b"<" * (MAX_DOCUMENT_BYTES + 1))  # would be malformed if it were parsed
    assert found.path == "/" and str(MAX_DOCUMENT_BYTES) in found.message


def test_malformed_xml_names_line_and_column() -> None:
    found = only(b'<alert xmlns="' + NS_12.encode() + b'">\n  <identifier>x</sender>\n</alert>')
    assert found.path == "/"
    assert "line 2, column 18" in found.message and "mismatched tag" in found.message


@pytest.mark.parametrize("encoding", ["klingon", "big5"])
def test_unreadable_encodings_are_violations(encoding: str) -> None:
    found = only(f'<?xml version="1.0" encoding="{encoding}"?><alert/>'.encode())
    assert found.path == "/" and "unreadable XML declaration" in found.message


@pytest.mark.parametrize(("data", "named"), [
    (b'<alert xmlns="urn:oasis:names:tc:emergency:cap:1.0"/>',
     "'urn:oasis:names:tc:emergency:cap:1.0'"),
    (b"<alert/>", "no namespace"),
    (b'<feed xmlns="' + NS_12.encode() + b'"/>', "<feed>"),
])
def test_root_must_be_a_cap_12_or_11_alert(data: bytes, named: str) -> None:
    found = only(data)
    assert found.path == "/" and named in found.message


# -- mapping ----------------------------------------------------------------------------------


def test_minimal_document_maps_to_the_model() -> None:
    message = parse(cap())
    assert message == Message(
        identifier="VIGIL-1", sender="ops@example.org",
        sent=datetime(2024, 5, 1, 12, tzinfo=timezone(timedelta(hours=-4))), status="Actual",
        msg_type="Alert", scope="Public", version="1.2",
        infos=(message.infos[0],))
    info = message.infos[0]
    assert (info.categories, info.event, info.urgency, info.severity, info.certainty,
            info.language) == (("Met",), "Storm", "Immediate", "Severe", "Observed", "en-US")
    assert info.areas == (CapArea("Downtown"),)


def test_every_element_is_mapped() -> None:
    content = base64.b64encode(b"GIF89a").decode()
    data = cap(
        alert={"scope": "Restricted", "source": " NOC ", "restriction": "staff only",
               "note": "a note", "references": "a@b,ID-0,2024-05-01T11:00:00-04:00",
               "incidents": "inc-1 inc-2"},
        extra_alert="<code>c1</code><code>c2</code>",
        info={"language": "fr-CA", "category": "Fire", "audience": "everyone",
              "effective": "2024-05-01T12:00:00+02:00", "onset": "2024-05-01T13:00:00+02:00",
              "expires": "2024-05-02T12:00:00+02:00", "senderName": "City", "headline": "H",
              "description": "line one\n  line two\n", "instruction": "go", "web": "https://x.y/",
              "contact": "desk"},
        extra_info=("<category>Env</category><responseType>Evacuate</responseType>"
                    "<responseType>Monitor</responseType>"
                    "<eventCode><valueName>SAME</valueName><value>FRW</value></eventCode>"
                    "<parameter><valueName>p</valueName><value> v </value></parameter>"
                    "<resource><resourceDesc>map</resourceDesc><mimeType>image/gif</mimeType>"
                    f"<size>6</size><uri>https://x.y/m.gif</uri><derefUri>{content}</derefUri>"
                    "<digest>abc</digest></resource>"),
        area={"polygon": SQUARE, "circle": "43.65,-79.38 1.5", "altitude": "10",
              "ceiling": "20.5"},
        extra_area="<geocode><valueName>SAME</valueName><value>035020</value></geocode>")
    message = parse(data)
    assert (message.scope, message.source, message.restriction, message.note) == (
        "Restricted", "NOC", "staff only", "a note")
    assert message.codes == ("c1", "c2") and message.incidents == "inc-1 inc-2"
    assert message.references == (Reference("a@b", "ID-0", "2024-05-01T11:00:00-04:00"),)
    info = message.infos[0]
    plus_two = timezone(timedelta(hours=2))
    assert info.language == "fr-CA" and info.categories == ("Fire", "Env")
    assert info.response_types == ("Evacuate", "Monitor")
    assert info.audience == "everyone" and info.sender_name == "City" and info.headline == "H"
    assert (info.effective, info.onset, info.expires) == (
        datetime(2024, 5, 1, 12, tzinfo=plus_two), datetime(2024, 5, 1, 13, tzinfo=plus_two),
        datetime(2024, 5, 2, 12, tzinfo=plus_two))
    assert info.description == "line one\n  line two"
    assert (info.instruction, info.web, info.contact) == ("go", "https://x.y/", "desk")
    assert info.event_codes == (Pair("SAME", "FRW"),)
    assert info.parameters == (Pair("p", "v"),)
    assert info.resources == (Resource("map", "image/gif", size=6, uri="https://x.y/m.gif",
                                       deref_uri=content, digest="abc"),)
    area = info.areas[0]
    assert area.polygons == (((43.64, -79.39), (43.64, -79.37), (43.66, -79.37),
                              (43.66, -79.39), (43.64, -79.39)),)
    assert area.circles == (Circle(43.65, -79.38, 1.5),)
    assert area.geocodes == (Pair("SAME", "035020"),)
    assert (area.altitude, area.ceiling) == (10.0, 20.5)


def test_cap_11_reads_very_likely_as_likely() -> None:
    message = parse(cap(info={"certainty": "Very Likely"}, namespace=NS_11))
    assert message.version == "1.1" and message.infos[0].certainty == "Likely"
    found = only(cap(info={"certainty": "Very Likely"}))  # gone in CAP 1.2
    assert found.path == "/alert/info[1]/certainty"


def test_cap_11_resource_may_omit_mime_type() -> None:
    extra = "<resource><resourceDesc>map</resourceDesc></resource>"
    resource = parse(cap(extra_info=extra, namespace=NS_11)).infos[0].resources[0]
    assert resource.description == "map"
    assert only(cap(extra_info=extra)) == Violation("/alert/info[1]/resource[1]/mimeType",
                                                    "is required")


def test_enveloped_signature_is_ignored_at_alert_level_only() -> None:
    signature = f'<Signature xmlns="{NS_DSIG}"><SignedInfo/></Signature>'
    assert parse(cap(extra_alert=signature + signature)).identifier == "VIGIL-1"
    found = only(cap(extra_info=signature))
    assert found.path == "/alert/info[1]/Signature"
    assert "is not a CAP element" in found.message


# -- rules ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["identifier", "sender", "sent", "status", "msgType", "scope"])
def test_required_alert_elements(name: str) -> None:
    assert only(cap(alert={name: None})) == Violation(f"/alert/{name}", "is required")


@pytest.mark.parametrize("name", ["category", "event", "urgency", "severity", "certainty"])
def test_required_info_elements(name: str) -> None:
    found = only(cap(info={name: None}))
    assert found.path == f"/alert/info[1]/{name}" and "is required" in found.message


def test_required_text_must_not_be_empty() -> None:
    assert only(cap(info={"event": "  "})) == Violation("/alert/info[1]/event",
                                                        "is required but empty")


def test_required_resource_and_area_elements() -> None:
    resource = "<resource><uri>https://x.y/</uri></resource>"
    assert paths(cap(extra_info=resource + resource)) == [
        "/alert/info[1]/resource[1]/resourceDesc", "/alert/info[1]/resource[1]/mimeType",
        "/alert/info[1]/resource[2]/resourceDesc", "/alert/info[1]/resource[2]/mimeType"]
    assert only(cap(area={"areaDesc": None})) == Violation("/alert/info[1]/area[1]/areaDesc",
                                                           "is required")


def test_pairs_need_value_name_and_value() -> None:
    assert paths(cap(extra_info="<parameter><value>x</value></parameter>"
                                "<eventCode><valueName>x</valueName></eventCode>")) == [
        "/alert/info[1]/eventCode[1]/value", "/alert/info[1]/parameter[1]/valueName"]


@pytest.mark.parametrize(("alert", "info", "path", "allowed"), [
    ({"status": "Real"}, {}, "/alert/status", "Actual, Exercise, System, Test, Draft"),
    ({"msgType": "Warning"}, {}, "/alert/msgType", "Alert, Update, Cancel, Ack, Error"),
    ({"scope": "public"}, {}, "/alert/scope", "Public, Restricted, Private"),
    ({}, {"category": "Weather"}, "/alert/info[1]/category[1]", "Geo, Met, Safety"),
    ({}, {"responseType": "Run"}, "/alert/info[1]/responseType[1]", "Shelter, Evacuate"),
    ({}, {"urgency": "Now"}, "/alert/info[1]/urgency", "Immediate, Expected"),
    ({}, {"severity": "High"}, "/alert/info[1]/severity", "Extreme, Severe"),
    ({}, {"certainty": ""}, "/alert/info[1]/certainty", "Observed, Likely"),
    ({"status": ""}, {}, "/alert/status", "Actual, Exercise"),
])
def test_enumerations_name_the_allowed_values(alert: dict[str, str], info: dict[str, str],
                                               path: str, allowed: str) -> None:
    found = only(cap(alert=alert, info=info))
    assert found.path == path and allowed in found.message


@pytest.mark.parametrize("value", [
    "2024-05-01T12:00:00Z", "2024-05-01T12:00:00.5-04:00", "2024-05-01T12:00:00",
    "2024-05-01", "2024-13-01T12:00:00-04:00", "2024-05-01 12:00:00-04:00", "",
])
@pytest.mark.parametrize("name", ["sent", "effective", "onset", "expires"])
def test_date_times_follow_caps_exact_format(name: str, value: str) -> None:
    changes = {name: value}
    data = cap(alert=changes) if name == "sent" else cap(info=changes)
    where = "/alert" if name == "sent" else "/alert/info[1]"
    assert only(data).path == f"{where}/{name}"


def test_date_times_keep_their_offset() -> None:
    message = parse(cap(alert={"sent": "2024-05-01T12:00:00-00:00"},
                        info={"expires": "2024-05-01T18:30:00+05:30"}))
    assert message.sent.utcoffset() == timedelta(0)
    expires = message.infos[0].expires
    assert expires is not None and expires.utcoffset() == timedelta(hours=5, minutes=30)


@pytest.mark.parametrize("value", ["ID 1", "ID,1", "ID&lt;1", "ID&amp;1"])
@pytest.mark.parametrize("name", ["identifier", "sender"])
def test_identifier_and_sender_refuse_spaces_commas_lt_amp(name: str, value: str) -> None:
    found = only(cap(alert={name: value}))
    assert found.path == f"/alert/{name}" and "must not contain" in found.message


def test_references_parse_into_triples() -> None:
    message = parse(cap(alert={"references": " a@b,ID-1,2024-05-01T11:00:00-04:00\n"
                                             "  c@d,ID-2,2024-05-01T11:30:00+00:00 "}))
    assert message.references == (Reference("a@b", "ID-1", "2024-05-01T11:00:00-04:00"),
                                  Reference("c@d", "ID-2", "2024-05-01T11:30:00+00:00"))


@pytest.mark.parametrize("value", [
    "a@b,ID-1", "a@b,ID-1,2024-05-01T11:00:00Z", "a@b,ID-1,2024-05-01T11:00:00-04:00,x",
    ",ID-1,2024-05-01T11:00:00-04:00", "a@b,ID-1,2024-05-01T11:00:00-04:00 a@b,ID-2",
])
def test_bad_references_are_violations(value: str) -> None:
    assert only(cap(alert={"references": value})).path == "/alert/references"


def test_restriction_only_with_scope_restricted() -> None:
    assert only(cap(alert={"restriction": "staff"})) == Violation(
        "/alert/restriction", "is only allowed when scope is Restricted")
    assert only(cap(alert={"scope": "Restricted"})) == Violation(
        "/alert/restriction", "is required when scope is Restricted")
    assert parse(cap(alert={"scope": "Restricted", "restriction": "staff"})).restriction == "staff"
    assert parse(cap(alert={"restriction": ""})).restriction is None  # empty reads as absent


def test_addresses_required_with_scope_private() -> None:
    assert only(cap(alert={"scope": "Private"})) == Violation(
        "/alert/addresses", "is required when scope is Private")
    assert parse(cap(alert={"scope": "Private", "addresses": "ops"})).addresses == "ops"


@pytest.mark.parametrize(("value", "ok"), [
    ("en", True), ("en-US", True), ("x-klingon", True), ("zh-Hant-TW", True),
    ("en_US", False), ("english language", False), ("toolongtag-US", False), ("en-", False),
])
def test_language_is_an_rfc_3066_tag(value: str, ok: bool) -> None:
    if ok:
        assert parse(cap(info={"language": value})).infos[0].language == value
    else:
        assert only(cap(info={"language": value})).path == "/alert/info[1]/language"


def test_language_defaults_to_en_us_when_absent_or_empty() -> None:
    # The schema gives <language> the default "en-US", which also applies to an empty element.
    assert parse(cap(info={"language": ""})).infos[0].language == "en-US"
    assert parse(cap()).infos[0].language == "en-US"


@pytest.mark.parametrize(("polygon", "problem"), [
    ("43.64,-79.39 43.64,-79.37 43.64,-79.39", "at least 4"),
    ("43.64,-79.39 43.64,-79.37 43.66,-79.37 43.66,-79.39", "not closed"),
    ("93.64,-79.39 43.64,-79.37 43.66,-79.37 93.64,-79.39", "out of range"),
    ("43.64,-189.39 43.64,-79.37 43.66,-79.37 43.64,-189.39", "out of range"),
    ("43.64,west 43.64,-79.37 43.66,-79.37 43.64,-79.39", "'43.64,west'"),
    ("43.64,-79.39, 43.64,-79.37 43.66,-79.37 43.64,-79.39", "'43.64,-79.39,'"),
    ("43.64 -79.39 43.64,-79.37 43.66,-79.37 43.64,-79.39", "'43.64'"),
    ("nan,1 43.64,-79.37 43.66,-79.37 nan,1", "'nan,1'"),
])
def test_polygon_rules(polygon: str, problem: str) -> None:
    found = violations(cap(extra_area=f"<polygon>{SQUARE}</polygon><polygon>{polygon}</polygon>"))
    assert {v.path for v in found} == {"/alert/info[1]/area[1]/polygon[2]"}
    assert problem in found[0].message


def test_polygon_points_may_carry_signs_and_extra_whitespace() -> None:
    area = parse(cap(extra_area="<polygon>\n +1,2  3,4\t5,-6\n+1,2.0 </polygon>")).infos[0].areas[0]
    assert area.polygons == (((1.0, 2.0), (3.0, 4.0), (5.0, -6.0), (1.0, 2.0)),)


@pytest.mark.parametrize(("circle", "problem"), [
    ("43.65,-79.38 -1", "radius"),
    ("43.65,-79.38 far", "radius"),
    ("43.65,-79.38", "not 'lat,lon radius'"),
    ("43.65,-79.38 1 2", "not 'lat,lon radius'"),
    ("", "not 'lat,lon radius'"),
    ("43.65 -79.38 1", "not 'lat,lon radius'"),
    ("91,-79.38 1", "out of range"),
])
def test_circle_rules(circle: str, problem: str) -> None:
    found = only(cap(extra_area=f"<circle>1,2 0</circle><circle>{circle}</circle>"))
    assert found.path == "/alert/info[1]/area[1]/circle[2]" and problem in found.message


def test_altitude_and_ceiling_are_numbers_and_ceiling_needs_altitude() -> None:
    assert only(cap(area={"altitude": "high"})).path == "/alert/info[1]/area[1]/altitude"
    assert only(cap(area={"ceiling": "20"})) == Violation(
        "/alert/info[1]/area[1]/ceiling", "is only allowed together with altitude")


def _resource(**fields: str) -> str:
    inner = "".join(f"<{k}>{v}</{k}>" for k, v in fields.items())
    return f"<resource><resourceDesc>r</resourceDesc><mimeType>text/plain</mimeType>{inner}" \
           "</resource>"


@pytest.mark.parametrize("size", ["big", "1.5", "-3", "1e3"])
def test_resource_size_is_a_whole_number(size: str) -> None:
    assert only(cap(extra_info=_resource(size=size))).path == "/alert/info[1]/resource[1]/size"


def test_deref_uri_must_be_base64_within_the_limit() -> None:
    wrapped = base64.encodebytes(b"hello world" * 20).decode()  # with line breaks
    resource = parse(cap(extra_info=_resource(derefUri=wrapped))).infos[0].resources[0]
    assert resource.deref_uri == wrapped.strip()
    assert only(cap(extra_info=_resource(derefUri="not base64!"))) == Violation(
        "/alert/info[1]/resource[1]/derefUri", "is not valid base64")
    big = base64.b64encode(bytes(MAX_RESOURCE_BYTES + 1)).decode()
    found = only(cap(extra_info=_resource(derefUri=big)))
    assert found.path == "/alert/info[1]/resource[1]/derefUri"
    assert str(MAX_RESOURCE_BYTES) in found.message
    exact = base64.b64encode(bytes(MAX_RESOURCE_BYTES)).decode()
    assert parse(cap(extra_info=_resource(derefUri=exact))).infos[0].resources[0].deref_uri


def test_unknown_and_foreign_elements_are_not_cap() -> None:
    found = violations(cap(extra_alert='<colour>red</colour><y xmlns="http://a.b/">a</y>',
                           extra_info="<hazard>x</hazard>"))
    assert [v.path for v in found] == ["/alert/colour", "/alert/y", "/alert/info[1]/hazard"]
    assert all("is not a CAP element" in v.message for v in found)
    assert "'http://a.b/'" in found[1].message


def test_elements_of_another_cap_version_are_not_cap() -> None:
    found = only(cap(extra_info=f'<audience xmlns="{NS_11}">all</audience>'))
    assert found.path == "/alert/info[1]/audience" and NS_11 in found.message


def test_markup_inside_a_text_element_is_a_violation() -> None:
    found = only(cap(info={"headline": "<b>Storm</b> warning"}))
    assert found.path == "/alert/info[1]/headline/b"


@pytest.mark.parametrize(("data", "path"), [
    (cap(extra_info="<headline>a</headline><headline>b</headline>"), "/alert/info[1]/headline[2]"),
    (cap(extra_alert="<identifier>again</identifier>"), "/alert/identifier[2]"),
    (cap(extra_area="<areaDesc>again</areaDesc>"), "/alert/info[1]/area[1]/areaDesc[2]"),
    (cap(extra_info=_resource(size="1").replace("</resource>", "<size>2</size></resource>")),
     "/alert/info[1]/resource[1]/size[2]"),
])
def test_single_valued_elements_given_twice(data: bytes, path: str) -> None:
    found = only(data)
    assert found.path == path and "CAP allows one" in found.message


def test_every_violation_is_reported_not_just_the_first() -> None:
    data = cap(alert={"status": "Real", "scope": None},
               extra_area="<polygon>1,2 3,4 1,2</polygon>")
    assert violations(data) == [
        Violation("/alert/scope", "is required"),
        Violation("/alert/status", "is 'Real'; must be one of Actual, Exercise, System, Test, "
                                   "Draft"),
        Violation("/alert/info[1]/area[1]/polygon[1]",
                  "has 3 points; a polygon needs at least 4"),
    ]


def test_paths_count_infos_and_areas_from_one() -> None:
    second_info = "<info><category>Met</category><event>e</event><urgency>Past</urgency>" \
                  "<severity>Minor</severity><certainty>Nope</certainty>" \
                  "<area><areaDesc>a</areaDesc></area><area><areaDesc>b</areaDesc>" \
                  "<circle>x</circle></area></info>"
    assert paths(cap(extra_alert=second_info)) == [
        "/alert/info[2]/certainty", "/alert/info[2]/area[2]/circle[1]"]
