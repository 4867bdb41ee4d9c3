"""Settings: every knob Vigil has, read from the environment once, here and nowhere else."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path


@dataclass(frozen=True)
class Setting:
    """One environment variable: its name, default and the help the README shows."""

    env: str
    attr: str
    default: str | None
    help: str


SETTINGS: tuple[Setting, ...] = (
    Setting("VIGIL_DATABASE_URL", "database_url", "sqlite+aiosqlite:///./vigil.db",
            "any SQLAlchemy async URL; `postgresql+asyncpg://...` for scale-out"),
    Setting("VIGIL_BROKER_URL", "broker_url", None,
            "`redis://host:port/db` to fan out across processes; unset means in-process"),
    Setting("VIGIL_SMTP_URL", "smtp_url", None,
            "`smtp://host:port` or `smtps://user:pass@host:port`; unset turns email off"),
    Setting("VIGIL_SMTP_CONNECTIONS", "smtp_connections", "16",
            "SMTP connections each worker keeps open to the relay, one mail at a time on "
            "each (its commands pipelined where the relay offers PIPELINING); lower it for a "
            "relay that caps sessions per client"),
    Setting("VIGIL_CHAT_CONCURRENCY", "chat_concurrency", "16",
            "chat and webhook messages each worker has in flight at once"),
    Setting("VIGIL_MAIL_FROM", "mail_from", "alerts@localhost", "sender address"),
    Setting("VIGIL_PUBLIC_URL", "public_url", "http://127.0.0.1:8080",
            "base for links in messages; the one origin a browser may call the API or open the "
            "live feed from (besides the hub's own IP address or localhost)"),
    Setting("VIGIL_DATA_DIR", "data_dir", "./vigil-data", "uploaded photos and files"),
    Setting("VIGIL_SECRET_KEY", "secret_key", None,
            "cookie and token signing; generated and stored in the data dir when unset"),
    Setting("VIGIL_BOOTSTRAP_TOKEN", "bootstrap_token", None,
            "when set, an admin API token with exactly this value exists after start-up"),
    Setting("VIGIL_FEED_HEARTBEAT_S", "feed_heartbeat_s", "20",
            "seconds between WebSocket pings; a desk silent for 1.5 of them (no pong, no "
            "message) is dropped, so a vanished peer is gone within two"),
    Setting("VIGIL_FEED_BUFFER_BYTES", "feed_buffer_bytes", "1048576",
            "most bytes a desk may have waiting to be sent; a desk over it is closed with "
            "code 4408 and resumes by seq when it is back"),
    Setting("VIGIL_FEED_WRITE_TIMEOUT_S", "feed_write_timeout_s", "10",
            "longest a desk's oldest unsent frame may wait before the desk is closed (4408)"),
    Setting("VIGIL_FEED_REPLAY_MAX", "feed_replay_max", "500",
            "most alerts one resume replays; past it the desk is told `more` and resumes "
            "again from the last seq it got"),
    Setting("VIGIL_DELIVERY_LEASE_S", "delivery_lease_s", "10",
            "seconds a worker's claim on a delivery lasts; a live worker renews its claims "
            "every third of it, so a killed worker's deliveries are free again within this"),
    Setting("VIGIL_SESSION_IDLE_S", "session_idle_s", "1800",
            "a signed-in browser that makes no request for this long must sign in again"),
    Setting("VIGIL_SESSION_MAX_S", "session_max_s", "43200",
            "a browser session ends this long after sign-in, however active (a shift)"),
    Setting("VIGIL_UPLOAD_MAX_BYTES", "upload_max_bytes", "26214400",
            "largest photo or video a field report may carry; larger ones get 413"),
    Setting("VIGIL_APPROVAL_FOR", "approval_for", "TLP:RED,Extreme",
            "comma-separated TLP labels and CAP severities whose alerts wait for a second "
            "person's approval; `none` means no alert waits"),
    Setting("VIGIL_TILE_URL", "tile_url", "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
            "map tiles for the pages (a `{z}/{x}/{y}` template); `none` shows a plain "
            "background, as the pages also do when tiles cannot load"),
    Setting("VIGIL_CAP_SIGNING_KEY", "cap_signing_key", None,
            "path of a PEM private key; when set with VIGIL_CAP_SIGNING_CERT, exported CAP "
            "documents carry an enveloped XML signature"),
    Setting("VIGIL_CAP_SIGNING_CERT", "cap_signing_cert", None,
            "path of the PEM certificate that goes with VIGIL_CAP_SIGNING_KEY"),
)


@dataclass(frozen=True)
class Settings:
    """The hub's configuration; build it with `Settings.from_env()` or directly in tests."""

    database_url: str = "sqlite+aiosqlite:///./vigil.db"
    broker_url: str | None = None
    smtp_url: str | None = None
    mail_from: str = "alerts@localhost"
    public_url: str = "http://127.0.0.1:8080"
    data_dir: Path = field(default_factory=lambda: Path("./vigil-data"))
    secret_key: str | None = None
    bootstrap_token: str | None = None
    feed_heartbeat_s: float = 20.0
    feed_buffer_bytes: int = 1024 * 1024
    feed_write_timeout_s: float = 10.0
    feed_replay_max: int = 500
    delivery_lease_s: float = 10.0
    smtp_connections: int = 16
    chat_concurrency: int = 16
    session_idle_s: float = 1800.0
    session_max_s: float = 43200.0
    upload_max_bytes: int = 25 * 1024 * 1024
    approval_for: str = "TLP:RED,Extreme"
    tile_url: str = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
    cap_signing_key: Path | None = None
    cap_signing_cert: Path | None = None
    explicit: frozenset[str] = frozenset()  # the variables the environment actually set

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read every `VIGIL_*` variable; unset ones take their default."""
        env = os.environ if environ is None else environ
        values: dict[str, object] = {
            "explicit": frozenset(s.env for s in SETTINGS if env.get(s.env))
        }
        for setting in SETTINGS:
            raw = env.get(setting.env) or setting.default
            if raw is None:
                continue
            values[setting.attr] = _convert(setting, raw)
        if ("cap_signing_key" in values) != ("cap_signing_cert" in values):
            raise ValueError("VIGIL_CAP_SIGNING_KEY and VIGIL_CAP_SIGNING_CERT go together: "
                             "set both or neither")
        return cls(**values)  # type: ignore[arg-type]

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


def _convert(setting: Setting, raw: str) -> object:
    if setting.attr == "data_dir":
        return Path(raw)
    if setting.attr.startswith("cap_signing_"):
        path = Path(raw)
        if not path.is_file():
            raise ValueError(f"{setting.env}: no such file: {raw}")
        return path
    if setting.attr.endswith("_s"):
        value = float(raw)
        if value <= 0:
            raise ValueError(f"{setting.env} must be a positive number of seconds")
        return value
    if setting.attr.endswith(("_bytes", "_max", "_connections", "_concurrency")):
        size = int(raw)
        if size <= 0:
            raise ValueError(f"{setting.env} must be a positive whole number")
        return size
    if setting.attr == "tile_url":
        return _tile_url(setting, raw)
    return raw


def _tile_url(setting: Setting, raw: str) -> str:
    if raw.lower() == "none":
        return "none"
    if not raw.startswith(("https://", "http://")) or not all(
            part in raw for part in ("{z}", "{x}", "{y}")):
        raise ValueError(f"{setting.env} must be an http(s) URL with {{z}}, {{x}} and {{y}}, "
                         "or `none`")
    return raw
