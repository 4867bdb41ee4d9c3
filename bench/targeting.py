"""Targeting cost: one polygon matched against many sites, vectorised (as the hub does) and
as a per-site Python loop.

    python -m bench.targeting [--sites 100000]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from shapely.geometry import Point

from bench.servers_run import SQUARE
from hub.geo import parse_area


def measure(sites: int) -> tuple[float, float]:
    rng = np.random.default_rng(11)
    lats = rng.uniform(43.58, 43.85, sites)
    lons = rng.uniform(-79.64, -79.12, sites)
    area = parse_area({"type": "Polygon", "coordinates": [SQUARE]})
    started = time.perf_counter()
    vectorised = area.contains(lats, lons)
    vector_s = time.perf_counter() - started
    started = time.perf_counter()
    assert area.polygon is not None
    looped = [area.polygon.intersects(Point(x, y)) for x, y in zip(lons, lats, strict=True)]
    loop_s = time.perf_counter() - started
    assert list(vectorised) == looped
    return vector_s, loop_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sites", type=int, default=100_000)
    args = parser.parse_args()
    vector_s, loop_s = measure(args.sites)
    print(f"one polygon against {args.sites:,} sites: vectorised {vector_s * 1000:.1f} ms, "
          f"per-site loop {loop_s * 1000:.1f} ms ({loop_s / vector_s:.0f}x)")


if __name__ == "__main__":
    main()
