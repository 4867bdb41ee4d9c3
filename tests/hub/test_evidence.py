"""Evidence requests and case bundles: a zip of the files as received with their manifest and
custody log, which `vigil tips verify` (the real command) passes whole and fails altered."""

from __future__ import annotations

import hashlib
import html
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

from hub import audit
from hub.http import SESSIONS
from tests.conftest import Hub
from tests.hub.test_reports import photo_with_location
from tests.hub.tips_scene import png, police, send_tip, tip_form, upload, video

ROOT = Path(__file__).resolve().parents[2]


def vigil(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The `vigil` command, as a user runs it."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "hub.cli", *args], capture_output=True,
                          text=True, cwd=cwd, env=env, timeout=60)


async def bundle_of(hub: Hub, token: str, request_id: str, folder: Path) -> Path:
    response = await hub.client.get(f"/api/v1/evidence-requests/{request_id}/bundle",
                                    headers=hub.auth(token))
    assert response.status == 200, await response.text()
    assert response.headers["Content-Type"] == "application/zip"
    assert response.headers["Content-Disposition"].startswith('attachment; filename="evidence-')
    path = folder / "bundle.zip"
    path.write_bytes(await response.read())
    return path


def rewrite(source: Path, target: Path, change: dict[str, bytes | None]) -> None:
    """A copy of the zip with some members' bytes changed (None: left out)."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for name in old.namelist():
            data = change.get(name, old.read(name))
            if data is not None:
                new.writestr(name, data)


async def test_a_request_opens_with_a_public_page_and_lists_its_tips(hub: Hub) -> None:
    scene = await police(hub)
    made = scene.request
    assert made["url"] == f"http://127.0.0.1:8080/tips/{made['slug']}"
    assert made["slug"].startswith("collision-at-queen-st-w-spadina-ave-")
    assert made["status"] == "open" and made["area"]["circle"]["radius_m"] == 300
    assert made["starts"] == "2026-11-21T22:30:00+00:00"
    hub.clock.advance(60)
    again = await hub.call("POST", "/api/v1/evidence-requests", scene.publisher, expect=201,
                           json={"title": made["title"], "description": "Second appeal"})
    assert again["slug"] != made["slug"]  # the same title never shares a page
    await send_tip(hub, tip_form({"text": "saw it", "evidence_request": made["slug"]}), 201)
    listed = await hub.call("GET", "/api/v1/evidence-requests", scene.approver, expect=200)
    assert [(r["id"], r["tips"]) for r in listed] == [(again["id"], 0), (made["id"], 1)]
    page = await hub.client.get(f"/tips/{made['slug']}")
    text = await page.text()
    assert page.status == 200 and "TLP:CLEAR" in text and html.escape(made["title"]) in text
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert (await hub.client.get("/tips/no-such-appeal")).status == 404
    # Only publishers open requests; approvers read them.
    await hub.call("POST", "/api/v1/evidence-requests", scene.approver, expect=403,
                   json={"title": "T", "description": "D"})


async def test_a_bundle_passes_vigil_tips_verify_and_an_altered_one_fails(
        backend_hub: Hub, tmp_path: Path) -> None:
    hub = backend_hub  # on SQLite and PostgreSQL
    scene = await police(hub)
    photo, clip = photo_with_location(), video(300_000)
    slug = scene.request["slug"]
    await send_tip(hub, tip_form({"text": "the van", "evidence_request": slug},
                                 [("van.jpg", photo)]), 201)
    hub.clock.advance(60)
    await send_tip(hub, tip_form({"text": "the crossing", "evidence_request": slug},
                                 [("still.png", png())], [await upload(hub, clip)]), 201)
    await send_tip(hub, tip_form({"text": "unrelated, general"}), 201)
    tips = await hub.call("GET", "/api/v1/tips?evidence_request=" + scene.request["id"],
                          scene.publisher, expect=200)
    first = tips[-1]["files"][0]
    await hub.client.get(first["url"], headers=hub.auth(scene.publisher))
    path = await bundle_of(hub, scene.approver, scene.request["id"], tmp_path)

    with zipfile.ZipFile(path) as bundle:
        manifest = json.loads(bundle.read("manifest.json"))
        files = {f["path"]: f for f in manifest["files"]}
        assert {f["sha256"] for f in files.values()} == {
            hashlib.sha256(data).hexdigest() for data in (photo, clip, png())}
        for name, entry in files.items():
            assert hashlib.sha256(bundle.read(name)).hexdigest() == entry["sha256"]
            assert entry["received"] and entry["size"] == len(bundle.read(name))
    assert {f["name"] for f in files.values()} == {"van.jpg", "still.png", "clip.mp4"}
    assert [t["text"] for t in manifest["tips"]] == ["the van", "the crossing"]
    actions = [(e["actor"], e["action"]) for e in manifest["custody"]]
    assert actions.count(("public:tip", "tip.receive")) == 2
    assert any(a == "tip.file.download" for _, a in actions)
    assert any(a == "tip.view" for _, a in actions)
    assert actions[-1][1] == "evidence.bundle" and actions[0][1] == "evidence.open"

    ok = vigil("tips", "verify", str(path), cwd=tmp_path)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert ok.stdout.startswith("ok") and "3 files" in ok.stdout

    van = next(name for name, f in files.items() if f["name"] == "van.jpg")
    still = next(name for name, f in files.items() if f["name"] == "still.png")
    with zipfile.ZipFile(path) as bundle:
        altered = bytearray(bundle.read(van))
    altered[-3] ^= 0xFF  # one byte of the photo
    broken = tmp_path / "broken.zip"
    rewrite(path, broken, {van: bytes(altered), still: None})
    failed = vigil("tips", "verify", str(broken), cwd=tmp_path)
    assert failed.returncode == 1
    assert f"altered: {van}" in failed.stdout and f"missing: {still}" in failed.stdout
    clip_name = next(name for name, f in files.items() if f["name"] == "clip.mp4")
    assert clip_name not in failed.stdout  # the untouched file is not named

    # Editing the manifest to match an altered file is caught by the receipt's record.
    forged = json.loads(json.dumps(manifest))
    for entry in forged["files"]:
        if entry["path"] == van:
            entry["sha256"] = hashlib.sha256(bytes(altered)).hexdigest()
    rewrite(path, broken, {van: bytes(altered),
                           "manifest.json": json.dumps(forged).encode()})
    caught = vigil("tips", "verify", str(broken), cwd=tmp_path)
    assert caught.returncode == 1 and van in caught.stdout and "on receipt" in caught.stdout
    not_zip = tmp_path / "notes.txt"
    not_zip.write_text("not a bundle")
    assert vigil("tips", "verify", str(not_zip), cwd=tmp_path).returncode == 1


async def test_every_look_at_a_tip_keeps_the_audit_chain_whole(hub: Hub) -> None:
    scene = await police(hub)
    await send_tip(hub, tip_form({"text": "x", "evidence_request": scene.request["slug"]},
                                 [("a.jpg", photo_with_location())]), 201)
    [tip] = await hub.call("GET", "/api/v1/tips", scene.publisher, expect=200)
    await hub.call("GET", f"/api/v1/tips/{tip['id']}", scene.approver, expect=200)
    async with hub.client.app[SESSIONS]() as session:
        verdict = await audit.verify(session)
    assert verdict.ok, verdict


async def test_closing_is_for_the_services_publishers_and_hub_admins(hub: Hub) -> None:
    scene = await police(hub)
    path = f"/api/v1/evidence-requests/{scene.request['id']}/close"
    await hub.call("POST", path, scene.approver, expect=403)
    other = await hub.token(await hub.organisation("York Regional Police", "police"),
                            "publisher")
    await hub.call("POST", path, other, expect=404)
    closed: Any = await hub.call("POST", path, expect=200)  # the hub admin
    assert closed["status"] == "closed"
    again = await hub.call("POST", path, scene.publisher, expect=200)
    assert again["closed"] == closed["closed"]  # closing again changes nothing
