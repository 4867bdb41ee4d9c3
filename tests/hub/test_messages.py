"""Rendered messages: the TLP label leads, residents' mail can be unsubscribed in one click."""

from __future__ import annotations

from hub.messages import Renderer
from hub.models import Alert
from tests.conftest import NOW, SQUARE


def an_alert(**overrides: object) -> Alert:
    fields: dict[str, object] = dict(
        id="a1", seq=7, status="published", msg_type="Alert", created_by="token:t",
        headline="Road closed, Front St W", event="Road closure", category="Transport",
        severity="Moderate", urgency="Expected", certainty="Observed", tlp="TLP:CLEAR",
        description="Parade.", instruction="Use King St.", language="en-CA",
        area={"type": "Polygon", "coordinates": [SQUARE]}, sent_at=NOW, created_at=NOW,
        ack_within_s=None)
    fields.update(overrides)
    return Alert(**fields)  # type: ignore[arg-type]


def test_tlp_label_leads_subject_and_both_bodies() -> None:
    message = Renderer("https://vigil.example.org/").alert(
        an_alert(tlp="TLP:AMBER+STRICT"), html=True)
    assert message.subject == "[TLP:AMBER+STRICT] MODERATE: Road closed, Front St W"
    assert message.text.startswith("TLP:AMBER+STRICT: Contacts of the targeted")
    assert message.html is not None and "TLP:AMBER+STRICT: Contacts" in message.html
    assert Renderer.recipient_headers("k1") == {"Message-ID": "<k1@vigil>"}
    assert "https://vigil.example.org/api/v1/alerts/a1/acks" in message.text


def test_update_and_cancel_say_so_in_the_subject() -> None:
    renderer = Renderer("http://127.0.0.1:8080")
    assert "UPDATE: MODERATE" in renderer.alert(an_alert(msg_type="Update"),
                                                html=False).subject
    assert "CANCELLED:" in renderer.alert(an_alert(msg_type="Cancel"),
                                          html=False).subject


def test_resident_mail_carries_one_click_unsubscribe() -> None:
    url = "https://vigil.example.org/subscribe/unsubscribe?t=abc"
    message = Renderer("https://vigil.example.org").alert(
        an_alert(), html=True, unsubscribe_url=url)
    headers = Renderer.recipient_headers("k", url)
    assert headers["List-Unsubscribe"] == f"<{url}>"
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert f"Unsubscribe: {url}" in message.text
    assert message.html is not None and url in message.html


def test_html_body_escapes_alert_text() -> None:
    message = Renderer("http://127.0.0.1:8080").alert(
        an_alert(headline="<script>alert(1)</script>"), html=True)
    assert message.html is not None
    assert "<script>" not in message.html and "&lt;script&gt;" in message.html


def test_every_message_names_who_sent_it() -> None:
    message = Renderer("http://127.0.0.1:8080").alert(
        an_alert(sender_name="Toronto Police Service"), html=True)
    assert "Sent by Toronto Police Service " in message.text
    assert message.html is not None and "by <strong>Toronto Police Service</strong>" in message.html
