"""What `vigil demo` prints: the URLs, the demo logins and tokens, and a walk-through."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from hub.demo import POLICE, SAMPLE_DESK, SAMPLE_LIFETIME_HOURS, DemoCredentials, sample_alert
from partners.models import Role


def welcome(public_url: str, credentials: DemoCredentials) -> str:
    """What `vigil demo` prints: the URLs, every demo token, and a walk-through to paste."""
    base = public_url.rstrip("/")
    sections = [
        f"Vigil demo hub: downtown Toronto (seeded {credentials.seeded_at:%Y-%m-%d %H:%M} UTC)",
        _urls(base),
        _login_table(base, credentials),
        _token_table(credentials),
        _walkthrough(base, credentials),
    ]
    return "\n\n".join(sections) + "\n"


def _feed_url(base: str) -> str:
    parts = urlsplit(base)
    scheme = "wss" if parts.scheme == "https" else "ws"
    return urlunsplit((scheme, parts.netloc, f"{parts.path}/api/v1/feed", "", ""))


def _urls(base: str) -> str:
    return "\n".join([
        f"  Sign in    {base}/login",
        f"  API        {base}/api/v1   (Authorization: Bearer <token>)",
        f"  Live feed  {_feed_url(base)}",
        f"  Health     {base}/healthz",
        f"  OpenAPI    {base}/api/v1/openapi.json",
    ])


def _login_table(base: str, credentials: DemoCredentials) -> str:
    width = max(len(login.email) for login in credentials.logins)
    lines = [f"Sign in at {base}/login (passwords are new on every start; admin, publisher",
             "and approver set up an authenticator app the first time):", "",
             f"  {'role':<10} {'email':<{width}}  password",
             f"  {'-' * 10} {'-' * width}  {'-' * 8}"]
    lines += [f"  {login.role.value:<10} {login.email:<{width}}  {login.password}"
              for login in credentials.logins]
    return "\n".join(lines)


def _token_table(credentials: DemoCredentials) -> str:
    width = max(len(row.organisation) for row in credentials.rows)
    lines = ["Tokens (new on every start; the previous demo tokens are revoked):", "",
             f"  {'role':<10} {'organisation':<{width}}  token",
             f"  {'-' * 10} {'-' * width}  {'-' * 5}"]
    lines += [f"  {row.role.value:<10} {row.organisation:<{width}}  {row.token}"
              for row in credentials.rows]
    return "\n".join(lines)


def _walkthrough(base: str, credentials: DemoCredentials) -> str:
    publisher = credentials.token(Role.PUBLISHER)
    desk = credentials.token(Role.PARTNER, SAMPLE_DESK)
    body = _json_lines(sample_alert(credentials.seeded_at))
    return f"""\
Walk-through (copy and paste into a shell):

1. In a second terminal, watch the {SAMPLE_DESK} desk's live feed:

{_watch_snippet(base, desk)}

   (or: websocat -H 'Authorization: Bearer {desk}' {_feed_url(base)})

2. Publish the sample alert as {POLICE.name}: it reaches {SAMPLE_DESK} and
   First Canadian Place, not Rogers Centre (its expiry is {SAMPLE_LIFETIME_HOURS} h after seeding):

API={base}/api/v1
cat > vigil-alert.json <<'EOF'
{body}
EOF
curl -sS -w '\\n' -X POST "$API/alerts" -H 'Authorization: Bearer {publisher}' \\
  -H 'Content-Type: application/json' --data @vigil-alert.json | tee vigil-published.json
ALERT_ID=$(python3 -c 'import json; print(json.load(open("vigil-published.json"))["id"])')

3. Acknowledge it as {SAMPLE_DESK}, then see deliveries and acks as the publisher:

curl -sS -w '\\n' -X POST "$API/alerts/$ALERT_ID/acks" -H 'Authorization: Bearer {desk}' \\
  -H 'Content-Type: application/json' -d '{{"status": "acknowledged", "note": "Lobby cleared."}}'
curl -sS -w '\\n' "$API/alerts/$ALERT_ID/deliveries" -H 'Authorization: Bearer {publisher}'
curl -sS -w '\\n' "$API/alerts/$ALERT_ID/acks" -H 'Authorization: Bearer {publisher}'"""


def _json_lines(body: dict[str, Any]) -> str:
    """JSON with one top-level field a line: readable in a terminal, still one valid document."""
    fields = ",\n".join(f"  {json.dumps(key)}: {json.dumps(value)}" for key, value in body.items())
    return "{\n" + fields + "\n}"


def _watch_snippet(base: str, token: str) -> str:
    return f"""\
python3 - <<'EOF'
import asyncio

import aiohttp


async def watch() -> None:
    headers = {{"Authorization": "Bearer {token}"}}
    async with aiohttp.ClientSession() as http:
        async with http.ws_connect("{_feed_url(base)}", headers=headers) as ws:
            await ws.send_json({{"type": "resume", "since": 0}})
            async for message in ws:
                print(message.data, flush=True)

try:
    asyncio.run(watch())
except KeyboardInterrupt:
    pass
EOF"""
