"""Access control in one place: who a request is, and which alerts and rows it may see."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, exists, false, or_, true
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub.models import Alert, Delivery
from partners import residents
from partners.models import (
    STAFF_ROLES,
    Organisation,
    OrgKind,
    Role,
    SubscriptionStatus,
    User,
)


class Unauthenticated(Exception):
    """No credential, or one that is not valid."""


class Forbidden(Exception):
    """A valid credential whose role may not do this."""


@dataclass(frozen=True)
class Principal:
    actor: str  # `token:<id>` for a system, `user:<id>` for a person; written to the audit
    role: Role
    organisation_id: str | None
    contact_id: str | None
    hub_admin: bool  # the bootstrap admin and admins of a police service run the whole hub

    @property
    def responder(self) -> str:
        """Who an acknowledgement is from: the named contact, else the system token."""
        return f"contact:{self.contact_id}" if self.contact_id else self.actor

    def require(self, *roles: Role) -> None:
        if self.role not in roles:
            allowed = " or ".join(role.value for role in roles)
            raise Forbidden(f"this needs the {allowed} role")

    def require_org_admin(self, organisation_id: str) -> None:
        """Hub admins manage every organisation; an organisation's admin manages its own."""
        if self.hub_admin:
            return
        if self.role is Role.ADMIN and self.organisation_id == organisation_id:
            return
        raise Forbidden("only a hub admin or this organisation's admin may do this")

    def sees_everything_of(self, alert: Alert) -> bool:
        """Hub admins and the sending organisation see every ack and delivery of an alert."""
        return self.hub_admin or (
            self.organisation_id is not None and self.organisation_id == alert.sender_org_id
            and self.role in (Role.ADMIN, Role.PUBLISHER, Role.APPROVER)
        )


async def resident_principal(session: AsyncSession, secret: str) -> Principal:
    """The principal of a resident's confirmed subscription link (API tokens are looked up
    in batches by hub.token_lookup)."""
    subscription = await residents.by_secret(session, secret)
    if subscription is None or subscription.status != SubscriptionStatus.ACTIVE:
        raise Unauthenticated("the subscription link is not valid")
    return Principal(f"resident:{subscription.id}", Role.RESIDENT, None, None, False)


async def person(session: AsyncSession, user: User) -> Principal:
    """The principal of a signed-in person."""
    return Principal(f"user:{user.id}", user.role, user.organisation_id, user.contact_id,
                     await _runs_hub(session, user.role, user.organisation_id))


async def _runs_hub(session: AsyncSession, role: str, organisation_id: str | None) -> bool:
    if role != Role.ADMIN:
        return False
    organisation = None if organisation_id is None else await session.get(Organisation,
                                                                          organisation_id)
    return runs_hub(role, organisation_id, organisation.kind if organisation else None)


def runs_hub(role: str, organisation_id: str | None, organisation_kind: str | None) -> bool:
    """The bootstrap admin (no organisation) and the admins of a police service run the hub."""
    if role != Role.ADMIN:
        return False
    return organisation_id is None or organisation_kind == OrgKind.POLICE


def bearer(header: str | None) -> str | None:
    """The token of an `Authorization: Bearer` header, if there is one."""
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise Unauthenticated("the Authorization header must be 'Bearer <token>'")
    return value.strip()


def visible(principal: Principal) -> ColumnElement[bool]:
    """SQL condition: the alert is one this principal may see (published or their own)."""
    if principal.hub_admin:
        return true()
    if principal.organisation_id is None:
        return false()
    targeted = exists(
        select(Delivery.id).where(
            col(Delivery.alert_id) == Alert.id,
            col(Delivery.channel) == "feed",
            col(Delivery.organisation_id) == principal.organisation_id,
            or_(col(Delivery.contact_id).is_(None),
                col(Delivery.contact_id) == principal.contact_id),
        )
    )
    own = col(Alert.sender_org_id) == principal.organisation_id
    return or_(own, and_(col(Alert.status) == "published", targeted))


def may_receive(principal: Principal, alert: Alert, orgs: set[str], contacts: set[str]) -> bool:
    """The same rule as `visible`, for a live alert whose feed audience is already known."""
    if principal.hub_admin:
        return True
    if principal.organisation_id is None:
        return False
    if principal.organisation_id == alert.sender_org_id:
        return True
    return principal.organisation_id in orgs or principal.contact_id in contacts


class NotFound(Exception):
    """No such thing, or one this principal may not know exists."""


class Conflict(Exception):
    """The request is valid but the thing is no longer in a state that allows it."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code


async def visible_alert(session: AsyncSession, principal: Principal, alert_id: str) -> Alert:
    """The alert if this principal may see it; otherwise NotFound, never a hint it exists."""
    result = await session.exec(
        select(Alert).where(col(Alert.id) == alert_id, visible(principal))
    )
    alert = result.first()
    if alert is None:
        raise NotFound("no such alert")
    return alert


@dataclass(frozen=True)
class Rule:
    """Who may call one endpoint. The guard checks it before the handler runs; handlers then
    check only object-level rights (which alert, which organisation)."""

    public: bool = False  # no credential needed
    roles: frozenset[Role] = frozenset()  # empty: any principal
    hub_admin: bool = False
    browser: bool = False  # needs a browser session; one still before its second factor will do
    # False only for capability URLs (a secret in the path is the whole authority, no cookie
    # is involved): RFC 8058 one-click unsubscribe is POSTed by mail services without Origin.
    csrf: bool = True

    def check(self, principal: Principal | None, has_session: bool) -> None:
        if self.public:
            return
        if self.browser and not has_session:
            if principal is not None:
                raise Forbidden("this needs a signed-in browser session, not an API token")
            raise Unauthenticated("sign in first")
        if self.browser and not self.roles:
            return
        if principal is None:
            raise Unauthenticated("sign in, or send 'Authorization: Bearer <token>'")
        if self.hub_admin and not principal.hub_admin:
            raise Forbidden("only a hub admin may do this")
        if self.roles:
            principal.require(*self.roles)


PUBLIC = Rule(public=True)
# Staff of the hub's organisations; a resident's subscription link opens only its own page.
SIGNED_IN = Rule(roles=STAFF_ROLES)
MFA_STEP = Rule(browser=True)
ACCOUNT = Rule(browser=True, roles=STAFF_ROLES)


def roles(*allowed: Role) -> Rule:
    return Rule(roles=frozenset(allowed))


def pages_for(*allowed: Role) -> Rule:
    """A page for people of these roles, signed in with a browser."""
    return Rule(browser=True, roles=frozenset(allowed))


POLICE_PAGES = pages_for(Role.PUBLISHER, Role.APPROVER, Role.ADMIN)


# Every endpoint, by handler name. An endpoint missing here is refused (deny by default), and
# a test fails when a route has no entry.
POLICY: dict[str, Rule] = {
    # The live feed authenticates inside its handshake (header, first message or cookie).
    "feed_connect": PUBLIC,
    "openapi_show": PUBLIC,
    "health_show": PUBLIC,
    "ready_show": PUBLIC,
    "metrics_show": PUBLIC,  # counts only; keep it off the public internet at the proxy
    "organisation_create": Rule(hub_admin=True),
    "organisation_list": SIGNED_IN,
    "organisation_show": SIGNED_IN,
    "contact_create": roles(Role.ADMIN),
    "contact_list": roles(Role.ADMIN),
    "token_create": roles(Role.ADMIN),
    "token_revoke": roles(Role.ADMIN),
    "invitation_create": roles(Role.ADMIN),
    "invitation_accept": PUBLIC,
    "user_list": roles(Role.ADMIN),
    "user_disable": roles(Role.ADMIN),
    "user_enable": roles(Role.ADMIN),
    "session_create": PUBLIC,
    "session_show": MFA_STEP,
    "session_delete": MFA_STEP,
    "session_mfa": MFA_STEP,
    "mfa_enrol": MFA_STEP,
    "mfa_confirm": MFA_STEP,
    "alert_create": roles(Role.PUBLISHER),
    "alert_list": SIGNED_IN,
    "alert_show": SIGNED_IN,
    "alert_chain": SIGNED_IN,
    "alert_update": roles(Role.PUBLISHER),
    "alert_cancel": roles(Role.PUBLISHER),
    "alert_cap": SIGNED_IN,
    "cap_import": roles(Role.PUBLISHER),
    "alert_approve": roles(Role.APPROVER),
    "alert_reject": roles(Role.APPROVER),
    "alert_withdraw": roles(Role.PUBLISHER),
    "ack_create": roles(Role.PARTNER),
    "ack_list": SIGNED_IN,
    "delivery_list": SIGNED_IN,
    "report_create": roles(Role.PARTNER),
    "report_list": SIGNED_IN,
    "report_file": SIGNED_IN,
    "report_share": roles(Role.PUBLISHER),
    "login_page": PUBLIC,
    "login_submit": PUBLIC,
    "mfa_page": MFA_STEP,
    "mfa_submit": MFA_STEP,
    "enrol_page": MFA_STEP,
    "enrol_submit": MFA_STEP,
    "logout_submit": MFA_STEP,
    "invite_page": PUBLIC,
    "invite_submit": PUBLIC,
    "account_page": ACCOUNT,
    "subscription_create": PUBLIC,
    "subscription_confirm": PUBLIC,
    "subscription_show": roles(Role.RESIDENT),
    "subscription_confirm_page": PUBLIC,
    "subscription_confirm_submit": PUBLIC,
    "subscription_cancel": roles(Role.RESIDENT),
    "alert_preview": roles(Role.PUBLISHER),
    "area_list": SIGNED_IN,
    "site_list": roles(Role.PUBLISHER),
    "site_create": roles(Role.ADMIN),
    "site_delete": roles(Role.ADMIN),
    "contact_update": roles(Role.ADMIN),
    "contact_delete": roles(Role.ADMIN),
    "token_list": roles(Role.ADMIN),
    "static_file": PUBLIC,
    "console_page": ACCOUNT,  # partners are sent on to their desk
    "alert_page": POLICE_PAGES,
    "approval_page": pages_for(Role.APPROVER),
    "desk_page": pages_for(Role.PARTNER, Role.ADMIN),
    "own_organisation_page": pages_for(Role.ADMIN),
    "organisation_page": pages_for(Role.ADMIN),
    "subscribe_page": PUBLIC,
    "subscribe_submit": PUBLIC,
    "manage_page": PUBLIC,
    "manage_submit": PUBLIC,
    "unsubscribe_page": PUBLIC,
    "unsubscribe_submit": Rule(public=True, csrf=False),
    "public_page": PUBLIC,
    "atom_feed": PUBLIC,
    "public_cap": PUBLIC,
    # `vigil demo` only (hub/demo_catcher.py): what its catchers received, and the webhook
    # its chat contacts post to. A demo holds no real people, so these are open.
    "demo_mail_page": PUBLIC,
    "demo_mail_json": PUBLIC,
    "demo_hook": Rule(public=True, csrf=False),
}
