"""CAP parsing speed: real samples, and hostile documents that must be refused at once.

    python bench/cap_parsing.py [--rounds N]

Times `hub.cap.parse` on each valid sample, on xee.cap and on billion-laughs documents of
growing depth (each level multiplies the expansion by ten), and `hub.cap.signature.verify`
on the signed samples. A refused hostile document must cost about the same at every depth:
nothing is expanded.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

from hub.cap import CapInvalid, parse
from hub.cap.signature import verify

SAMPLES = Path(__file__).resolve().parents[1] / "tests" / "data" / "cap-samples"
INVALID = {"invalid.cap", "canada_errors.cap", "noaa_errors.cap", "xee.cap"}


def laughs(depth: int) -> bytes:
    """A billion-laughs document whose full expansion is 3 * 10**depth characters."""
    entities = ['<!ENTITY l0 "lol">'] + [
        f'<!ENTITY l{n} "{"".join(f"&l{n - 1};" for _ in range(10))}">'
        for n in range(1, depth + 1)]
    return (f'<?xml version="1.0"?><!DOCTYPE alert [{"".join(entities)}]>'
            f'<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">'
            f"<identifier>&l{depth};</identifier></alert>").encode()


def timed(work: Callable[[], object], rounds: int) -> float:
    """Median milliseconds of one call."""
    runs = []
    for _ in range(rounds):
        started = time.perf_counter()
        work()
        runs.append((time.perf_counter() - started) * 1000)
    return statistics.median(runs)


def refused(data: bytes) -> Callable[[], object]:
    def run() -> object:
        try:
            parse(data)
        except CapInvalid as error:
            return error
        raise SystemExit("a hostile document was accepted")
    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()
    print(f"{'document':<34} {'bytes':>8} {'median ms':>10}")
    for path in sorted(SAMPLES.glob("*.cap")):
        if path.name in INVALID:
            continue
        data = path.read_bytes()
        took = timed(partial(parse, data), args.rounds)
        print(f"parse {path.name:<28} {len(data):>8} {took:>10.3f}")
    xee = (SAMPLES / "xee.cap").read_bytes()
    print(f"{'refuse xee.cap':<34} {len(xee):>8} {timed(refused(xee), args.rounds):>10.3f}")
    for depth in (3, 6, 9, 12):
        data = laughs(depth)
        label = f"refuse billion laughs 3e{depth} chars"
        print(f"{label:<34} {len(data):>8} {timed(refused(data), args.rounds):>10.3f}")
    for name in ("earthquake_signed.cap", "canada_signed.cap"):
        data = (SAMPLES / name).read_bytes()
        rounds = max(1, args.rounds // 10)
        took = timed(partial(verify, data), rounds)
        print(f"verify {name:<27} {len(data):>8} {took:>10.3f}")


if __name__ == "__main__":
    main()
