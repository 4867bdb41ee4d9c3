"""Evidence requests: a police service's appeal for what the public saw of an incident, with
a public TLP:CLEAR page, open for tips until it is closed; and who among police sees them."""

from __future__ import annotations

import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub import audit
from hub.access import Principal
from hub.errors import Forbidden, NotFound
from hub.geo import Area, AreaError, parse_area
from hub.models import EvidenceRequest, EvidenceStatus, Tip
from partners.models import Role
from partners.validation import Checker

MAX_TITLE = 200
MAX_DESCRIPTION = 10_000
FIELDS = ("title", "description", "area", "starts", "ends")
_SLUG_WORDS = 48  # characters of the title kept in the slug, before its random part


def require_police(principal: Principal) -> None:
    """Tips are for police: hub admins, and police services' publishers and approvers
    (roles only police services have). A partner's admin is refused like any partner."""
    if not principal.hub_admin and principal.role not in (Role.PUBLISHER, Role.APPROVER):
        raise Forbidden("tips are for police staff only")


def sees_request(principal: Principal, request: EvidenceRequest) -> bool:
    """Hub admins see every request; other police staff their own service's."""
    return principal.hub_admin or principal.organisation_id == request.organisation_id


@dataclass(frozen=True)
class RequestDraft:
    title: str
    description: str
    area: Area | None
    starts: datetime | None
    ends: datetime | None


def read_request(body: object) -> RequestDraft:
    """Check an evidence request; raise InvalidInput naming every bad field."""
    check = Checker(body)
    check.only(FIELDS)
    title = check.text("title", max_len=MAX_TITLE, line=True)
    description = check.text("description", max_len=MAX_DESCRIPTION)
    area = None
    if "area" in check.body and check.body["area"] is not None:
        try:
            area = parse_area(check.body["area"])
        except AreaError as error:
            check.fail(error.field, error.message)
    starts, ends = _moment(check, "starts"), _moment(check, "ends")
    if starts and ends and ends <= starts:
        check.fail("ends", "must be after starts")
    check.done()
    assert title is not None and description is not None
    return RequestDraft(title, description, area, starts, ends)


def _moment(check: Checker, name: str) -> datetime | None:
    moment = check.moment(name, required=False)
    return moment.astimezone(UTC) if moment else None


def slug_of(title: str) -> str:
    """The page's name: the title's words in plain ASCII, and a random part so that two
    requests of one title never share a page (nor can a page be guessed before it opens)."""
    plain = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    words = re.sub(r"[^a-z0-9]+", "-", plain.lower()).strip("-")[:_SLUG_WORDS].strip("-")
    return f"{words}-{secrets.token_hex(4)}" if words else secrets.token_hex(6)


async def open_request(session: AsyncSession, principal: Principal, draft: RequestDraft,
                       now: datetime) -> EvidenceRequest:
    """Open a request in the principal's police service, on the record."""
    if principal.organisation_id is None:
        raise Forbidden("an evidence request belongs to a police service: use a publisher "
                        "of one")
    request = EvidenceRequest(
        slug=slug_of(draft.title), organisation_id=principal.organisation_id,
        title=draft.title, description=draft.description,
        area=draft.area.json if draft.area else None, starts=draft.starts, ends=draft.ends,
        created_by=principal.actor, created_at=now)
    session.add(request)
    await session.flush()
    await audit.record(session, principal.actor, "evidence.open", request.id,
                       {"slug": request.slug, "title": request.title})
    await session.commit()
    return request


async def readable(session: AsyncSession, principal: Principal,
                   request_id: str) -> EvidenceRequest:
    """The request, if this police principal may see it (404 otherwise, as for none)."""
    require_police(principal)
    request = await session.get(EvidenceRequest, request_id)
    if request is None or not sees_request(principal, request):
        raise NotFound("no such evidence request")
    return request


async def close_request(session: AsyncSession, principal: Principal, request_id: str,
                        now: datetime) -> EvidenceRequest:
    """Close a request to new tips (its page stays, saying so); closing again changes
    nothing."""
    request = await readable(session, principal, request_id)
    if request.status is EvidenceStatus.OPEN:
        request.status, request.closed_by, request.closed_at = (
            EvidenceStatus.CLOSED, principal.actor, now)
        session.add(request)
        await audit.record(session, principal.actor, "evidence.close", request.id)
        await session.commit()
    return request


async def by_slug(session: AsyncSession, slug: str) -> EvidenceRequest | None:
    return (await session.exec(select(EvidenceRequest)
                               .where(EvidenceRequest.slug == slug))).first()


async def requests_for(session: AsyncSession,
                       principal: Principal) -> list[tuple[EvidenceRequest, int]]:
    """The requests this police principal sees, newest first, each with its tip count."""
    require_police(principal)
    counts = (select(Tip.evidence_request_id, func.count().label("tips"))
              .group_by(col(Tip.evidence_request_id)).subquery())
    query = (select(EvidenceRequest, func.coalesce(counts.c.tips, 0))
             .join(counts, counts.c.evidence_request_id == EvidenceRequest.id, isouter=True)
             .order_by(col(EvidenceRequest.created_at).desc()))
    if not principal.hub_admin:
        query = query.where(EvidenceRequest.organisation_id == principal.organisation_id)
    return [(request, int(tips)) for request, tips in (await session.exec(query)).all()]


def page_path(request: EvidenceRequest) -> str:
    return f"/tips/{request.slug}"


def request_json(request: EvidenceRequest, public_url: str,
                 tips: int | None = None) -> dict[str, Any]:
    """A request as police read it over the API."""
    data: dict[str, Any] = {
        "id": request.id, "slug": request.slug,
        "url": public_url.rstrip("/") + page_path(request),
        "organisation_id": request.organisation_id, "title": request.title,
        "description": request.description, "area": request.area,
        "starts": request.starts.isoformat() if request.starts else None,
        "ends": request.ends.isoformat() if request.ends else None,
        "status": request.status, "created_by": request.created_by,
        "created": request.created_at.isoformat(),
        "closed_by": request.closed_by,
        "closed": request.closed_at.isoformat() if request.closed_at else None}
    if tips is not None:
        data["tips"] = tips
    return data
