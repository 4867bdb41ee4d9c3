"""Settings: read once from the environment, each with a default, each in the README."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub.settings import SETTINGS, Settings

README = Path(__file__).parents[2] / "README.md"


def test_defaults_match_the_contract() -> None:
    settings = Settings.from_env({})
    assert settings.database_url == "sqlite+aiosqlite:///./vigil.db"
    assert settings.broker_url is None and settings.smtp_url is None
    assert settings.mail_from == "alerts@localhost"
    assert settings.public_url == "http://127.0.0.1:8080"
    assert settings.data_dir == Path("./vigil-data")
    assert settings.secret_key is None and settings.bootstrap_token is None
    assert settings.explicit == frozenset()


def test_environment_overrides_and_is_remembered() -> None:
    settings = Settings.from_env({"VIGIL_BROKER_URL": "redis://127.0.0.1:6379/2",
                                  "VIGIL_FEED_HEARTBEAT_S": "2.5", "VIGIL_DATA_DIR": "/srv/v"})
    assert settings.broker_url == "redis://127.0.0.1:6379/2"
    assert settings.feed_heartbeat_s == 2.5
    assert settings.data_dir == Path("/srv/v")
    assert settings.explicit == {"VIGIL_BROKER_URL", "VIGIL_FEED_HEARTBEAT_S", "VIGIL_DATA_DIR"}


def test_bad_number_is_refused() -> None:
    with pytest.raises(ValueError, match="VIGIL_FEED_HEARTBEAT_S"):
        Settings.from_env({"VIGIL_FEED_HEARTBEAT_S": "0"})


def test_secret_key_is_generated_once_and_kept(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    first = settings.with_secret_key().secret_key
    assert first and len(first) >= 32
    assert settings.with_secret_key().secret_key == first
    assert (tmp_path / "data" / "secret.key").stat().st_mode & 0o077 == 0


def test_every_setting_is_documented_in_the_readme() -> None:
    text = README.read_text()
    for setting in SETTINGS:
        assert f"`{setting.env}`" in text, f"{setting.env} is missing from README.md"
