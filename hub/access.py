"""Access control in one place: who a request is, and which alerts and rows it may see."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlmodel.ext.asyncio.session import AsyncSession

from hub.errors import Forbidden, NotFound, Unauthenticated
from hub.models import Alert
from partners import residents
from partners.models import (
    STAFF_ROLES,
    Organisation,
    OrgKind,
    Role,
    SubscriptionStatus,
    User,
)


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

    def require_member(self, organisation_id: str) -> None:
        """Another organisation is as unknown as one that does not exist (404), except to a
        hub admin."""
        if not self.hub_admin and self.organisation_id != organisation_id:
            raise NotFound("no such organisation")

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
    # True for the endpoints that take tips: nothing of the caller's address is written,
    # not even when it is refused (the audit names it `public:tip`).
    anonymous: bool = False

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
# Tip endpoints anyone may call, without a trace of who called.
TIPSTER = Rule(public=True, anonymous=True)
# An upload's URL (tus) and a receipt code are capability URLs: the secret in the path is
# the whole authority and no cookie is involved, so a cross-site request gains nothing it
# did not already hold (and tus clients outside a browser send no Origin or CSRF token).
TIPSTER_CAPABILITY = Rule(public=True, csrf=False, anonymous=True)
# Police roles; handlers then admit only hub admins and police publishers and approvers.
TIP_READERS = Rule(roles=frozenset({Role.ADMIN, Role.PUBLISHER, Role.APPROVER}))


# Each route declares its rule beside it, with `@allow(rule)` under its route decorator; a
# route without one is refused (deny by default), and a test fails when one has none.
RULE_ATTRIBUTE = "_vigil_access_rule"
H = TypeVar("H", bound=Callable[..., Any])


def allow(rule: Rule) -> Callable[[H], H]:
    """Declare who may call the handler it decorates (the handler itself is unchanged)."""
    def declare(handler: H) -> H:
        setattr(handler, RULE_ATTRIBUTE, rule)
        return handler
    return declare


def rule_of(handler: object) -> Rule | None:
    """The rule a route's handler declares, if it declares one."""
    rule = getattr(handler, RULE_ATTRIBUTE, None)
    return rule if isinstance(rule, Rule) else None
