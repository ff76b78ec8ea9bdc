"""GET / and /map: the situation map, a page of plain HTML, CSS and JS shipped in the package.

Everything the page loads comes from here or from the API itself (no tile server, no CDN), so
it works offline. The assets are package data under ``sitrep/api/web``.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files

from fastapi import APIRouter
from starlette.responses import Response

from sitrep.api.problems import not_found

router = APIRouter(tags=["map"], include_in_schema=False)

MEDIA_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
}
PAGE = "index.html"
# The assets change only with the package; a short cache still lets a reload pick up an upgrade.
CACHE = {"Cache-Control": "public, max-age=300"}


@cache
def _asset(name: str) -> tuple[bytes, str] | None:
    """The bytes and media type of one shipped asset, ``None`` for anything else."""
    suffix = name[name.rfind(".") :] if "." in name else ""
    if "/" in name or "\\" in name or name.startswith(".") or suffix not in MEDIA_TYPES:
        return None
    resource = files("sitrep.api").joinpath("web", name)
    if not resource.is_file():
        return None
    return resource.read_bytes(), MEDIA_TYPES[suffix]


def _serve(name: str) -> Response:
    found = _asset(name)
    if found is None:
        raise not_found(f"the map has no asset called {name!r}")
    body, media_type = found
    return Response(body, media_type=media_type, headers=CACHE)


@router.get("/")
@router.get("/map")
async def situation_map() -> Response:
    """The situation map."""
    return _serve(PAGE)


@router.get("/map/{asset}")
async def map_asset(asset: str) -> Response:
    """A stylesheet, script or image of the map."""
    return _serve(asset)
