"""`vigil cap import FILE...`: files from disk, as a police service, one line per file."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from hub.cli import main
from tests.cap.conftest import SAMPLES
from tests.capdoc import cap_alert, info, reference


def police(database: Path, *names: str) -> None:
    assert main(["db", "upgrade"]) == 0
    with sqlite3.connect(database) as connection:
        for n, name in enumerate(names):
            connection.execute(
                "INSERT INTO organisation (id, name, kind, created_at) VALUES (?, ?, ?, ?)",
                (f"{n:032x}", name, "police", "2026-11-21 00:00:00.000000"))


def rows(database: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(database) as connection:
        return connection.execute(sql).fetchall()


def test_import_files_reports_each_one(database: Path, tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    police(database, "Toronto Police Service")
    now = datetime.now(UTC)  # the command runs on the real clock
    live = tmp_path / "live.cap"
    live.write_bytes(cap_alert("CLI-1", sent=now, infos=(info(
        expires=now + timedelta(hours=2)),)))
    update = tmp_path / "update.cap"
    update.write_bytes(cap_alert("CLI-2", msg_type="Update", sent=now,
                                 references=reference("CLI-1", sent=now),
                                 infos=(info(headline="Still leaking",
                                             expires=now + timedelta(hours=3)),)))
    code = main(["cap", "import", str(live), str(update), str(SAMPLES / "earthquake.cap")])
    out = capsys.readouterr().out
    assert code == 0, out
    assert f"{live}: alert " in out and "(Alert, published" in out
    assert f"{update}: alert " in out and "(Update, published" in out
    assert "not sent because it had expired when it arrived" in out
    chain = rows(database, "SELECT msg_type, references_id IS NOT NULL FROM alert ORDER BY seq")
    assert chain == [("Alert", 0), ("Update", 1), ("Alert", 0)]
    assert len(rows(database, "SELECT alert_id FROM cap_message")) == 3


def test_refused_files_print_their_violations_and_fail(database: Path, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]
                                                       ) -> None:
    police(database, "Toronto Police Service")
    code = main(["cap", "import", str(SAMPLES / "invalid.cap"), str(SAMPLES / "xee.cap"),
                 str(tmp_path / "missing.cap")])
    out = capsys.readouterr().out
    assert code == 1
    assert "invalid.cap: refused, 1 CAP rule(s) broken" in out
    assert "  /alert/scope: is required" in out
    assert "xee.cap: refused" in out and "DTD" in out
    assert "missing.cap: refused" in out
    assert rows(database, "SELECT id FROM alert") == []


def test_the_sending_service_must_be_clear(database: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    police(database, "Toronto Police Service", "Peel Regional Police")
    assert main(["cap", "import", str(SAMPLES / "earthquake.cap")]) == 2
    assert "--organisation" in capsys.readouterr().err
    assert main(["cap", "import", "--organisation", "Peel Regional Police",
                 str(SAMPLES / "earthquake.cap")]) == 0
    assert main(["cap", "import", "--organisation", "Nobody",
                 str(SAMPLES / "earthquake.cap")]) == 2
    assert "no organisation is named 'Nobody'" in capsys.readouterr().err
