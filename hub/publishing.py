"""The publishing context: what publishing takes from the settings, derived once per hub."""

from __future__ import annotations

from dataclasses import dataclass

from channels.registry import Registry
from hub.alerts import AlertDraft
from hub.cap_alerts import Identity
from hub.settings import Settings


@dataclass(frozen=True)
class Publishing:
    """The channels alerts go out on, which alerts wait for a second person's approval
    (`VIGIL_APPROVAL_FOR`, as lower-case TLP labels and CAP severities), and how this hub
    names its alerts in CAP."""

    channels: Registry
    held: frozenset[str]
    identity: Identity

    @classmethod
    def of(cls, settings: Settings) -> Publishing:
        held = frozenset(item.strip().lower() for item in settings.approval_for.split(",")
                         if item.strip())
        return cls(Registry.of(settings), held, Identity.of(settings.public_url))

    def needs_approval(self, draft: AlertDraft) -> bool:
        """Whether policy holds this alert for a second person."""
        return draft.tlp.lower() in self.held or draft.severity.lower() in self.held
