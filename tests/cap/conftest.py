"""Shared by the CAP tests: where the sample documents live."""

from __future__ import annotations

from pathlib import Path

import pytest

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "cap-samples"
# Samples that break CAP on purpose (or attack the parser); every other *.cap must parse.
# canada_errors.cap's one fault, an empty <references/>, is read with a warning, as real
# Environment Canada (NAAD) alerts carry it.
INVALID_SAMPLES = frozenset({"invalid.cap", "noaa_errors.cap", "xee.cap"})
VALID_SAMPLES = sorted(p.name for p in SAMPLES.glob("*.cap") if p.name not in INVALID_SAMPLES)


@pytest.fixture
def samples() -> Path:
    return SAMPLES
