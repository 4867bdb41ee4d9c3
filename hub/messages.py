"""Message bodies: render an alert for a channel from the jinja2 templates in templates/."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2

from channels.base import Message
from hub.cap_alerts import texts
from hub.models import Alert
from hub.tlp import EXPLANATIONS, Tlp
from partners.residents import unsubscribe_token
from partners.validation import one_line

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"
TLP_COLOURS = {Tlp.RED: "#FF2B2B", Tlp.AMBER_STRICT: "#FFC000", Tlp.AMBER: "#FFC000",
               Tlp.GREEN: "#33FF00", Tlp.CLEAR: "#FFFFFF"}
KIND_LABELS = {"Alert": "", "Update": "UPDATE: ", "Cancel": "CANCELLED: "}


class Renderer:
    """Renders alerts; one per process, templates compiled once."""

    def __init__(self, public_url: str, directory: Path = TEMPLATES, *,
                 secret_key: str = "") -> None:
        self.public_url = public_url.rstrip("/")
        self.secret_key = secret_key  # signs residents' unsubscribe links
        loader = jinja2.FileSystemLoader(directory)
        self.text = jinja2.Environment(loader=loader, autoescape=False,
                                       undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
        self.html = jinja2.Environment(loader=loader, autoescape=True,
                                       undefined=jinja2.StrictUndefined)

    def alert(self, alert: Alert, *, html: bool, unsubscribe_url: str | None = None,
              language: str | None = None) -> Message:
        """The message for everyone reading the alert in one language (they get it in
        theirs when the alert has it, else its first); a resident's carries their own
        unsubscribe link. The TLP label leads the subject and the body."""
        context = self._context(alert, unsubscribe_url, language)
        words = context["words"]
        # One line whatever was stored: a line break in a header would fail every send.
        subject = one_line(f"[{alert.tlp}] {context['kind_label']}{alert.severity.upper()}: "
                           f"{words.headline}")
        return Message(
            subject=subject,
            text=self.text.get_template("messages/alert.txt").render(context),
            html=self.html.get_template("messages/alert.html").render(context) if html else None,
            headers={"X-Vigil-Alert": alert.id, "X-Vigil-TLP": alert.tlp},
        )

    @staticmethod
    def recipient_headers(idempotency_key: str,
                          unsubscribe_url: str | None = None) -> dict[str, str]:
        """One recipient's own headers: the Message-ID a receiver can drop a repeat by, and
        for residents RFC 8058 one-click unsubscribe."""
        headers = {"Message-ID": f"<{idempotency_key}@vigil>"}
        if unsubscribe_url:
            headers["List-Unsubscribe"] = f"<{unsubscribe_url}>"
            headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        return headers

    def unsubscribe_url(self, subscription_id: str) -> str:
        """The one-click unsubscribe link of a resident's subscription (RFC 8058)."""
        assert self.secret_key, "the renderer needs the secret key to sign resident links"
        token = unsubscribe_token(subscription_id, self.secret_key)
        return f"{self.public_url}/unsubscribe/{token}"

    def _context(self, alert: Alert, unsubscribe_url: str | None,
                 language: str | None) -> dict[str, Any]:
        tlp = alert.tlp
        return {
            "alert": alert, "words": texts(alert, [language] if language else []),
            "tlp_rule": EXPLANATIONS[tlp], "tlp_colour": TLP_COLOURS[tlp],
            "kind_label": KIND_LABELS.get(alert.msg_type, ""),
            "sent": _when(alert.sent_at), "expires": _when(alert.expires),
            "ack_url": f"{self.public_url}/api/v1/alerts/{alert.id}/acks",
            "ack_minutes": max(1, round((alert.ack_within_s or 0) / 60)),
            "public_url": self.public_url, "unsubscribe_url": unsubscribe_url,
        }


def _when(moment: Any) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else ""
