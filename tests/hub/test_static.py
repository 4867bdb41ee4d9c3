"""The pages' static files and the map tile setting, with what the CSP allows."""

from __future__ import annotations

import pytest

from hub.auth import content_policy
from hub.settings import Settings
from tests.conftest import Hub


async def test_page_files_are_served_and_nothing_else(hub: Hub) -> None:
    for path, kind in [("/static/vigil.js", "text/javascript"),
                       ("/static/vendor/leaflet/leaflet.css", "text/css"),
                       ("/static/vendor/leaflet/images/marker-icon.png", "image/png")]:
        response = await hub.client.get(path)
        assert response.status == 200 and response.content_type == kind, path
    for path in ["/static/../pages/static.py", "/static/%2e%2e/settings.py",
                 "/static/vendor/README.md", "/static/nothing.js"]:
        response = await hub.client.get(path)
        assert response.status == 404, path


def test_the_tile_server_is_a_setting_that_the_csp_allows() -> None:
    default = Settings.from_env({})
    assert default.tile_url == "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
    assert "img-src 'self' data: blob: https://tile.openstreetmap.org;" in content_policy(
        default.tile_url)
    subdomains = Settings.from_env({"VIGIL_TILE_URL": "https://{s}.tiles.example/{z}/{x}/{y}"})
    assert "https://*.tiles.example;" in content_policy(subdomains.tile_url)
    off = Settings.from_env({"VIGIL_TILE_URL": "none"})
    assert "img-src 'self' data: blob:;" in content_policy(off.tile_url)
    for bad in ["javascript:alert(1)", "https://tiles.example/no-placeholders.png"]:
        with pytest.raises(ValueError, match="VIGIL_TILE_URL"):
            Settings.from_env({"VIGIL_TILE_URL": bad})


async def test_pages_send_the_csp_with_the_tile_server(hub: Hub) -> None:
    response = await hub.client.get("/login")
    assert "blob: https://tile.openstreetmap.org;" in response.headers["Content-Security-Policy"]
