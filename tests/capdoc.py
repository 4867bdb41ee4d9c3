"""CAP 1.2 documents for tests: a real agency's shape, around the test sites, at test time."""

from __future__ import annotations

from datetime import datetime, timedelta
from xml.sax.saxutils import escape

from tests.conftest import NOW

# Around tests/conftest.py INSIDE (Bay St tower), as CAP writes polygons: lat,lon pairs.
AROUND_INSIDE = "43.6465,-79.3830 43.6465,-79.3780 43.6495,-79.3780 43.6495,-79.3830 " \
    "43.6465,-79.3830"
# Around OUTSIDE (Yorkville office).
AROUND_OUTSIDE = "43.6700,-79.3930 43.6700,-79.3910 43.6720,-79.3910 43.6720,-79.3930 " \
    "43.6700,-79.3930"


def when(moment: datetime) -> str:
    return moment.replace(microsecond=0).isoformat()


def info(language: str = "en-CA", headline: str = "Gas leak, Bay St",
         event: str = "Gas leak", *, severity: str = "Severe", polygons: tuple[str, ...] = (
             AROUND_INSIDE,), circles: tuple[str, ...] = (), geocodes: tuple[tuple[str, str], ...]
         = (), area_desc: str = "King & Bay", expires: datetime | None = NOW + timedelta(hours=2),
         description: str = "Crews are on site.", instruction: str = "Stay away from the area.",
         extra: str = "") -> str:
    shapes = "".join(f"<polygon>{p}</polygon>" for p in polygons)
    shapes += "".join(f"<circle>{c}</circle>" for c in circles)
    shapes += "".join(f"<geocode><valueName>{escape(n)}</valueName><value>{escape(v)}</value>"
                      "</geocode>" for n, v in geocodes)
    return (f"<info><language>{language}</language><category>Safety</category>"
            f"<event>{escape(event)}</event><urgency>Immediate</urgency>"
            f"<severity>{severity}</severity><certainty>Observed</certainty>"
            + (f"<expires>{when(expires)}</expires>" if expires else "")
            + f"<senderName>Toronto Fire Services</senderName>"
            f"<headline>{escape(headline)}</headline>"
            f"<description>{escape(description)}</description>"
            f"<instruction>{escape(instruction)}</instruction>{extra}"
            f"<area><areaDesc>{escape(area_desc)}</areaDesc>{shapes}</area></info>")


def cap_alert(identifier: str = "TFS-2026-0001", *, infos: tuple[str, ...] | None = None,
              msg_type: str = "Alert", references: str | None = None, scope: str = "Public",
              restriction: str | None = None, status: str = "Actual",
              sender: str = "cap@tfs.example", sent: datetime = NOW) -> bytes:
    """A CAP 1.2 alert; by default one English info around INSIDE, expiring in 2 hours."""
    infos = (info(),) if infos is None else infos
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">'
            f"<identifier>{identifier}</identifier><sender>{sender}</sender>"
            f"<sent>{when(sent)}</sent><status>{status}</status><msgType>{msg_type}</msgType>"
            f"<scope>{scope}</scope>"
            + (f"<restriction>{escape(restriction)}</restriction>" if restriction else "")
            + (f"<references>{references}</references>" if references else "")
            + "".join(infos) + "</alert>").encode()


def reference(identifier: str, sender: str = "cap@tfs.example", sent: datetime = NOW) -> str:
    return f"{sender},{identifier},{when(sent)}"
