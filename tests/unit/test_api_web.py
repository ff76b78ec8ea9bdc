"""GET / and /map: the situation map is served by the API, whole, and loads nothing from
elsewhere (no tile server, no CDN)."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import httpx
import pytest

from tests.unit.test_api_app import problem, serving

BASE = "http://sitrep"
# An http(s) URL in any asset: the page must not reach out to another host (or even name one);
# the page's own requests use relative URLs.
ABSOLUTE = re.compile(r"https?://[^\s\"'<>)]+", re.I)
CSS_URL = re.compile(r"url\(\s*['\"]?([^'\")]+)")
EXPECTED_TYPES = {".css": "text/css", ".js": "text/javascript", ".svg": "image/svg+xml"}


class _References(HTMLParser):
    """Every src and href of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found += [value for name, value in attrs if name in ("src", "href") and value]


def references(page: str) -> list[str]:
    parser = _References()
    parser.feed(page)
    return parser.found


async def _assets(client: httpx.AsyncClient, path: str) -> dict[str, httpx.Response]:
    """The page at ``path`` and everything it references (data: URIs are inline)."""
    page = await client.get(path)
    loaded = {path: page}
    pending = [urljoin(f"{BASE}{path}", ref) for ref in references(page.text)]
    while pending:
        url = pending.pop()
        if url.startswith("data:"):
            continue
        parts = urlsplit(url)
        assert parts.netloc == urlsplit(BASE).netloc, f"{path} loads {url} from another host"
        if parts.path in loaded:
            continue
        answer = await client.get(parts.path)
        loaded[parts.path] = answer
        if parts.path.endswith(".css"):
            pending += [urljoin(url, ref) for ref in CSS_URL.findall(answer.text)]
    return loaded


@pytest.mark.parametrize("path", ["/", "/map"])
async def test_the_map_is_an_html_page(path: str) -> None:
    async with serving() as client:
        answer = await client.get(path)
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "text/html; charset=utf-8"
    assert "<svg" in answer.text


@pytest.mark.parametrize("path", ["/", "/map"])
async def test_every_asset_the_page_references_is_served(path: str) -> None:
    async with serving() as client:
        loaded = await _assets(client, path)
    scripts_and_styles = [p for p in loaded if p.endswith((".js", ".css"))]
    assert len(scripts_and_styles) >= 2, loaded.keys()
    for asset, answer in loaded.items():
        assert answer.status_code == 200, asset
        suffix = asset[asset.rfind(".") :]
        if suffix in EXPECTED_TYPES:
            assert answer.headers["content-type"].startswith(EXPECTED_TYPES[suffix]), asset


async def test_no_asset_names_another_host() -> None:
    async with serving() as client:
        loaded = await _assets(client, "/")
    for asset, answer in loaded.items():
        assert ABSOLUTE.findall(answer.text) == [], asset


async def test_the_map_asks_the_api_by_relative_urls() -> None:
    # Relative URLs keep working when the API is served under a path prefix.
    async with serving() as client:
        script = (await client.get("/map/map.js")).text
    assert '"v1/places"' in script
    assert "v1/stream" in script
    assert "innerHTML" not in script  # text from the API goes in as text only


@pytest.mark.parametrize("name", ["nothing.js", "..%2Fapp.py", ".hidden.css", "map.py"])
async def test_anything_else_under_map_is_a_404(name: str) -> None:
    async with serving() as client:
        problem(await client.get(f"/map/{name}"), 404)


async def test_the_map_stays_out_of_the_openapi_document() -> None:
    async with serving() as client:
        paths = (await client.get("/openapi.json")).json()["paths"]
    assert not {"/", "/map", "/map/{asset}"} & set(paths)


async def test_the_map_may_load_only_the_service_itself_and_no_page_may_frame_it() -> None:
    async with serving() as client:
        page = await client.get("/map")
        script = await client.get("/map/map.js")
        answer = await client.get("/v1/places")
        missing = await client.get("/v1/places/Atlantis")
    policy = page.headers["content-security-policy"]
    assert "default-src 'self'" in policy
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert "frame-ancestors 'none'" in policy
    assert script.headers["content-security-policy"] == policy
    for response in (page, script, answer, missing):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "no-referrer"
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    # The map's page holds no inline script or style for its policy to block.
    assert "<style" not in page.text
    assert not re.search(r"<script(?![^>]*\bsrc=)", page.text)
    assert " style=" not in page.text
