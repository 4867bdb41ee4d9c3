"""Settings: read once from the environment, each with a default, each in the README."""

from __future__ import annotations

import re
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


def readme_settings() -> dict[str, str]:
    """The README's settings table: variable -> the default it states."""
    rows = {}
    for line in README.read_text().splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) >= 3 and re.fullmatch(r"`VIGIL_[A-Z0-9_]+`", cells[0]):
            rows[cells[0].strip("`")] = cells[1]
    return rows


def test_every_setting_is_in_the_readme_table_with_its_real_default() -> None:
    table = readme_settings()
    assert sorted(table) == sorted(s.env for s in SETTINGS)  # none missing, none stale
    defaults = Settings.from_env({})
    built = Settings()  # the dataclass's own defaults, which code and tests construct with
    for setting in SETTINGS:
        stated = "unset" if setting.default is None else f"`{setting.default}`"
        assert table[setting.env] == stated, (setting.env, table[setting.env], stated)
        # The default the README states is the one a hub with no environment runs with.
        read = getattr(defaults, setting.attr)
        assert read == getattr(built, setting.attr), setting.env
        if setting.default is None:
            assert read is None, setting.env
        else:
            assert str(read) == setting.default or read == type(read)(setting.default) \
                or str(read) == str(Path(setting.default)), (setting.env, read)
