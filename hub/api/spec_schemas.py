"""The OpenAPI document's component schemas: every body the API takes and every answer."""

from __future__ import annotations

import enum
from typing import Any

from channels.registry import Plugin, Registry
from hub import acks, reports, revisions
from hub.alerts import MAX_ACK_WITHIN_S, MAX_TEXT
from hub.api.alerts import MAX_REJECT_NOTE
from hub.api.reach import NAMES_SHOWN
from hub.api.tokens import MAX_LABEL
from hub.cap import Category, Certainty, Severity, Urgency
from hub.geo import LAT_TEXT, LON_TEXT, MAX_RADIUS_M, MAX_VERTICES
from hub.incidents import State
from hub.login import MAX_CODE, MAX_RECOVERY_CODE, Step
from hub.media import MediaKind
from hub.models import AckStatus, AlertStatus, DeliveryStatus, MsgType, ReportStatus
from hub.tlp import Tlp
from partners import residents
from partners.accounts import (
    EMAIL,
    MAX_EMAIL,
    MAX_PASSWORD,
    MAX_SECRET,
    MIN_PASSWORD,
    RECOVERY_CODES,
    SIGN_IN_MAX_PASSWORD,
)
from partners.enrolment import MAX_SITES, one_of
from partners.models import MAX_ID, STAFF_ROLES, OrgKind, Role, SubscriptionStatus, Tier
from partners.validation import (
    CONTROL,
    CONTROL_OR_BREAK,
    LANGUAGE_TAG,
    MAX_LANGUAGE_TAG,
    MAX_LAT,
    MAX_LON,
    MAX_MOMENT,
    MAX_NAME,
)

Schema = dict[str, Any]
# Every enumeration the API speaks, published under its class name so it cannot drift.
ENUMS: tuple[type[enum.StrEnum], ...] = (
    Category, Severity, Urgency, Certainty, Tlp, OrgKind, Tier,
    AlertStatus, MsgType, AckStatus, DeliveryStatus, MediaKind, SubscriptionStatus,
    ReportStatus,
)
# The roles of tokens and accounts; a resident's subscription link is never either.
STAFF_ROLE_VALUES = [role.value for role in Role if role in STAFF_ROLES]
DATE_TIME: Schema = {"type": "string", "format": "date-time"}
# A date-time a request sends, as `Checker.moment` reads it.
MOMENT: Schema = {**DATE_TIME, "maxLength": MAX_MOMENT}
ID: Schema = {"type": "string", "maxLength": MAX_ID}
LAT: Schema = {"type": "number", "minimum": -MAX_LAT, "maximum": MAX_LAT}
LON: Schema = {"type": "number", "minimum": -MAX_LON, "maximum": MAX_LON}
# A language tag as `Checker.language` reads it.
LANGUAGE: Schema = {"type": "string", "maxLength": MAX_LANGUAGE_TAG,
                    "pattern": LANGUAGE_TAG.pattern}
COUNT: Schema = {"type": "integer", "minimum": 0}


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def nullable(schema: Schema) -> Schema:
    return {"anyOf": [schema, {"type": "null"}]}


def text(max_len: int = MAX_NAME, min_len: int = 0, *, line: bool = False,
         **extra: Any) -> Schema:
    """A string as `Checker.text` takes it: XML-safe, and with `line` one line of it; a
    `pattern` of its own (a language tag, an email address) is stricter still."""
    schema: Schema = {"type": "string", "maxLength": max_len, **extra}
    if "pattern" not in extra:
        schema["not"] = {"pattern": CONTROL_OR_BREAK if line else CONTROL}
    return {**schema, "minLength": min_len} if min_len else schema


def obj(properties: dict[str, Schema], required: tuple[str, ...] = (),
        **extra: Any) -> Schema:
    """A closed object: the API refuses unknown fields and sends none it does not document."""
    schema: Schema = {"type": "object", "properties": properties,
                      "additionalProperties": False, **extra}
    return {**schema, "required": list(required)} if required else schema


def closed(properties: dict[str, Schema], **extra: Any) -> Schema:
    """A closed object whose every property is always present (the shape of an answer)."""
    return obj(properties, tuple(properties), **extra)


def enum_schema(kind: type[enum.StrEnum], **extra: Any) -> Schema:
    return {"type": "string", "enum": [member.value for member in kind], **extra}


def enum_schemas() -> dict[str, Schema]:
    return {**{kind.__name__: enum_schema(kind) for kind in ENUMS},
            "StaffRole": {"type": "string", "enum": STAFF_ROLE_VALUES}}


def error_schemas() -> dict[str, Schema]:
    return {"Error": closed({
        "error": {"type": "string", "description": "machine code, e.g. `invalid`, "
                  "`unauthenticated`, `forbidden`, `not_found`, `token_in_url`, `cancelled`, "
                  "`not_published`, `not_pending`, `email_off`, `too_large`, "
                  "`unsupported_media_type`, `too_many_requests`, `bad_origin`"},
        "detail": {"type": "string", "description": "a human sentence"},
        "fields": {"type": "object", "additionalProperties": {"type": "string"},
                   "description": "offending field path -> what is wrong with it"},
    })}


def area_schemas() -> dict[str, Schema]:
    position = {"type": "array", "minItems": 2, "maxItems": 3, "items": {"type": "number"},
                "prefixItems": [LON, LAT],
                "description": "[lon, lat] as GeoJSON says; an altitude is ignored"}
    ring = {"type": "array", "items": position, "minItems": 4, "maxItems": MAX_VERTICES + 1,
            "description": "a closed linear ring: the last position equals the first"}
    polygon = {"type": "array", "items": ring, "minItems": 1}
    circle = {"lat": LAT, "lon": LON,
              "radius_m": {"type": "number", "exclusiveMinimum": 0, "maximum": MAX_RADIUS_M}}
    return {
        "Polygon": {"type": "object", "required": ["type", "coordinates"],
                    "properties": {"type": {"const": "Polygon"}, "coordinates": polygon}},
        "MultiPolygon": {"type": "object", "required": ["type", "coordinates"],
                         "properties": {"type": {"const": "MultiPolygon"},
                                        "coordinates": {"type": "array", "items": polygon,
                                                        "minItems": 1}}},
        "Circle": {"type": "object", "required": ["circle"],
                   "properties": {"circle": {"type": "object", "properties": circle,
                                             "required": list(circle)}}},
        "Area": {"oneOf": [ref("Polygon"), ref("MultiPolygon"), ref("Circle")],
                 "description": f"at most {MAX_VERTICES} vertices; rings must not "
                                "self-intersect"},
    }


def organisation_schemas() -> dict[str, Schema]:
    site = {"name": text(min_len=1), "lat": LAT, "lon": LON}
    return {
        "SiteCreate": obj(site, ("name", "lat", "lon")),
        "Site": closed({"id": ID, **site}),
        "OrganisationCreate": obj(
            {"name": text(min_len=1), "kind": ref("OrgKind"),
             "sites": {"type": "array", "items": ref("SiteCreate"), "maxItems": MAX_SITES,
                       "default": []}},
            ("name", "kind"), description="Organisation names are unique."),
        "Organisation": closed({"id": ID, "name": {"type": "string"}, "kind": ref("OrgKind"),
                                "sites": {"type": "array", "items": ref("Site")}}),
    }


CONTACT_LANGUAGE: Schema = {
    "anyOf": [LANGUAGE, {"const": ""}, {"type": "null"}],
    "description": "The language tag the contact reads, e.g. fr-CA: an alert sent in several "
                   "languages reaches them in theirs (else in its first). Null or empty: none."}


def address(plugin: Plugin) -> Schema:
    """A contact's address on one channel, as enrolment reads it: text (`Checker.text`) of
    at most the plugin's `max_length`, in the shape the plugin's own schema gives."""
    return {**text(plugin.max_length, **(plugin.schema or {})), "maxLength": plugin.max_length}


def contact_schemas(channels: Registry) -> dict[str, Schema]:
    """A contact holds an address for every channel the hub knows, and needs at least one."""
    addresses = {field: address(plugin) for field, plugin in channels.by_field.items()}
    fields = tuple(addresses)
    needs = {"anyOf": [{"required": [field], "properties": {field: {"minLength": 1}}}
                       for field in fields]} if fields else {}
    return {
        "ContactCreate": obj(
            {"name": text(min_len=1),
             **{field: {"anyOf": [schema, {"const": ""}]} for field, schema in addresses.items()},
             "tier": {**ref("Tier"), "default": Tier.PRIMARY.value},
             "language": CONTACT_LANGUAGE},
            ("name",), **needs,
            description=f"A contact needs at least one address: {one_of(fields)}."),
        "Contact": closed({"id": ID, "organisation_id": ID, "name": {"type": "string"},
                           **{field: {"type": ["string", "null"]} for field in fields},
                           "tier": ref("Tier"),
                           "language": {"type": ["string", "null"],
                                        "description": "the language the contact reads"}}),
        "ContactUpdate": obj(
            {"name": text(min_len=1),
             **{field: {"anyOf": [schema, {"const": ""}, {"type": "null"}],
                        "description": "null or empty clears it"}
                for field, schema in addresses.items()},
             "tier": ref("Tier"), "language": CONTACT_LANGUAGE},
            description=f"Only the fields to change. The contact must keep {one_of(fields)}."),
    }


def token_schemas() -> dict[str, Schema]:
    return {
        "Token": closed({"id": ID, "role": ref("StaffRole"), "label": {"type": "string"},
                         "organisation_id": ID, "contact_id": nullable(ID),
                         "created_at": DATE_TIME, "revoked_at": nullable(DATE_TIME)}),
        "TokenCreate": obj({"organisation_id": text(MAX_ID, 1), "role": ref("StaffRole"),
                            "contact_id": text(MAX_ID), "label": text(MAX_LABEL)},
                           ("organisation_id", "role")),
        "TokenIssued": closed({"id": ID, "token": {"type": "string",
                                                   "description": "shown this once only"},
                               "role": ref("StaffRole"), "organisation_id": ID,
                               "contact_id": nullable(ID)}),
        "TokenRevoked": closed({"id": ID, "revoked_at": {
            **DATE_TIME, "description": "when it was first revoked; revoking again keeps it"}}),
    }


def alert_create_schema() -> Schema:
    return obj({
        "headline": text(MAX_TEXT["headline"], 1, line=True),
        "event": text(MAX_TEXT["event"], 1, line=True),
        "category": {**ref("Category"), "default": Category.SECURITY.value},
        "severity": ref("Severity"), "urgency": ref("Urgency"),
        "certainty": ref("Certainty"), "tlp": ref("Tlp"),
        "description": text(MAX_TEXT["description"]),
        "instruction": text(MAX_TEXT["instruction"]), "area": ref("Area"),
        "area_name": {**text(MAX_TEXT["area_name"], line=True), "description": "the area in "
                      "words, as desk cards and the CAP areaDesc name it, e.g. a preset's "
                      "name; an update that redraws the area without naming it clears it"},
        "expires": nullable({**MOMENT, "description": "with a UTC offset; in the future, "
                             "at most a year away"}),
        "ack_within_s": {"type": ["integer", "null"], "minimum": 1,
                         "maximum": MAX_ACK_WITHIN_S},
        "language": {**LANGUAGE, "default": "en-CA"},
    }, ("headline", "event", "severity", "urgency", "certainty", "tlp", "area"))


def alert_schemas() -> dict[str, Schema]:
    cap = {name: ref(name.title()) for name in ("category", "severity", "urgency", "certainty")}
    targets = closed({name: COUNT for name in ("organisations", "contacts", "residents")},
                     description="whom it reached; for a pending alert, whom it would reach")
    seq = {"type": ["integer", "null"], "description": "null until the alert is published"}
    return {
        "AlertCreate": alert_create_schema(),
        "AlertUpdate": {**(update := alert_create_schema()), "required": [],
                        "properties": {**update["properties"], "attach": {
                            "type": "array", "minItems": 1, "maxItems": revisions.MAX_ATTACH,
                            "items": {"type": "string", "minLength": 1, "maxLength": MAX_ID},
                            "description": "ids of field report files (a report's `files`) "
                            "to carry to the alert's audience, location blanked, as CAP "
                            "`<resource>`s with their SHA-1 `<digest>`; kept by later "
                            "updates"}},
                        "description": "only the fields to change; the rest are kept from "
                        "the newest message of the alert. The TLP label may only stay or "
                        "become stricter."},
        "AlertCancel": obj({"note": {**text(revisions.MAX_NOTE), "description": "shown as the "
                                     "cancellation's description, e.g. the all-clear"}}),
        "AlertReject": obj({"note": {**text(MAX_REJECT_NOTE), "description": "why; kept in "
                                     "the audit trail"}}),
        "AlertRevised": closed({
            "id": ID, "seq": {"type": ["integer", "null"]}, "status": ref("AlertStatus"),
            "msg_type": ref("MsgType"), "references": ID, "targets": targets}),
        "AlertCreated": closed({"id": ID, "seq": seq, "status": ref("AlertStatus"),
                                "targets": targets}),
        "ReachPreview": closed({
            **{name: COUNT for name in ("organisations", "contacts", "residents")},
            "sites": {**COUNT, "description": "partner sites inside the area"},
            "channels": {"type": "object", "additionalProperties": COUNT,
                         "description": "deliveries by channel: feed, email, chat"},
            "organisation_names": {"type": "array", "items": {"type": "string"},
                                   "maxItems": NAMES_SHOWN},
            "needs_approval": {"type": "boolean"}},
            description="whom the alert would reach if it were published now"),
        "PresetArea": closed({"organisation_id": ID, "name": {"type": "string"},
                              "kind": ref("OrgKind"), "area": ref("Area")}),
        "PartnerSite": closed({"id": ID, "name": {"type": "string"},
                               "lat": {"type": "number"}, "lon": {"type": "number"},
                               "organisation_id": ID, "organisation_name": {"type": "string"},
                               "kind": ref("OrgKind")}),
        "Alert": closed(alert := {
            "id": ID, "seq": seq, "status": ref("AlertStatus"),
            "msg_type": ref("MsgType"), "references": nullable(ID),
            "sender_organisation_id": nullable(ID),
            "sender_name": {"type": "string", "description": "who sent it: the sending "
                            "organisation, or an imported CAP alert's senderName (else its "
                            "sender)"},
            "headline": {"type": "string"},
            "event": {"type": "string"}, **cap,
            "tlp": ref("Tlp"), "description": {"type": "string"},
            "instruction": {"type": "string"}, "language": {"type": "string"},
            "area": {**nullable(ref("Area")), "description": "null for a CAP alert whose "
                     "areas are only named (geocodes): shown, geofencing nobody"},
            "area_name": {"type": "string", "description": "the area in words (a preset's "
                          "name, or an imported alert's areaDesc); empty when unnamed"},
            "expires": nullable(DATE_TIME),
            "ack_within_s": {"type": ["integer", "null"]}, "sent": nullable(DATE_TIME),
            "created": DATE_TIME, "cap": nullable(ref("CapSummary")),
            "attachments": {"type": "array", "items": closed({
                "kind": ref("MediaKind"), "size": COUNT,
                "sha1": {"type": "string", "description": "of the bytes served at `url`"},
                "url": {"type": "string", "description": "where the alert's audience GETs "
                        "it"}})}}),
        **incident_schemas(alert),
    }


def incident_schemas(alert: dict[str, Schema]) -> dict[str, Schema]:
    """`GET /api/v1/alerts/{id}/chain`: an alert and its updates as one incident."""
    counts = {"type": "object", "additionalProperties": COUNT}
    return {
        "IncidentState": {"enum": [state.value for state in State], "description":
                          "pending: waiting for approval; live; updated; all_clear: its "
                          "newest message is an update of urgency Past; cancelled; expired; "
                          "withheld: kept and sent to nobody on purpose (rejected, a CAP "
                          "Test, expired on arrival; `why` says); reached_nobody: sent, and "
                          "nobody was in its area"},
        "ChainMessage": closed({**alert, "label": {"type": "string",
                                                   "description": "e.g. `Update #12`"}}),
        "Escalation": closed({
            "alert_id": ID, "organisation_id": ID, "due": DATE_TIME,
            "status": {"enum": ["pending", "cancelled", "fired"]},
            "settled": nullable(DATE_TIME), "settled_by": {"type": ["string", "null"]},
            "overdue": {"type": "boolean", "description": "the deadline passed unanswered"},
            "deliveries": {"type": "array", "items": closed({
                "channel": {"type": "string"}, "recipient": {"type": "string"},
                "status": ref("DeliveryStatus"), "last_error": {"type": ["string", "null"]}})},
            "no_working_channel": {"type": "boolean", "description": "fired, and no "
                                   "secondary contact could be reached on any channel"}}),
        "Incident": closed({
            "id": ID, "state": ref("IncidentState"), "state_label": {"type": "string"},
            "why": {"type": ["string", "null"]}, "sender_organisation_id": nullable(ID),
            "messages": {"type": "array", "items": ref("ChainMessage"), "minItems": 1},
            "organisations": {"type": "object", "additionalProperties": {"type": "string"},
                              "description": "organisation id -> name, for those the "
                              "caller may see"},
            "deliveries": {"type": "array", "items": ref("Delivery")},
            "acks": {"type": "array", "items": ref("Ack")},
            "reports": {"type": "array", "items": ref("Report")},
            "escalations": {"type": "array", "items": ref("Escalation")},
            "deadline": {**nullable(DATE_TIME), "description": "when answers are due"},
            "overdue": {"type": "array", "items": ID, "description": "organisations reached "
                        "that have not answered by the deadline"},
            "reach": counts, "answers": counts,
            "cap": nullable(ref("CapSummary")), "cap_message_id": nullable(ID)}),
    }


def ack_delivery_schemas() -> dict[str, Schema]:
    return {
        "AckCreate": obj({"status": ref("AckStatus"), "note": text(acks.MAX_NOTE)}, ("status",)),
        "Ack": closed({"id": ID, "alert_id": ID, "organisation_id": ID,
                       "responder": {"type": "string",
                                     "description": "`contact:<id>` or `token:<id>`"},
                       "status": ref("AckStatus"), "note": {"type": "string"},
                       "via": {"type": "string", "description": "`api` or `feed`"},
                       "created": DATE_TIME, "updated": DATE_TIME}),
        "Delivery": closed({"id": ID, "alert_id": ID,
                            "organisation_id": {**nullable(ID), "description": "null for a "
                                                "resident's delivery"},
                            "recipient": {"type": "string", "description": "masked address"},
                            "channel": {"type": "string", "description": "e.g. feed, email, "
                                        "chat"},
                            "status": ref("DeliveryStatus"),
                            "attempts": COUNT,
                            "reason": {"enum": ["publish", "escalation"],
                                       "description": "why the delivery was made: at publish, "
                                       "or escalating to the secondary tier after a missed "
                                       "ack deadline"},
                            "last_error": {"type": ["string", "null"]},
                            "delivered_at": nullable(DATE_TIME)}),
        "Readiness": {
            "type": "object", "required": ["status", "database", "broker", "relays", "feed"],
            "properties": {
                "status": {"enum": ["ok", "degraded", "unavailable"]},
                "database": {"type": "object", "description": "`status` ok or unavailable, "
                             "and `ms` the round trip of a `SELECT 1`"},
                "broker": {"type": "object", "description": "`status`: ok (Redis answers "
                           "PING), in-process, or unavailable"},
                "relays": {"type": "array", "items": {"type": "object"},
                           "description": "each relay or webhook host this process has sent "
                           "to: `channel`, `route`, `status` ok or open, `down_s`, "
                           "`last_error`"},
                "outbox": {"type": "object", "description": "`status` ok or behind (a due "
                           "delivery has waited over 30 s), `due` by channel, "
                           "`oldest_due_s`"},
                "feed": {"type": "object"}}},
        "Health": closed({
            "status": {"enum": ["ok", "degraded", "unavailable"],
                       "description": "`degraded`: the database answers but the live feed "
                                      "is behind, or writes failed for want of space"},
            "database": {"type": "string"},
            "storage": obj({
                "status": {"enum": ["ok", "full"],
                           "description": "`full` for a minute after a write failed for "
                                          "want of space (answered 503 with Retry-After)"},
                "seconds_ago": {"type": "number", "description": "since that write"}},
                ("status",)),
            "feed": closed({
                "status": {"enum": ["ok", "behind"],
                           "description": "`behind` when an announced alert has waited "
                                          "over a second for the fan-out"},
                "desks": {"type": "integer", "description": "desks on this process"},
                "lag_s": {"type": "number", "description": "how long the oldest announced "
                          "alert has waited for the fan-out"},
                "backlog": {"type": "integer",
                            "description": "alerts announced but not yet fanned out"},
                "records_waiting": {"type": "integer", "description": "feed deliveries "
                                    "sent and not yet recorded"}})}),
    }


def report_create_schemas() -> dict[str, Schema]:
    number = "a decimal number, as text: {}"
    fields = {
        "text": text(reports.MAX_TEXT, description=f"at most {reports.MAX_TEXT} characters (in a "
                     "multipart part, bytes)"),
        "lat": {"type": "string", "pattern": LAT_TEXT.pattern,
                "description": number.format(f"-{MAX_LAT} to {MAX_LAT}")},
        "lon": {"type": "string", "pattern": LON_TEXT.pattern,
                "description": number.format(f"-{MAX_LON} to {MAX_LON}")},
        "observed_at": {**MOMENT,
                        "description": "when it was seen, with its UTC offset; at most "
                        f"{reports.CLOCK_SKEW.seconds // 60} minutes ahead of the hub's clock "
                        "(default: when it is sent)"}}
    label = {"tlp": {**ref("Tlp"), "description": "the report's own label (default "
                     "TLP:AMBER); a report on an alert carries the alert's"}}
    file = {"type": "array", "maxItems": reports.MAX_FILES, "items": {
        "type": "string", "contentMediaType": "application/octet-stream",
        "description": "a photo or video, each at most `VIGIL_UPLOAD_MAX_BYTES` (25 MiB by "
        "default; 413 beyond it). Its type is judged from its first bytes, not its name "
        "or Content-Type: JPEG, PNG, WebP, HEIC or MP4, else 415. An empty file part "
        "means no file."}, "description": f"`file` parts, at most {reports.MAX_FILES}"}
    multipart = ("Any other part is refused (422). In a multipart body, each text part is at "
                 f"most {reports.MAX_TEXT} bytes.")
    plain = "A report without a file, as a urlencoded form; any other field is refused (422)."
    return {
        "ReportCreate": obj({**fields, "file": file}, ("lat", "lon"), description=multipart),
        "ReportFields": obj(fields, ("lat", "lon"), description=plain),
        "ReportAloneCreate": obj({**fields, **label, "file": file}, ("lat", "lon"),
                                 description=multipart),
        "ReportAloneFields": obj({**fields, **label}, ("lat", "lon"), description=plain),
        "ReportReview": obj({"status": ref("ReportStatus")}, ("status",)),
        "ReportForward": obj({"organisation_ids": {
            "type": "array", "minItems": 1, "maxItems": reports.MAX_FORWARD,
            "items": {"type": "string", "minLength": 1, "maxLength": MAX_ID}}},
            ("organisation_ids",)),
    }


def report_schemas() -> dict[str, Schema]:
    everyone = {
        "id": ID, "alert_id": {**nullable(ID), "description": "null for a report on no alert"},
        "text": {"type": "string"}, "lat": LAT, "lon": LON, "tlp": ref("Tlp"),
        "observed": DATE_TIME, "status": ref("ReportStatus"),
        "file": {**nullable(ref("ReportFile")), "description": "the first of `files`"},
        "files": {"type": "array", "items": ref("ReportFile")},
        "shared": {"type": "boolean", "description": "the sending police service shared it "
                   "with every organisation the alert reached"},
        "created": DATE_TIME}
    return {
        **report_create_schemas(),
        "ReportFile": closed({"id": ID, "kind": ref("MediaKind"), "size": COUNT,
                              "sha256": {"type": "string", "description": "of the bytes as "
                                         "sent, computed on receipt"},
                              "url": {"type": "string", "description": "where to GET the file"}}),
        "Report": obj({
            **everyone, "organisation_id": ID,
            "reporter": {"type": "string", "description": "`user:<id>`, `contact:<id>` or "
                         "`token:<id>`"},
            "reviewed_by": {**nullable({"type": "string"}), "description": "who last set "
                            "`status`"},
            "reviewed_at": nullable(DATE_TIME)},
            tuple(everyone), description="`organisation_id`, `reporter` (who sent it) and the "
            "review are present only for the reporting organisation, hub admins and the "
            "police who received it; other organisations see a shared or forwarded report "
            "without them."),
    }


def user_properties() -> dict[str, Schema]:
    return {"id": ID, "email": {"type": "string"}, "name": {"type": "string"},
            "organisation_id": ID, "role": ref("StaffRole"), "contact_id": nullable(ID),
            "mfa": {"type": "boolean", "description": "an authenticator is set up"},
            "disabled": {"type": "boolean"}, "last_login_at": nullable(DATE_TIME)}


def user_schemas() -> dict[str, Schema]:
    return {
        "User": closed(user_properties()),
        "UserChanged": closed({**user_properties(), "sessions_ended": {
            **COUNT, "description": "browser sessions of the person ended by this change"}}),
        "InvitationCreate": obj(
            {"organisation_id": text(MAX_ID, 1),
             "email": text(MAX_EMAIL, 1, pattern=EMAIL.pattern),
             "role": ref("StaffRole"), "contact_id": text(MAX_ID)},
            ("organisation_id", "email", "role"),
            description="The address must not have an account yet; a contact_id must be a "
                        "contact of the organisation."),
        "Invitation": closed({
            "id": ID, "email": {"type": "string"}, "role": ref("StaffRole"), "organisation_id": ID,
            "contact_id": nullable(ID),
            "token": {"type": "string", "description": "the one-time secret, shown this once"},
            "accept_url": {"type": "string", "format": "uri",
                           "description": "`VIGIL_PUBLIC_URL` + `/invite/<token>`"},
            "expires_at": DATE_TIME}),
        "InvitationAccept": obj(
            {"token": text(MAX_SECRET, 1), "name": text(MAX_NAME, 1),
             "password": {"type": "string", "not": {"pattern": CONTROL}, "minLength": MIN_PASSWORD,
                          "maxLength": MAX_PASSWORD}},
            ("token", "name", "password")),
    }


def session_schemas() -> dict[str, Schema]:
    signed = {"step": ref("SignInStep"), "user": ref("User"),
              "csrf_token": {"type": "string", "description": "send it as the `X-CSRF-Token` "
                             "header with every change made with the session cookie"}}
    return {
        "SignInStep": enum_schema(Step, description="`done`: signed in; `code`: the "
                                  "authenticator code is next (`POST /api/v1/session/mfa`); "
                                  "`enrol`: this role must set up an authenticator first"),
        "SessionCreate": obj(
            {"email": text(MAX_EMAIL, 1),
             "password": {"type": "string", "not": {"pattern": CONTROL}, "minLength": 1,
                          "maxLength": SIGN_IN_MAX_PASSWORD},
             "code": text(MAX_CODE, description="the authenticator code, to sign in in one "
                          "step")},
            ("email", "password")),
        "SignedIn": closed(signed),
        "Session": closed({**signed, "idle_timeout_s": {
            "type": "number", "exclusiveMinimum": 0,
            "description": "the session ends after this long without a request"}}),
        "SignedOut": closed({"step": {"const": "signed_out"}}),
        "SecondFactor": obj(
            {"code": text(MAX_CODE), "recovery_code": text(MAX_RECOVERY_CODE)},
            anyOf=[{"required": [name], "properties": {name: {"minLength": 1}}}
                   for name in ("code", "recovery_code")],
            description="The authenticator code or a recovery code (which wins when both are "
                        "given); a recovery code works once."),
        "MfaEnrolment": closed({
            "secret": {"type": "string", "description": "the new TOTP seed, base32"},
            "otpauth_uri": {"type": "string"},
            "qr_svg": {"type": "string", "description": "the otpauth URI as a QR code, an SVG "
                       "`data:` URI"}}),
        "MfaConfirm": obj({"code": text(MAX_CODE, 1)}, ("code",)),
        "MfaConfirmed": closed({**signed, "recovery_codes": {
            "type": "array", "items": {"type": "string"}, "minItems": RECOVERY_CODES,
            "maxItems": RECOVERY_CODES,
            "description": "shown this once; each works once instead of a code"}}),
    }


def cap_schemas() -> dict[str, Schema]:
    pairs = {"type": "array", "items": closed({"name": {"type": "string"},
                                               "value": {"type": "string"}})}
    maybe = {"type": ["string", "null"]}
    signature = closed({
        "status": {"enum": ["valid", "invalid", "absent"]}, "signer": maybe,
        "detail": {"type": "string"}},
        description="the XML signature check: valid means the document is signed by the key "
        "in its own KeyInfo (the signer is named for a person to judge; trust chains are not "
        "checked)")
    warnings = {"type": "array", "items": closed({
        "path": {"type": "string"}, "message": {"type": "string"}}),
        "description": "what the document had that CAP 1.2 does not allow but agencies send "
        "(an empty `<references/>` or `<polygon/>`): read as absent or skipped"}
    info = {"type": "object", "description": "one <info> block; the first is the alert's "
            "own columns, the others are translations", "properties": {
                "language": {"type": "string"}, "headline": {"type": "string"},
                "event": {"type": "string"}, "description": {"type": "string"},
                "instruction": {"type": "string"}, "parameters": pairs,
                "event_codes": pairs, "areas": {"type": "array", "items": {
                    "type": "object", "properties": {"description": {"type": "string"},
                                                     "geocodes": pairs}}},
                "resources": {"type": "array", "items": {"type": "object"}}}}
    return {
        "CapSummary": {
            "type": "object", "description": "what the CAP document an alert was imported "
            "from carried beyond the alert's own fields; the document itself is at "
            "`GET /api/v1/alerts/{id}/cap`", "properties": {
                "identifier": {"type": "string"}, "sender": {"type": "string"},
                "sent": {"type": "string"}, "status": {"type": "string"},
                "scope": {"type": "string"}, "version": {"type": "string"},
                "references": {"type": "array", "items": {"type": "object"}},
                "signature": signature,
                "withheld": {**maybe, "description": "why the alert reached nobody (a Test "
                             "message, expired, a Cancel of an unknown alert), else null"},
                "warnings": warnings, "infos": {"type": "array", "items": info}}},
        "CapSignature": signature,
        "CapImported": closed({
            "id": ID, "seq": {"type": ["integer", "null"]}, "status": ref("AlertStatus"),
            "msg_type": ref("MsgType"), "references": nullable(ID),
            "targets": closed({name: COUNT for name in ("organisations", "contacts",
                                                       "residents")}),
            "signature": signature, "withheld": maybe, "warnings": warnings}),
        "CapInvalid": closed({
            "error": {"const": "invalid_cap"}, "detail": {"type": "string"},
            "fields": {"type": "object", "additionalProperties": {"type": "string"},
                       "description": "element path -> what is wrong there"},
            "violations": {"type": "array", "items": closed({
                "path": {"type": "string", "description": "XPath of the element, e.g. "
                         "`/alert/info[1]/urgency`; `/` for the document as a whole"},
                "message": {"type": "string"}})}}),
    }


def schemas(channels: Registry) -> dict[str, Schema]:
    """Every schema of the document of a hub with these channels."""
    return {**enum_schemas(), **error_schemas(), **area_schemas(), **organisation_schemas(),
            **cap_schemas(), **contact_schemas(channels), **token_schemas(), **alert_schemas(),
            **ack_delivery_schemas(), **report_schemas(), **user_schemas(),
            **session_schemas(), **subscription_schemas()}


def subscription_schemas() -> dict[str, Schema]:
    where = {"lat": LAT, "lon": LON,
             "radius_m": {"type": "integer", "minimum": residents.MIN_RADIUS_M,
                          "maximum": residents.MAX_RADIUS_M}}
    email = text(MAX_EMAIL, 1, pattern=EMAIL.pattern)
    return {
        "SubscriptionCreate": obj({"email": email, **where, "language": {
            **LANGUAGE, "description": "the language the "
            "resident reads (alerts in several languages reach them in it); default: the first "
            "of Accept-Language"}}, ("email", *where)),
        "SubscriptionRequested": closed({
            "status": {"const": SubscriptionStatus.PENDING.value},
            "detail": {"type": "string", "description": "where the confirmation link went"}}),
        "SubscriptionConfirm": obj({"token": text(MAX_SECRET, 1, description="the secret of "
                                                   "the emailed link")}, ("token",)),
        "Subscription": closed({"id": ID, "email": {"type": "string"}, **where,
                                "status": ref("SubscriptionStatus")}),
    }
