"""The channel registry: every channel is a plugin, the built-in ones included.

A channel module declares one `PLUGIN` (what the channel is, read without building it) and
the hub names the modules to load in `VIGIL_CHANNELS`, the way apprise keeps one module per
service. The registry is built once from the settings; targeting, revisions, dispatch,
enrolment, the pages and the API ask it, and none of them names a channel.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from channels.base import Channel

BUILT_IN = ("channels.email", "channels.chat")


@dataclass(frozen=True)
class Plugin:
    """What one channel declares about itself.

    `individual`: it reaches one named person (an inbox), not a group (a chat room); only
    such channels carry TLP:RED, and only a contact with such an address is a named person.
    `contact_field` is the contact's field that holds its address (`email`, `chat_url`),
    checked by `check` (raises TargetError) and no longer than `max_length`. `describe`
    masks an address for logs, pages and delivery lists; a `secret` address (a webhook URL
    is a credential) is never shown unmasked, not even to the admin who typed it. `switch`
    names the setting that turns the channel on (None: always on); `build` makes the channel
    from the settings. `html`: messages go out with their HTML part. `residents`: residents'
    subscriptions (which give an email address) are delivered on it. `schema`: what the
    hub's OpenAPI document says of an address beyond its length (a JSON Schema `pattern`,
    `format`, `description`); the document takes the length from `max_length`, the one
    enrolment checks. A `pattern` stands for all the hub's text checks, so it must leave out
    what XML cannot carry, as enrolment does.
    """

    name: str
    individual: bool
    contact_field: str
    label: str
    hint: str
    max_length: int
    check: Callable[[str], None]
    describe: Callable[[str], str]
    build: Callable[[Any], Channel]
    switch: str | None = None
    secret: bool = False
    html: bool = False
    residents: bool = False
    input_type: str = "text"
    shown: str = "{name} ({address})"  # how a delivery to `name` at `address` is listed
    schema: dict[str, Any] | None = None

    def enabled(self, settings: Any) -> bool:
        return self.switch is None or bool(getattr(settings, self.switch))

    def recipient(self, name: str, address: str) -> str:
        return self.shown.format(name=name, address=self.describe(address))


def load(modules: Iterable[str]) -> list[Plugin]:
    """The plugin each module declares, in the order named; a module without one, or two
    plugins of one name or one contact field, is a configuration error."""
    plugins: list[Plugin] = []
    for module_name in modules:
        try:
            plugin = importlib.import_module(module_name).PLUGIN
        except (ImportError, AttributeError) as error:
            raise ValueError(f"VIGIL_CHANNELS: {module_name} declares no channel PLUGIN "
                             f"({error})") from None
        for other in plugins:
            if other.name == plugin.name or other.contact_field == plugin.contact_field:
                raise ValueError(f"VIGIL_CHANNELS: {module_name} declares the channel "
                                 f"{plugin.name!r} ({plugin.contact_field}) twice")
        plugins.append(plugin)
    return plugins


class Registry:
    """The channels this hub knows, and which of them its settings turn on.

    Contacts may hold an address for every known channel (enrolment checks each with its
    channel); deliveries are written only on the channels that are on."""

    def __init__(self, plugins: Sequence[Plugin], settings: Any) -> None:
        self.settings = settings
        self.known = {plugin.name: plugin for plugin in plugins}
        self.on = {plugin.name: plugin for plugin in plugins if plugin.enabled(settings)}
        self.by_field = {plugin.contact_field: plugin for plugin in plugins}

    @classmethod
    def of(cls, settings: Any) -> Registry:
        """The registry of the channel modules the settings name (`VIGIL_CHANNELS`)."""
        return cls(load(settings.channels), settings)

    def __contains__(self, name: object) -> bool:
        return name in self.on

    def __iter__(self) -> Iterator[Plugin]:
        """The channels that are on, in the order the settings name them."""
        return iter(self.on.values())

    @property
    def names(self) -> frozenset[str]:
        return frozenset(self.on)

    @property
    def contact_fields(self) -> tuple[str, ...]:
        return tuple(self.by_field)

    def individual(self, name: str) -> bool:
        plugin = self.known.get(name)
        return plugin is not None and plugin.individual

    def residents(self) -> Plugin | None:
        """The channel residents are reached on, when it is on."""
        return next((plugin for plugin in self if plugin.residents), None)

    def build(self) -> dict[str, Channel]:
        """A fresh channel for each one that is on (the caller closes them)."""
        return {name: plugin.build(self.settings) for name, plugin in self.on.items()}
