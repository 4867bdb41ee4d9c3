"""Settings: every knob Vigil has, declared once, read from the environment once, here."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator, Mapping
from dataclasses import Field, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from channels.registry import BUILT_IN

# How a setting's variable is read: (variable name, non-empty raw value) -> value.
Reader = Callable[[str, str], object]


def _text(variable: str, raw: str) -> str:
    return raw


def _seconds(variable: str, raw: str) -> float:
    value = float(raw)
    if value <= 0:
        raise ValueError(f"{variable} must be a positive number of seconds")
    return value


def _count(variable: str, raw: str) -> int:
    value = int(raw)
    if value <= 0:
        raise ValueError(f"{variable} must be a positive whole number")
    return value


def _folder(variable: str, raw: str) -> Path:
    return Path(raw)


def _file(variable: str, raw: str) -> Path:
    path = Path(raw)
    if not path.is_file():
        raise ValueError(f"{variable}: no such file: {raw}")
    return path


def _tile_url(variable: str, raw: str) -> str:
    if raw.lower() == "none":
        return "none"
    if not raw.startswith(("https://", "http://")) or not all(
            part in raw for part in ("{z}", "{x}", "{y}")):
        raise ValueError(f"{variable} must be an http(s) URL with {{z}}, {{x}} and {{y}}, "
                         "or `none`")
    return raw


def _modules(variable: str, raw: str) -> tuple[str, ...]:
    names = tuple(name.strip() for name in raw.split(",") if name.strip())
    if not names:
        raise ValueError(f"{variable} must name at least one channel module")
    return names


def knob(default: object, *help_parts: str, reader: Reader = _text) -> Any:
    """One setting: its default, the help the README shows (its parts joined by spaces) and
    how its `VIGIL_*` variable is read."""
    metadata = {"help": " ".join(help_parts), "reader": reader}
    if isinstance(default, Path):
        return field(default_factory=lambda: default, metadata=metadata)
    return field(default=default, metadata=metadata)


@dataclass(frozen=True)
class Settings:
    """The hub's configuration; build it with `Settings.from_env()` or directly in tests.

    Each field made with `knob` is one setting, read from `VIGIL_<FIELD NAME>`; the fields'
    order is the README table's."""

    database_url: str = knob(
        "sqlite+aiosqlite:///./vigil.db",
        "any SQLAlchemy async URL; `postgresql+asyncpg://...` for scale-out")
    broker_url: str | None = knob(
        None, "`redis://host:port/db` to fan out across processes; unset means in-process")
    channels: tuple[str, ...] = knob(
        BUILT_IN, "comma-separated modules, each declaring one delivery channel (a `PLUGIN`:",
        "see `channels/registry.py`); a channel module of your own is added here",
        reader=_modules)
    smtp_url: str | None = knob(
        None, "`smtp://host:port` or `smtps://user:pass@host:port`;",
        "unset turns the email channel off")
    smtp_connections: int = knob(
        16, "SMTP connections each worker keeps open to the relay, one mail at a time on each",
        "(its commands pipelined where the relay offers PIPELINING);",
        "lower it for a relay that caps sessions per client", reader=_count)
    chat_concurrency: int = knob(
        16, "chat and webhook messages each worker has in flight at once", reader=_count)
    mail_from: str = knob("alerts@localhost", "sender address")
    public_url: str = knob(
        "http://127.0.0.1:8080",
        "base for links in messages; the one origin a browser may call the API or open the",
        "live feed from, besides the hub's own IP address or localhost (a host name in the",
        "request's `Host` header is never trusted: DNS rebinding).",
        "When unset, `serve`/`demo` derive it from `--host`/`--port`")
    data_dir: Path = knob(
        Path("./vigil-data"), "uploaded photos and files; holds the generated secret key",
        reader=_folder)
    secret_key: str | None = knob(
        None, "cookie and token signing; generated and stored in the data dir when unset")
    bootstrap_token: str | None = knob(
        None, "when set, an admin API token with exactly this value exists after start-up")
    feed_heartbeat_s: float = knob(
        20.0, "seconds between WebSocket pings to every desk; a desk silent for 1.5 of them",
        "(no pong, no message) is dropped, so a vanished peer is gone within two",
        reader=_seconds)
    feed_buffer_bytes: int = knob(
        1024 * 1024, "most bytes a desk may have waiting to be sent; a desk over it is closed",
        "with code 4408 and resumes by `seq` when it is back", reader=_count)
    feed_write_timeout_s: float = knob(
        10.0, "longest a desk's oldest unsent frame may wait before the desk is closed (4408)",
        reader=_seconds)
    feed_replay_max: int = knob(
        500, "most alerts one resume replays; past it the desk is told `more` and resumes",
        "again from the last `seq` it got", reader=_count)
    session_idle_s: float = knob(
        1800.0, "a signed-in browser that makes no request for this long must sign in again",
        reader=_seconds)
    session_max_s: float = knob(
        43200.0, "a browser session ends this long after sign-in, however active (a shift)",
        reader=_seconds)
    upload_max_bytes: int = knob(
        25 * 1024 * 1024,
        "largest photo or video a field report may carry; larger ones get 413", reader=_count)
    tip_max_bytes: int = knob(
        2 * 1024 ** 3,
        "largest photo or video a public tip may carry, each file (sent in the tip's own",
        "request, which is held to it as a whole, or as a resumable tus upload); larger ones",
        "get 413", reader=_count)
    approval_for: str = knob(
        "TLP:RED,Extreme", "comma-separated TLP labels and CAP severities whose alerts wait",
        "for a second person's approval; `none` means no alert waits")
    tile_url: str = knob(
        "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
        "map tiles for the pages (a `{z}/{x}/{y}` template, also allowed in the pages' CSP);",
        "`none` shows a plain background, as the maps also do when tiles cannot load",
        reader=_tile_url)
    cap_signing_key: Path | None = knob(
        None, "path of a PEM private key (RSA or EC); with `VIGIL_CAP_SIGNING_CERT`,",
        "CAP documents the hub writes carry an enveloped XML signature", reader=_file)
    cap_signing_cert: Path | None = knob(
        None, "path of the PEM certificate of that key, put in the signature's KeyInfo",
        reader=_file)
    delivery_lease_s: float = knob(
        10.0, "seconds a worker's claim on a delivery lasts; a live worker renews its claims",
        "every third of it (however long a send takes), so a killed worker's deliveries are",
        "free again within this", reader=_seconds)
    services_stale_s: float = knob(
        21600.0, "seconds after its agency last gave a place's free beds or seats that the",
        "number counts as stale: a stale place is not offered as having room until updated",
        reader=_seconds)
    explicit: frozenset[str] = frozenset()  # the variables the environment actually set

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read every `VIGIL_*` variable; unset (or empty) ones take their default."""
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for setting in knobs():
            name = variable(setting)
            if raw := env.get(name):
                values[setting.name] = setting.metadata["reader"](name, raw)
        if ("cap_signing_key" in values) != ("cap_signing_cert" in values):
            raise ValueError("VIGIL_CAP_SIGNING_KEY and VIGIL_CAP_SIGNING_CERT go together: "
                             "set both or neither")
        explicit = frozenset(variable(s) for s in knobs() if s.name in values)
        return cls(**values, explicit=explicit)  # type: ignore[arg-type]

    def with_secret_key(self) -> Settings:
        """Return settings whose secret key is set, generating and storing one if needed."""
        if self.secret_key:
            return self
        path = self.data_dir / "secret.key"
        if not path.exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
        return replace(self, secret_key=path.read_text().strip())


def knobs() -> Iterator[Field[Any]]:
    """The settings, in the README table's order: the fields of `Settings` made by `knob`."""
    return (f for f in fields(Settings) if "reader" in f.metadata)


def variable(setting: Field[Any]) -> str:
    """The environment variable a setting is read from."""
    return "VIGIL_" + setting.name.upper()


def markdown_table() -> str:
    """The README's settings table, made from the declarations (`python -m hub.settings`)."""
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    rows += [f"| `{variable(s)}` | {_shown(s)} | {s.metadata['help']} |" for s in knobs()]
    return "\n".join(rows)


def _shown(setting: Field[Any]) -> str:
    """A default as the README states it: the value one would set the variable to."""
    default = getattr(Settings(), setting.name)
    if default is None:
        return "unset"
    if isinstance(default, float) and default.is_integer():
        default = int(default)
    if isinstance(default, tuple):
        return f"`{','.join(default)}`"
    if isinstance(default, Path) and not default.is_absolute():
        return f"`./{default}`"  # Path drops the "./" a reader of the table expects
    return f"`{default}`"


if __name__ == "__main__":
    print(markdown_table())
