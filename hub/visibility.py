"""Which alerts a principal may see, as one SQL condition for every query that lists or
fetches alerts (the API, the pages, the live feed's replay)."""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, exists, false, or_, true
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub.access import Principal
from hub.errors import NotFound
from hub.models import Alert, AlertStatus, Delivery
from hub.targeting import FEED


def visible(principal: Principal) -> ColumnElement[bool]:
    """SQL condition: the alert is one this principal may see (published or their own)."""
    if principal.hub_admin:
        return true()
    if principal.organisation_id is None:
        return false()
    targeted = exists(
        select(Delivery.id).where(
            col(Delivery.alert_id) == Alert.id,
            col(Delivery.channel) == FEED,
            col(Delivery.organisation_id) == principal.organisation_id,
            or_(col(Delivery.contact_id).is_(None),
                col(Delivery.contact_id) == principal.contact_id),
        )
    )
    own = col(Alert.sender_org_id) == principal.organisation_id
    return or_(own, and_(col(Alert.status) == AlertStatus.PUBLISHED, targeted))


async def visible_alert(session: AsyncSession, principal: Principal, alert_id: str) -> Alert:
    """The alert if this principal may see it; otherwise NotFound, never a hint it exists."""
    result = await session.exec(
        select(Alert).where(col(Alert.id) == alert_id, visible(principal))
    )
    alert = result.first()
    if alert is None:
        raise NotFound("no such alert")
    return alert
