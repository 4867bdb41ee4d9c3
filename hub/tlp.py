"""Traffic Light Protocol 2.0 labels and which audiences each label may reach."""

from __future__ import annotations

import enum


class Tlp(enum.StrEnum):
    RED = "TLP:RED"
    AMBER_STRICT = "TLP:AMBER+STRICT"
    AMBER = "TLP:AMBER"
    GREEN = "TLP:GREEN"
    CLEAR = "TLP:CLEAR"

    @property
    def individuals_only(self) -> bool:
        """TLP:RED goes to named people, never to a shared desk, chat room or list."""
        return self is Tlp.RED

    @property
    def residents_allowed(self) -> bool:
        """Only TLP:CLEAR may leave the partnership for residents and public feeds."""
        return self is Tlp.CLEAR


EXPLANATIONS: dict[Tlp, str] = {
    Tlp.RED: "Named individual contacts only; never a group channel, chat room or list.",
    Tlp.AMBER_STRICT: "Contacts of the targeted partner organisations only.",
    Tlp.AMBER: "Targeted partner organisations and the clients they declared.",
    Tlp.GREEN: "Every enrolled partner in the area.",
    Tlp.CLEAR: "Partners, residents and public feeds.",
}
