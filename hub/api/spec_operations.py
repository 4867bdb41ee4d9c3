"""The OpenAPI document's operations: each route's handler, body, answers, errors and security."""

from __future__ import annotations

from typing import Any

from hub import reports
from hub.api.alerts import DEFAULT_PAGE, MAX_PAGE, MAX_SINCE
from hub.api.spec_schemas import Schema, ref
from hub.cap import MAX_DOCUMENT_BYTES
from hub.media import MIME_TYPES
from partners.accounts import INVITATION_TTL
from partners.residents import CONFIRM_WITHIN

COOKIE: list[dict[str, list[str]]] = [{"cookieAuth": []}]
RESIDENT: list[dict[str, list[str]]] = [{"subscriptionLink": []}]
PUBLIC: list[dict[str, list[str]]] = []
SET_COOKIE = {"Set-Cookie": {
    "schema": {"type": "string"},
    "description": "a new session cookie (`vigil_session`, `__Host-vigil_session` over HTTPS) "
                   "and CSRF cookie (`vigil_csrf` / `__Host-vigil_csrf`): HttpOnly, "
                   "SameSite=Lax, Path=/"}}


def json_content(schema: Schema) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


def answer(description: str, schema: Schema | None = None,
           headers: dict[str, Any] | None = None) -> dict[str, Any]:
    response: dict[str, Any] = {"description": description}
    if headers:
        response["headers"] = headers
    return {**response, "content": json_content(schema)} if schema else response


def operation(handler: str, tag: str, summary: str, ok: dict[str, Any],
              *errors: int, body: str | None = None, **extra: Any) -> dict[str, Any]:
    """One operation; `handler` is the aiohttp handler's name, used as its operationId."""
    responses = {**ok, **{str(s): {"$ref": f"#/components/responses/{s}"} for s in errors}}
    op: dict[str, Any] = {"operationId": handler, "tags": [tag], "summary": summary,
                          "responses": responses, **extra}
    if body is not None:
        op["requestBody"] = {"required": True, "content": json_content(ref(body))}
    return op


def optional_body(name: str) -> dict[str, Any]:
    return {"required": False, "content": json_content(ref(name))}


def by_id(**operations: dict[str, Any]) -> dict[str, Any]:
    """A path item whose path ends in or contains `{id}`."""
    return {"parameters": [{"$ref": "#/components/parameters/id"}], **operations}


def listing(name: str) -> Schema:
    return {"type": "array", "items": ref(name)}


def organisation_paths() -> dict[str, Any]:
    return {
        "/api/v1/organisations": {
            "post": operation("organisation_create", "organisations",
                              "Enrol an organisation with its sites (hub admin).",
                              {"201": answer("Enrolled.", ref("Organisation"))},
                              401, 403, 409, 422, body="OrganisationCreate"),
            "get": operation("organisation_list", "organisations",
                             "Organisations by name: all for a hub admin, else the caller's.",
                             {"200": answer("The organisations.", listing("Organisation"))},
                             401, 403),
        },
        "/api/v1/organisations/{id}": by_id(get=operation(
            "organisation_show", "organisations", "One organisation (hub admin or a member).",
            {"200": answer("The organisation.", ref("Organisation"))}, 401, 403, 404)),
        "/api/v1/organisations/{id}/contacts": by_id(
            post=operation("contact_create", "contacts",
                           "Add a contact (hub admin or this organisation's admin).",
                           {"201": answer("Added.", ref("Contact"))}, 401, 403, 404, 422,
                           body="ContactCreate"),
            get=operation("contact_list", "contacts",
                          "The organisation's contacts by tier and name (hub admin or this "
                          "organisation's admin).",
                          {"200": answer("The contacts.", listing("Contact"))}, 401, 403, 404)),
        **site_contact_paths(),
    }


def site_contact_paths() -> dict[str, Any]:
    admin = "(hub admin or this organisation's admin; another organisation's is not found)"
    referenced = answer("`referenced`: the contact has deliveries, acknowledgements, field "
                        "reports, an account, API tokens or invitations, kept as history; "
                        "`detail` names which.", ref("Error"))
    return {
        "/api/v1/organisations/{id}/sites": by_id(post=operation(
            "site_create", "organisations", f"Add a site to the organisation {admin}.",
            {"201": answer("Added.", ref("Site")),
             "409": answer("`too_many_sites`: the organisation already has the most sites "
                           "allowed.", ref("Error"))},
            401, 403, 404, 422, body="SiteCreate")),
        "/api/v1/sites/{id}": by_id(delete=operation(
            "site_delete", "organisations",
            f"Remove a site: alerts no longer reach the organisation there {admin}.",
            {"200": answer("Removed; the site as it was.", ref("Site"))}, 401, 403, 404)),
        "/api/v1/contacts/{id}": by_id(
            patch=operation(
                "contact_update", "contacts",
                f"Change a contact's name, addresses or tier {admin}. Checked as a new "
                "contact is; null or an empty string clears an address.",
                {"200": answer("Changed.", ref("Contact"))}, 401, 403, 404, 409, 422,
                body="ContactUpdate"),
            delete=operation(
                "contact_delete", "contacts",
                f"Remove a contact that has no history {admin}.",
                {"200": answer("Removed; the contact as it was.", ref("Contact")),
                 "409": referenced}, 401, 403, 404)),
    }


def token_paths() -> dict[str, Any]:
    return {
        "/api/v1/tokens": {"post": operation(
            "token_create", "tokens",
            "Issue an API token (admin). An organisation's own admin may issue only partner "
            "and admin tokens for its organisation. Publisher and approver tokens belong to "
            "police organisations only (422 naming `role` otherwise).",
            {"201": answer("Issued; the secret is shown this once.", ref("TokenIssued"))},
            401, 403, 404, 422, body="TokenCreate")},
        "/api/v1/tokens/{id}/revoke": by_id(post=operation(
            "token_revoke", "tokens",
            "Revoke an API token at once (hub admin or the token's organisation's admin). "
            "Revoking it again changes nothing; the bootstrap token is not revoked here.",
            {"200": answer("Revoked.", ref("TokenRevoked"))}, 401, 403, 404)),
        "/api/v1/organisations/{id}/tokens": by_id(get=operation(
            "token_list", "tokens",
            "The organisation's API tokens, newest first, revoked ones included, never their "
            "secrets (hub admin or this organisation's admin).",
            {"200": answer("The tokens.", listing("Token"))}, 401, 403, 404)),
    }


def session_paths() -> dict[str, Any]:
    signed_in = answer("The step reached, with a new session.", ref("SignedIn"), SET_COOKIE)
    return {
        "/api/v1/session": {
            "post": operation(
                "session_create", "sessions",
                "Sign in with a password (and, to finish in one step, the authenticator "
                "code). Admins, publishers and approvers then need a second factor: until "
                "`step` is `done` the session may only finish signing in. Failed tries slow "
                "and then block the account and the address.",
                {"201": signed_in}, 401, 403, 422, 429, body="SessionCreate",
                security=PUBLIC),
            "get": operation(
                "session_show", "sessions", "The browser's session and a CSRF token.",
                {"200": answer("The session.", ref("Session"))}, 401, 403, security=COOKIE),
            "delete": operation(
                "session_delete", "sessions", "Sign out: end the session, clear its cookie.",
                {"200": answer("Signed out.", ref("SignedOut"), SET_COOKIE)}, 401, 403,
                security=COOKIE),
        },
        "/api/v1/session/mfa": {"post": operation(
            "session_mfa", "sessions",
            "Finish signing in with the authenticator code or a recovery code; the session "
            "is replaced by a new one.",
            {"200": signed_in}, 401, 403, 422, 429, body="SecondFactor", security=COOKIE)},
        "/api/v1/session/mfa/enrol": {"post": operation(
            "mfa_enrol", "sessions",
            "Start setting up an authenticator (a new, unconfirmed seed). Replacing one that "
            "is set up needs a session that gave the current one's code. No body.",
            {"200": answer("The seed to scan.", ref("MfaEnrolment"))}, 401, 403,
            security=COOKIE)},
        "/api/v1/session/mfa/confirm": {"post": operation(
            "mfa_confirm", "sessions",
            "Turn the new authenticator on with a code from it: new recovery codes and a new "
            "session.",
            {"200": answer("On; the recovery codes are shown this once.", ref("MfaConfirmed"),
                           SET_COOKIE)},
            401, 403, 422, body="MfaConfirm", security=COOKIE)},
    }


def user_paths() -> dict[str, Any]:
    changed = answer("The account as it is now.", ref("UserChanged"))
    return {
        "/api/v1/invitations": {"post": operation(
            "invitation_create", "users",
            "Invite a person to an organisation (hub admin or this organisation's admin, who "
            "may invite only partners and admins). Publishers and approvers belong to police "
            "organisations only (422 naming `role` otherwise). The invitation is valid for "
            f"{INVITATION_TTL.days} days.",
            {"201": answer("Invited; send the person the link.", ref("Invitation"))},
            401, 403, 404, 409, 422, body="InvitationCreate")},
        "/api/v1/invitations/accept": {"post": operation(
            "invitation_accept", "users",
            "Create the account an invitation offers (anyone holding its secret, once).",
            {"201": answer("The new account.", ref("User"))}, 403, 404, 409, 422, 429,
            body="InvitationAccept", security=PUBLIC)},
        "/api/v1/users": {"get": operation(
            "user_list", "users",
            "Accounts by email: all for a hub admin, else the admin's organisation's.",
            {"200": answer("The accounts.", listing("User"))}, 401, 403)},
        "/api/v1/users/{id}/disable": by_id(post=operation(
            "user_disable", "users",
            "Disable an account and end all its sessions at once (hub admin or its "
            "organisation's admin; not one's own account).",
            {"200": changed}, 401, 403, 404, 409)),
        "/api/v1/users/{id}/enable": by_id(post=operation(
            "user_enable", "users",
            "Enable a disabled account (hub admin or its organisation's admin).",
            {"200": changed}, 401, 403, 404)),
    }


def alert_list_parameters() -> list[dict[str, Any]]:
    return [
        {"name": "since", "in": "query", "required": False,
         "description": "page forward: only alerts with a higher seq, the oldest first",
         "schema": {"type": "integer", "minimum": 0, "maximum": MAX_SINCE}},
        {"name": "limit", "in": "query", "required": False,
         "description": "at most this many alerts",
         "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE,
                    "default": DEFAULT_PAGE}},
    ]


def alert_paths() -> dict[str, Any]:
    return {
        "/api/v1/alerts": {
            "post": operation("alert_create", "alerts",
                              "Publish an alert (publisher with an organisation). An alert "
                              "that `VIGIL_APPROVAL_FOR` names (by TLP label or severity) is "
                              "held instead: status `pending`, no seq, reaching nobody until "
                              "an approver of the same service approves it.",
                              {"201": answer("Published, or held for approval.",
                                             ref("AlertCreated"))},
                              401, 403, 422, body="AlertCreate"),
            "get": operation("alert_list", "alerts",
                             "Alerts the caller may see: newest first, or with `since` the "
                             "oldest above it first, so paging forward skips none.",
                             {"200": answer("The alerts.", listing("Alert"))}, 401, 403, 422,
                             parameters=alert_list_parameters()),
        },
        "/api/v1/alerts/preview": {"post": operation(
            "alert_preview", "alerts",
            "Whom an alert body would reach now, by channel, and whether it would wait for "
            "approval; checked exactly as a publish, and nothing is written.",
            {"200": answer("The reach.", ref("ReachPreview"))}, 401, 403, 422,
            body="AlertCreate")},
        "/api/v1/areas": {"get": operation(
            "area_list", "alerts", "Preset alert areas: each business improvement area's "
            "boundary.", {"200": answer("The areas.", listing("PresetArea"))}, 401, 403)},
        "/api/v1/sites": {"get": operation(
            "site_list", "alerts", "Every partner site with its organisation, as the "
            "publisher's map shows them.",
            {"200": answer("The sites.", listing("PartnerSite"))}, 401, 403)},
        "/api/v1/alerts/{id}": by_id(get=operation(
            "alert_show", "alerts", "One alert the caller may see.",
            {"200": answer("The alert.", ref("Alert"))}, 401, 403, 404)),
        "/api/v1/alerts/{id}/chain": by_id(get=operation(
            "alert_chain", "alerts",
            "The incident any message belongs to, in one answer: its current state, every "
            "message the caller may see, the names of the organisations, deliveries, answers, "
            "field reports, escalations and the CAP details. The sender and hub admins see "
            "everything; a partner its own organisation's part.",
            {"200": answer("The incident.", ref("Incident"))}, 401, 403, 404)),
        **approval_paths(),
        "/api/v1/alerts/{id}/update": by_id(post=operation(
            "alert_update", "alerts",
            "Send a CAP Update of the alert (its sending organisation's publisher): it reaches "
            "everyone the alert reached, on the same channels, plus anyone a new area covers.",
            {"201": answer("Sent.", ref("AlertRevised"))}, 401, 403, 404, 409, 422,
            body="AlertUpdate")),
        "/api/v1/alerts/{id}/cancel": by_id(post=operation(
            "alert_cancel", "alerts",
            "Send a CAP Cancel (all-clear) of the alert: it reaches everyone the alert reached "
            "and stops its pending escalations. The body is optional.",
            {"201": answer("Sent.", ref("AlertRevised"))}, 401, 403, 404, 409, 422,
            requestBody=optional_body("AlertCancel"))),
    }


def cap_paths() -> dict[str, Any]:
    xml = {"type": "string", "description": "a CAP 1.2 (or 1.1) XML document"}
    cap_content = {kind: {"schema": xml} for kind in ("application/cap+xml", "application/xml")}
    return {
        "/api/v1/cap": {"post": operation(
            "cap_import", "cap",
            "Import a CAP 1.2 (or 1.1) document as its sending organisation's publisher. It "
            "is parsed without DTDs, entities or network access, checked against the CAP "
            "rules, and its XML signature (if any) verified. An Alert is published like "
            "`POST /alerts` (approval rules included); an Update or Cancel whose "
            "`<references>` name an alert here becomes a revision of it, reaching everyone it "
            "reached. Test, System and Draft messages, expired ones and cancels of unknown "
            "alerts are kept and reach nobody (`withheld` says why).",
            {"201": answer("Imported.", ref("CapImported")),
             "413": answer(f"The document is larger than {MAX_DOCUMENT_BYTES // 2**20} MiB.",
                           ref("Error")),
             "415": answer("Not sent as application/cap+xml or application/xml.",
                           ref("Error")),
             "422": answer("Every CAP rule the document breaks, with element paths.",
                           ref("CapInvalid"))},
            401, 403, 409,
            requestBody={"required": True, "content": {**cap_content,
                                                       "text/xml": {"schema": xml}}})},
        "/api/v1/alerts/{id}/attachments/{n}": {
            "parameters": [{"$ref": "#/components/parameters/id"},
                           {"name": "n", "in": "path", "required": True,
                            "schema": {"type": "string"}}],
            "get": operation("alert_attachment", "alerts",
                             "A field report file the alert carries, as its audience sees it: "
                             "the copy with location metadata blanked.",
                             {"200": report_file_answer()}, 401, 403, 404)},
        "/api/v1/alerts/{id}/cap": by_id(get=operation(
            "alert_cap", "cap",
            "The alert as a CAP 1.2 document: an imported alert exactly as it came (its "
            "signature intact); any other rendered afresh with `<references>` to the earlier "
            "messages of its chain, and signed when the hub has `VIGIL_CAP_SIGNING_KEY`.",
            {"200": {"description": "The CAP document.", "content": cap_content}},
            401, 403, 404)),
    }


def approval_paths() -> dict[str, Any]:
    return {
        "/api/v1/alerts/{id}/approve": by_id(post=operation(
            "alert_approve", "alerts",
            "Publish a pending alert (an approver of the sending service, never the token or "
            "person who wrote it). No body.",
            {"200": answer("Published.", ref("AlertCreated"))}, 401, 403, 404, 409)),
        "/api/v1/alerts/{id}/reject": by_id(post=operation(
            "alert_reject", "alerts",
            "Reject a pending alert (an approver of the sending service): it is never sent. "
            "The body is optional.",
            {"200": answer("Rejected.", ref("Alert"))}, 401, 403, 404, 409, 422,
            requestBody=optional_body("AlertReject"))),
        "/api/v1/alerts/{id}/withdraw": by_id(post=operation(
            "alert_withdraw", "alerts",
            "Take back a pending alert (the token or person who wrote it): it is kept, sent "
            "to nobody, and can no longer be approved. No body.",
            {"200": answer("Withdrawn.", ref("Alert"))}, 401, 403, 404, 409)),
    }


def ack_delivery_paths() -> dict[str, Any]:
    return {
        "/api/v1/alerts/{id}/acks": by_id(
            post=operation("ack_create", "acks",
                           "Acknowledge an alert (partner). Repeating an answer changes "
                           "nothing; a new status replaces the responder's previous one.",
                           {"201": answer("Recorded.", ref("Ack"))}, 401, 403, 404, 422,
                           body="AckCreate"),
            get=operation("ack_list", "acks",
                          "The alert's acks: all for the sender and hub admins, otherwise "
                          "the caller's organisation's own.",
                          {"200": answer("The acks, oldest first.", listing("Ack"))},
                          401, 403, 404)),
        "/api/v1/alerts/{id}/deliveries": by_id(get=operation(
            "delivery_list", "deliveries",
            "The alert's deliveries: all for the sender and hub admins, otherwise the "
            "caller's organisation's own.",
            {"200": answer("The deliveries.", listing("Delivery"))}, 401, 403, 404)),
    }


def report_file_answer() -> dict[str, Any]:
    media = {mime: {"schema": {"type": "string", "contentMediaType": mime}}
             for mime in MIME_TYPES.values()}
    disposition = {"schema": {"type": "string"},
                   "description": "`attachment`, with a file name made from the report id"}
    return {"description": "The file, typed by what its bytes are. The reporting "
                           "organisation and the sending service get the original; others "
                           "a copy with GPS EXIF, XMP and location boxes blanked.",
            "headers": {"Content-Disposition": disposition}, "content": media}


def report_paths() -> dict[str, Any]:
    upload = {"required": True, "content": {
        "multipart/form-data": {"schema": ref("ReportCreate")},
        "application/x-www-form-urlencoded": {"schema": ref("ReportFields")}}}
    alone = {"required": True, "content": {
        "multipart/form-data": {"schema": ref("ReportAloneCreate")},
        "application/x-www-form-urlencoded": {"schema": ref("ReportAloneFields")}}}
    return {
        "/api/v1/alerts/{id}/reports": by_id(
            post=operation("report_create", "reports",
                           "Send a field report on a published alert the partner received: "
                           "text, where, when it was seen, and any number of photos or "
                           "videos.",
                           {"201": answer("Stored.", ref("Report"))},
                           401, 403, 404, 413, 415, 422, requestBody=upload),
            get=operation("report_list", "reports",
                          "The alert's reports, oldest first: all for the sending service, "
                          "otherwise the caller's organisation's own and those shared.",
                          {"200": answer("The reports.", listing("Report"))}, 401, 403, 404)),
        "/api/v1/reports": {
            "post": operation(
                "standalone_report_create", "reports",
                "Send a field report on no alert (a partner): text, where, when it was seen, "
                "its own label, and any number of photos or videos. Every police service "
                "sees it.", {"201": answer("Stored.", ref("Report"))},
                401, 403, 413, 415, 422, requestBody=alone),
            "get": operation(
                "report_index", "reports",
                "Reports across alerts, newest first. Police: those on their service's alerts "
                "and those on none (hub admins: all); a partner: its own and those forwarded "
                "to it.", {"200": answer("The reports.", listing("Report"))}, 401, 403, 422,
                parameters=[
                    {"name": "status", "in": "query", "required": False,
                     "schema": ref("ReportStatus")},
                    {"name": "limit", "in": "query", "required": False,
                     "schema": {"type": "integer", "minimum": 1, "maximum": reports.MAX_PAGE,
                                "default": reports.DEFAULT_PAGE}}])},
        "/api/v1/reports/{id}": by_id(patch=operation(
            "report_review", "reports",
            "Mark where police are with a report (`new`, `reviewed`, `actioned`); who and when "
            "are kept, and each change is in the audit trail (the police who received it).",
            {"200": answer("Changed.", ref("Report"))}, 401, 403, 404, 422,
            body="ReportReview")),
        "/api/v1/reports/{id}/forward": by_id(post=operation(
            "report_forward", "reports",
            "Pass a report to more partner organisations (a publisher of the police who "
            "received it); they see it as a shared report is seen, without who sent it and "
            "with the files' location blanked. A report on an alert goes only to "
            "organisations the alert reached; TLP:RED and AMBER+STRICT are not forwarded "
            "(409).", {"200": answer("Forwarded.", ref("Report"))}, 401, 403, 404, 409, 422,
            body="ReportForward")),
        "/api/v1/reports/{id}/file": by_id(get=operation(
            "report_file", "reports", "A report's first photo or video.",
            {"200": report_file_answer()}, 401, 403, 404)),
        "/api/v1/reports/{id}/files/{file}": {
            "parameters": [{"$ref": "#/components/parameters/id"},
                           {"name": "file", "in": "path", "required": True,
                            "schema": {"type": "string"}}],
            "get": operation("report_file_show", "reports", "One of a report's files.",
                             {"200": report_file_answer()}, 401, 403, 404)},
        "/api/v1/reports/{id}/share": by_id(post=operation(
            "report_share", "reports",
            "Share a report with every organisation the alert reached, without who sent it "
            "and with the file's location blanked (a publisher of the sending service). "
            "Sharing again changes nothing.",
            {"200": answer("Shared.", ref("Report"))}, 401, 403, 404)),
    }


def account_paths() -> dict[str, Any]:
    return {**session_paths(), **user_paths()}


def subscription_paths() -> dict[str, Any]:
    mine = answer("The subscription.", ref("Subscription"))
    return {
        "/api/v1/subscriptions": {"post": operation(
            "subscription_create", "subscriptions",
            "A resident asks for public alerts around a point (anyone, no account). Nothing "
            "is sent to the address until its owner follows the emailed link (double opt-in).",
            {"202": answer("Pending; the confirmation link was emailed.",
                           ref("SubscriptionRequested"))},
            403, 409, 422, 429, body="SubscriptionCreate", security=PUBLIC)},
        "/api/v1/subscriptions/confirm": {"post": operation(
            "subscription_confirm", "subscriptions",
            "Confirm a subscription with the secret of its emailed link, within "
            f"{CONFIRM_WITHIN.days} days of asking; confirming again changes nothing.",
            {"200": answer("Active.", ref("Subscription"))}, 403, 404, 422, 429,
            body="SubscriptionConfirm", security=PUBLIC)},
        "/api/v1/subscription": {
            "get": operation("subscription_show", "subscriptions",
                             "The resident's own subscription (its link's secret as the "
                             "bearer token).", {"200": mine}, 401, 403, security=RESIDENT),
            "delete": operation("subscription_cancel", "subscriptions",
                                "Unsubscribe: the link stops working at once.",
                                {"200": answer("Cancelled.", ref("Subscription"))}, 401, 403,
                                security=RESIDENT),
        },
    }
