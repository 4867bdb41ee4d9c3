"""Settings: declared once, read once from the environment, the README table made from them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from hub.settings import Settings, markdown_table

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


def readme_table() -> str:
    """The README's settings table: from its header row to the first line that is no row."""
    lines = README.read_text().splitlines()
    start = lines.index("| variable | default | meaning |")
    end = next(n for n in range(start, len(lines)) if not lines[n].startswith("|"))
    return "\n".join(lines[start:end])


def test_the_readme_table_is_the_one_the_declarations_make() -> None:
    assert readme_table() == markdown_table()  # none missing, none stale, none reworded


def test_python_m_hub_settings_prints_the_table() -> None:
    printed = subprocess.run([sys.executable, "-m", "hub.settings"], capture_output=True,
                             text=True, check=True, cwd=README.parent).stdout
    assert printed == markdown_table() + "\n"


def test_the_default_the_readme_states_is_the_one_a_hub_runs_with() -> None:
    built = Settings()  # the dataclass's own defaults, which code and tests construct with
    assert Settings.from_env({}) == built
    for line in markdown_table().splitlines()[2:]:
        name, stated = (cell.strip() for cell in line.strip("|").split("|")[:2])
        attr = name.strip("`").removeprefix("VIGIL_").lower()
        if stated == "unset":
            assert getattr(built, attr) is None, name
        else:  # setting the variable to the stated default changes nothing
            read = Settings.from_env({name.strip("`"): stated.strip("`")})
            assert getattr(read, attr) == getattr(built, attr), (name, stated)


def test_each_variable_is_read_as_its_setting_declares() -> None:
    assert Settings.from_env({"VIGIL_TILE_URL": "NONE"}).tile_url == "none"
    refused = {"VIGIL_FEED_BUFFER_BYTES": ("0", " must be a positive whole number"),
               "VIGIL_DELIVERY_LEASE_S": ("-1", " must be a positive number of seconds"),
               "VIGIL_TILE_URL": ("ftp://t/{z}/{x}/{y}", " must be an http\\(s\\) URL"),
               "VIGIL_CAP_SIGNING_KEY": ("/no/such.pem", ": no such file: /no/such.pem")}
    for name, (raw, message) in refused.items():
        with pytest.raises(ValueError, match=name + message):
            Settings.from_env({name: raw, "VIGIL_CAP_SIGNING_CERT": __file__})


def test_the_cap_signing_key_and_cert_go_together() -> None:
    with pytest.raises(ValueError, match="go together: set both or neither"):
        Settings.from_env({"VIGIL_CAP_SIGNING_CERT": __file__})
    both = Settings.from_env({"VIGIL_CAP_SIGNING_KEY": __file__,
                              "VIGIL_CAP_SIGNING_CERT": __file__, "VIGIL_SMTP_URL": ""})
    assert both.cap_signing_key == Path(__file__)
    assert both.explicit == {"VIGIL_CAP_SIGNING_KEY", "VIGIL_CAP_SIGNING_CERT"}  # "" is unset
