"""The OpenAPI document's part for the community services directory: its operations and
their schemas (our own places, and HSDS 3.0 services as the HSDS API serves them)."""

from __future__ import annotations

from typing import Any

from hub.api.spec_operations import answer, by_id, operation
from hub.api.spec_schemas import DATE_TIME, ID, LAT, LON, Schema, closed, enum_schema, obj, ref
from hub.directory import Need, ServedGroup
from hub.geo import LAT_TEXT, LON_TEXT
from hub.hsds_write import DEFAULT_PER_PAGE, MAX_PAGE_NUMBER, MAX_PER_PAGE
from hub.services import DEFAULT_NEARBY, MAX_NEARBY, MAX_SEATS

HSDS_DOCS = "https://docs.openreferral.org/en/latest/hsds/schema_reference.html"
NULLABLE_COUNT: Schema = {"anyOf": [{"type": "integer", "minimum": 0}, {"type": "null"}]}


def _nullable(schema: Schema) -> Schema:
    return {"anyOf": [schema, {"type": "null"}]}


def nearby_parameters() -> list[dict[str, Any]]:
    def query(name: str, schema: Schema, description: str,
              required: bool = False) -> dict[str, Any]:
        return {"name": name, "in": "query", "required": required,
                "description": description, "schema": schema}

    return [
        query("lat", {"type": "string", "pattern": LAT_TEXT.pattern},
              "latitude of the point, a decimal such as 43.5890", True),
        query("lon", {"type": "string", "pattern": LON_TEXT.pattern},
              "longitude of the point, a decimal such as -79.6441", True),
        query("need", ref("Need"), "only places of this need (default: every need)"),
        query("open_now", {"type": "string", "enum": ["true", "false"], "default": "true"},
              "`false` also offers places closed now, or whose hours are unknown"),
        query("limit", {"type": "integer", "minimum": 1, "maximum": MAX_NEARBY,
                        "default": DEFAULT_NEARBY}, "at most this many places"),
    ]


def hsds_page_parameters() -> list[dict[str, Any]]:
    return [
        {"name": "page", "in": "query", "required": False, "description": "page number",
         "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_NUMBER,
                    "default": 1}},
        {"name": "per_page", "in": "query", "required": False,
         "description": "services in a page",
         "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE,
                    "default": DEFAULT_PER_PAGE}},
    ]


def service_paths() -> dict[str, Any]:
    return {
        "/api/v1/services/nearby": {"get": operation(
            "service_nearby", "services",
            "The nearest places that have room now (free beds or seats counted within "
            "`VIGIL_SERVICES_STALE_S`, or none to count, as a crisis line) and, unless "
            "`open_now=false`, are open now in their own time zone; nearest first. Staff only.",
            {"200": answer("The places.", ref("NearbyPlaces"))}, 401, 403, 422,
            parameters=nearby_parameters())},
        "/api/v1/services/{id}": by_id(get=operation(
            "service_show", "services", "One place as it is now (staff).",
            {"200": answer("The place.", ref("ServicePlace"))}, 401, 403, 404)),
        "/api/v1/services/{id}/capacity": by_id(post=operation(
            "capacity_update", "services",
            "Say how many beds or seats are free now, and perhaps how many there are (hub "
            "admins, and the admins and partners of the agency that runs the place; others "
            "403). `available` may not exceed the capacity; a place without one needs "
            "`capacity` with its first count.",
            {"200": answer("Updated.", ref("ServicePlace"))}, 401, 403, 404, 422,
            body="CapacityUpdate")),
        "/api/v1/hsds/services": {"get": operation(
            "hsds_service_list", "hsds",
            "Every place as an Open Referral HSDS 3.0 service (each fully nested, at its one "
            "location), by name, in the HSDS API's paging envelope. Staff only.",
            {"200": answer("A page of services.", ref("HsdsServicePage"))}, 401, 403, 422,
            parameters=hsds_page_parameters())},
        "/api/v1/hsds/services/{id}": by_id(get=operation(
            "hsds_service_show", "hsds",
            "One place as a fully nested HSDS 3.0 service, by its HSDS id (a UUID).",
            {"200": answer("The service.", ref("HsdsService"))}, 401, 403, 404)),
    }


def place_properties() -> dict[str, Schema]:
    text: Schema = {"type": "string"}
    return {
        "id": ID, "name": text, "need": ref("Need"), "description": text, "provider": text,
        "organisation_id": _nullable(ID), "address": text, "lat": _nullable(LAT),
        "lon": _nullable(LON), "phone": text,
        "hours": {"type": "string", "description": "in OpenStreetMap's words; \"\" when "
                  "nobody said"},
        "time_zone": {"type": "string", "description": "its hours are on this clock"},
        "serves": {"type": "array", "items": ref("ServedGroup")},
        "open_now": {"anyOf": [{"type": "boolean"}, {"type": "null"}],
                     "description": "null when its hours are not known"},
        "capacity": NULLABLE_COUNT, "available": NULLABLE_COUNT,
        "capacity_updated_at": _nullable(DATE_TIME),
        "stale": {"type": "boolean", "description": "its count is older than "
                  "`VIGIL_SERVICES_STALE_S`"},
        "has_room": {"type": "boolean"},
        "directions_url": _nullable({"type": "string", "format": "uri"}),
    }


def hsds_schemas() -> dict[str, Schema]:
    """HSDS's own objects: the parts Vigil sends, open as HSDS's schemas are."""
    uuid: Schema = {"type": "string", "format": "uuid"}
    items: Schema = {"type": "array", "items": {"type": "object", "required": ["id"],
                                                 "properties": {"id": uuid}}}
    return {
        "HsdsService": {
            "type": "object", "required": ["id", "name", "status"],
            "description": f"An HSDS 3.0 service ({HSDS_DOCS}#service); its need and the "
                           "groups it serves are attributes with taxonomy terms of the "
                           "`vigil-need` and `vigil-served` taxonomies.",
            "properties": {"id": uuid, "name": {"type": "string"},
                           "status": {"type": "string", "enum": ["active"]},
                           "description": {"type": "string"}, "organization_id": uuid,
                           "organization": {"type": "object"},
                           "last_modified": DATE_TIME, "phones": items, "schedules": items,
                           "attributes": items, "service_at_locations": items}},
        "HsdsServicePage": closed({
            "total_items": {"type": "integer", "minimum": 0},
            "total_pages": {"type": "integer", "minimum": 0},
            "page_number": {"type": "integer", "minimum": 1},
            "size": {"type": "integer", "minimum": 0},
            "first_page": {"type": "boolean"}, "last_page": {"type": "boolean"},
            "empty": {"type": "boolean"},
            "contents": {"type": "array", "items": ref("HsdsService")}}),
    }


def service_schemas() -> dict[str, Schema]:
    place = place_properties()
    count = {"type": "integer", "minimum": 0, "maximum": MAX_SEATS}
    return {
        "Need": enum_schema(Need), "ServedGroup": enum_schema(ServedGroup),
        "ServicePlace": closed(place),
        "NearbyPlace": closed({**place, "distance_m": {
            "type": "integer", "minimum": 0, "description": "straight-line metres"}}),
        "NearbyPlaces": closed({
            "generated_at": DATE_TIME,
            "stale_after_s": {"type": "integer", "minimum": 1},
            "places": {"type": "array", "items": ref("NearbyPlace")}}),
        "CapacityUpdate": obj({"available": {**count, "description": "free now"},
                               "capacity": {**count, "minimum": 1,
                                            "description": "beds or seats in all"}},
                              ("available",)),
        **hsds_schemas(),
    }
