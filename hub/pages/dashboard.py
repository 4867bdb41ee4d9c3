"""An alert's live dashboard and the approval queue, for police staff."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub import incidents
from hub.access import POLICE_PAGES, allow, pages_for
from hub.errors import NotFound
from hub.geo import describe_area
from hub.http import CLOCK, SESSIONS, principal_of
from hub.models import Alert, AlertStatus, AuditEvent
from hub.pages.render import render
from partners.models import Role, User

routes = web.RouteTableDef()


@routes.get("/alerts/{id}")
@allow(POLICE_PAGES)
async def alert_page(request: web.Request) -> web.Response:
    principal = principal_of(request)
    async with request.app[SESSIONS]() as session:
        try:
            # The page follows the whole chain, whichever message of it was opened.
            messages = await incidents.chain_of(session, principal, request.match_info["id"])
        except NotFound:
            return render(request, "dashboard/missing", status=404)
        root = messages[0]
        names = await incidents.names_reached(session, principal, root)
        state, why = await incidents.state_now(session, messages, request.app[CLOCK]())
        # While it waits for approval: whom it would reach, and whether the viewer may take
        # it back (its author only).
        waiting = root.status == AlertStatus.PENDING
        would_reach = (await _submitted_reach(session, [root.id])).get(root.id, {}) \
            if waiting else None
    may_withdraw = waiting and root.created_by == principal.actor
    may_revise = (principal.role is Role.PUBLISHER
                  and principal.organisation_id == root.sender_org_id)
    from_cap = newest_cap(messages)
    return render(request, "dashboard/alert", scripts=["dashboard.js"], maps=True,
                  alert=root, names=names, may_revise=may_revise,
                  state=incidents.describe(state, why), would_reach=would_reach,
                  may_withdraw=may_withdraw,
                  sender=messages[-1].sender_name or names.get(root.sender_org_id or "", "—"),
                  latest=messages[-1], places=named_places(messages),
                  cap_message=from_cap, cap=from_cap.cap if from_cap else None,
                  link=web_link)


def newest_cap(messages: Sequence[Alert]) -> Alert | None:
    """The newest message of a chain that came in as CAP: the one the CAP panel shows."""
    return next((message for message in reversed(messages) if message.cap), None)


def named_places(messages: Sequence[Alert]) -> list[dict[str, Any]]:
    """The places the newest CAP message of a chain names (each `<area>` once, whichever
    language it is written in): all there is of an area that has no geometry."""
    from_cap = newest_cap(messages)
    if from_cap is None or from_cap.cap is None:
        return []
    seen: list[dict[str, Any]] = []
    for info in from_cap.cap.get("infos") or []:
        for area in info.get("areas") or []:
            place = {"description": area.get("description") or "",
                     "geocodes": area.get("geocodes") or []}
            if place not in seen:
                seen.append(place)
    return seen


def web_link(uri: str | None) -> str | None:
    """A URI fit for a link from our pages: http(s) only, never `javascript:` or `data:`."""
    if uri and uri.split(":", 1)[0].lower() in ("http", "https"):
        return uri
    return None


@dataclass(frozen=True)
class Held:
    """A pending alert as the approval queue shows it."""

    alert: Alert
    author: str
    reach: dict[str, int]
    own: bool  # the viewer wrote it, so may not approve it

    @property
    def tlp_class(self) -> str:
        return "tlp-" + self.alert.tlp.removeprefix("TLP:").lower().replace("+", "-")

    @property
    def severity_class(self) -> str:
        return f"sev-{self.alert.severity.lower()}"

    @property
    def area_text(self) -> str:
        return describe_area(self.alert.area)

    @property
    def places(self) -> list[dict[str, Any]]:
        return named_places([self.alert])


@routes.get("/approvals")
@allow(pages_for(Role.APPROVER))
async def approval_page(request: web.Request) -> web.Response:
    principal = principal_of(request)
    async with request.app[SESSIONS]() as session:
        pending = (await session.exec(
            select(Alert).where(col(Alert.sender_org_id) == principal.organisation_id,
                                col(Alert.status) == AlertStatus.PENDING)
            .order_by(col(Alert.created_at), col(Alert.id)))).all()
        reach = await _submitted_reach(session, [alert.id for alert in pending])
        authors = await _authors(session, {alert.created_by for alert in pending})
    held = [Held(alert, authors.get(alert.created_by, "an API token"),
                 reach.get(alert.id, {}), alert.created_by == principal.actor)
            for alert in pending]
    return render(request, "dashboard/approvals", scripts=["dashboard.js"], maps=True,
                  held=held)


async def _submitted_reach(session: AsyncSession, alert_ids: list[str]
                           ) -> dict[str, dict[str, int]]:
    """Whom each held alert would reach, as counted when it was submitted."""
    events = await session.exec(select(AuditEvent).where(
        col(AuditEvent.action) == "alert.submit", col(AuditEvent.subject).in_(alert_ids)))
    return {event.subject: {key: int(event.detail.get(key, 0))
                            for key in ("organisations", "contacts", "residents")}
            for event in events.all()}


async def _authors(session: AsyncSession, actors: set[str]) -> dict[str, str]:
    """Who wrote each alert: a person's name and address; systems stay `an API token`."""
    user_ids = [actor.removeprefix("user:") for actor in actors if actor.startswith("user:")]
    users = await session.exec(select(User).where(col(User.id).in_(user_ids)))
    return {f"user:{user.id}": f"{user.name} ({user.email})" for user in users.all()}
