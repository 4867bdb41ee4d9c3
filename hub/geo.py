"""Alert areas: parse and validate GeoJSON polygons and circles, match them against sites."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Polygon, shape
from shapely.validation import explain_validity

from partners.validation import MAX_LAT, MAX_LON

MAX_VERTICES = 10_000
# A latitude and a longitude written as text (a form's fields): plain decimals in range.
LAT_TEXT = re.compile(r"^-?(90(\.0{1,15})?|[1-8]?[0-9](\.[0-9]{1,15})?)$")
LON_TEXT = re.compile(r"^-?(180(\.0{1,15})?|(1[0-7][0-9]|[1-9]?[0-9])(\.[0-9]{1,15})?)$")
# A police alert covers a city at most; CAP circles from national warning centres are the
# widest legitimate ones and stay well inside this. Anything larger is a unit mistake.
MAX_RADIUS_M = 1_000_000.0
EARTH_RADIUS_M = 6_371_008.8
METRES_PER_DEGREE = math.pi * EARTH_RADIUS_M / 180


class AreaError(ValueError):
    """An invalid area; `field` is the path of the offending value, e.g. `area.coordinates[0]`."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Area:
    """A validated alert area: a (multi)polygon or a circle, with its normalised JSON; or
    NOWHERE, the area of a CAP alert that only names places (geocodes), which contains
    nothing."""

    json: dict[str, Any] | None
    polygon: Polygon | MultiPolygon | None = None
    circle: tuple[float, float, float] | None = None  # lat, lon, radius in metres

    def contains(self, lats: np.ndarray, lons: np.ndarray) -> np.ndarray:
        """Which of the points lie inside or on the edge of the area, in one vectorised pass."""
        if self.json is None:
            return np.zeros(len(lats), dtype=bool)
        if self.circle is not None:
            lat, lon, radius = self.circle
            return haversine_m(lat, lon, lats, lons) <= radius
        assert self.polygon is not None
        return shapely.intersects_xy(self.polygon, lons, lats)

    def reaches(self, lats: np.ndarray, lons: np.ndarray, radii_m: np.ndarray) -> np.ndarray:
        """Which circles (a resident's point and radius) the area touches, vectorised."""
        if self.json is None:
            return np.zeros(len(lats), dtype=bool)
        if self.circle is not None:
            lat, lon, radius = self.circle
            return haversine_m(lat, lon, lats, lons) <= radius + radii_m
        assert self.polygon is not None
        # Distances in a local flat projection around the area: exact enough at city scale.
        origin = self.polygon.centroid
        scale_x = METRES_PER_DEGREE * math.cos(math.radians(origin.y))
        flat = shapely.transform(self.polygon, lambda xy: (xy - (origin.x, origin.y))
                                 * (scale_x, METRES_PER_DEGREE))
        points = shapely.points((lons - origin.x) * scale_x, (lats - origin.y) * METRES_PER_DEGREE)
        return np.asarray(shapely.distance(flat, points) <= radii_m)


NOWHERE = Area(json=None)


def stored_area(value: dict[str, Any] | None) -> Area:
    """The area of a stored alert (already validated when it was written)."""
    return NOWHERE if value is None else parse_area(value)


def describe_area(area: dict[str, Any] | None) -> str:
    """The area in words, for people who cannot use the map."""
    if area is None:
        return "named places only (no map geometry)"
    circle = area.get("circle")
    if isinstance(circle, dict):
        return (f"a circle of {circle.get('radius_m')} m around {circle.get('lat')}, "
                f"{circle.get('lon')}")
    if area.get("type") == "MultiPolygon":
        return f"{len(area.get('coordinates', []))} separate zones"
    ring = (area.get("coordinates") or [[]])[0]
    if ring:
        lats = [point[1] for point in ring]
        lons = [point[0] for point in ring]
        return (f"a zone from {min(lats):.4f}, {min(lons):.4f} "
                f"to {max(lats):.4f}, {max(lons):.4f}")
    return "an area"


def haversine_m(lat: float, lon: float, lats: np.ndarray, lons: np.ndarray) -> np.ndarray:
    """Great-circle distances in metres from one point to many."""
    p1, p2 = math.radians(lat), np.radians(lats)
    dphi = p2 - p1
    dlmb = np.radians(lons) - math.radians(lon)
    a = np.sin(dphi / 2) ** 2 + math.cos(p1) * np.cos(p2) * np.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def parse_area(value: object, field: str = "area") -> Area:
    """Validate an area given as a GeoJSON Polygon/MultiPolygon or `{"circle": {...}}`."""
    if not isinstance(value, dict):
        raise AreaError(field, "must be a GeoJSON Polygon or MultiPolygon, or a circle")
    if "circle" in value:
        return _parse_circle(value, field)
    kind = value.get("type")
    if kind == "Polygon":
        rings = _polygon_rings(value.get("coordinates"), f"{field}.coordinates")
        _check_vertex_count([rings], field)
        polygons = [rings]
    elif kind == "MultiPolygon":
        coordinates = value.get("coordinates")
        if not isinstance(coordinates, list) or not coordinates:
            raise AreaError(f"{field}.coordinates", "must be a non-empty list of polygons")
        polygons = [
            _polygon_rings(item, f"{field}.coordinates[{i}]") for i, item in enumerate(coordinates)
        ]
        _check_vertex_count(polygons, field)
    else:
        raise AreaError(f"{field}.type", "must be 'Polygon' or 'MultiPolygon'")
    for index, rings in enumerate(polygons):
        path = f"{field}.coordinates" if kind == "Polygon" else f"{field}.coordinates[{index}]"
        _check_valid(Polygon(rings[0], rings[1:]), path)
    normal = {"type": kind, "coordinates": polygons if kind == "MultiPolygon" else polygons[0]}
    geometry = shape(normal)
    if kind == "MultiPolygon":
        # Overlapping parts are legal to send; the union is the area that is meant.
        geometry = shapely.union_all([Polygon(r[0], r[1:]) for r in polygons])
    return Area(json=normal, polygon=geometry)


def _parse_circle(value: dict[str, Any], field: str) -> Area:
    circle = value["circle"]
    path = f"{field}.circle"
    if not isinstance(circle, dict):
        raise AreaError(path, "must be an object with lat, lon and radius_m")
    lat = _number(circle.get("lat"), f"{path}.lat")
    lon = _number(circle.get("lon"), f"{path}.lon")
    radius = _number(circle.get("radius_m"), f"{path}.radius_m")
    _check_position(lon, lat, path)
    if radius <= 0:
        raise AreaError(f"{path}.radius_m", "must be greater than zero")
    if radius > MAX_RADIUS_M:
        raise AreaError(f"{path}.radius_m", f"must be at most {MAX_RADIUS_M:.0f} metres")
    return Area(json={"circle": {"lat": lat, "lon": lon, "radius_m": radius}},
                circle=(lat, lon, radius))


def _polygon_rings(value: object, path: str) -> list[list[tuple[float, float]]]:
    if not isinstance(value, list) or not value:
        raise AreaError(path, "must be a non-empty list of linear rings")
    return [_ring(ring, f"{path}[{i}]") for i, ring in enumerate(value)]


def _ring(value: object, path: str) -> list[tuple[float, float]]:
    if not isinstance(value, list):
        raise AreaError(path, "must be a list of [lon, lat] positions")
    if len(value) > MAX_VERTICES + 1:
        raise AreaError(path, f"has more than {MAX_VERTICES} vertices")
    if len(value) < 4:
        raise AreaError(path, "needs at least 4 positions (a closed triangle)")
    ring: list[tuple[float, float]] = []
    for i, position in enumerate(value):
        where = f"{path}[{i}]"
        if not isinstance(position, list) or len(position) not in (2, 3):
            raise AreaError(where, "must be a [lon, lat] position")
        lon = _number(position[0], f"{where}[0]")
        lat = _number(position[1], f"{where}[1]")
        _check_position(lon, lat, where)
        ring.append((lon, lat))
    if ring[0] != ring[-1]:
        raise AreaError(path, "is not closed: the last position must equal the first")
    return ring


def _number(value: object, path: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise AreaError(path, "must be a number")
    number = float(value)
    if not math.isfinite(number):
        raise AreaError(path, "must be a finite number")
    return number


def _check_position(lon: float, lat: float, path: str) -> None:
    if not -MAX_LAT <= lat <= MAX_LAT:
        raise AreaError(path, f"latitude {lat} is outside [-{MAX_LAT}, {MAX_LAT}]")
    if not -MAX_LON <= lon <= MAX_LON:
        raise AreaError(path, f"longitude {lon} is outside [-{MAX_LON}, {MAX_LON}]")


def _check_vertex_count(polygons: list[list[list[tuple[float, float]]]], field: str) -> None:
    total = sum(len(ring) - 1 for rings in polygons for ring in rings)
    if total > MAX_VERTICES:
        raise AreaError(f"{field}.coordinates", f"has {total} vertices; at most {MAX_VERTICES}")


def _check_valid(polygon: Polygon, path: str) -> None:
    if polygon.is_valid and polygon.area > 0:
        return
    reason = explain_validity(polygon) if not polygon.is_valid else "the ring encloses no area"
    raise AreaError(path, f"is not a simple polygon ({reason}); rings must not self-intersect")
