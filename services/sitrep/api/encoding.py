"""Responses: views as the view topics carry them (orjson), GeoJSON and CSV."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from typing import Any

import orjson
from starlette.responses import JSONResponse

from sitrep.api.readmodel import Freshness
from sitrep.views.control import ControlView

GEOJSON = "application/geo+json"
CSV = "text/csv; charset=utf-8"


class ViewResponse(JSONResponse):
    """JSON encoded by orjson exactly as the worker encodes view records (dataclasses,
    RFC 3339 date-times), so the API and the view topics agree byte for byte on a view.

    A ``JSONResponse``, so FastAPI documents each route's ``response_model`` (for any other
    response class it documents a string)."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def freshness_headers(freshness: Freshness) -> dict[str, str]:
    """Freshness for formats without a place for it in the body."""
    position = ",".join(f"{p}:{o}" for p, o in freshness.position.items())
    behind = "unknown" if freshness.behind is None else str(freshness.behind)
    return {"Sitrep-Log-Position": position, "Sitrep-Behind": behind}


def plain(value: Any) -> Any:
    """A view as plain JSON data (dicts, lists, strings), as it is encoded."""
    return orjson.loads(orjson.dumps(value))


def feature_collection(views: Sequence[ControlView], extra: Mapping[str, Any]) -> bytes:
    """An RFC 7946 FeatureCollection: one Point per place, its control in the properties
    (encoded as the view topics encode it, once).

    A place reported without coordinates has no geometry (``null``, as RFC 7946 allows).
    """
    features = []
    for view in views:
        place = view.place
        geometry = (
            {"type": "Point", "coordinates": [place.lon, place.lat]}
            if place.lat is not None and place.lon is not None
            else None
        )
        head = orjson.dumps({"type": "Feature", "id": place.id, "geometry": geometry})
        features.append(head[:-1] + b',"properties":' + orjson.dumps(view) + b"}")
    tail = orjson.dumps(extra)
    return (
        b'{"type":"FeatureCollection","features":['
        + b",".join(features)
        + (b"]," + tail[1:] if len(tail) > 2 else b"]}")
    )


CSV_COLUMNS = (
    "place_id",
    "name",
    "country",
    "admin1",
    "lat",
    "lon",
    "controller_id",
    "controller",
    "since",
    "status",
    "corroboration",
    "reasons",
)


def csv_of(views: Sequence[ControlView]) -> bytes:
    """One row per place, with a header row."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for view in views:
        place = view.place
        writer.writerow(
            (
                place.id,
                place.name,
                place.country or "",
                place.admin1 or "",
                "" if place.lat is None else place.lat,
                "" if place.lon is None else place.lon,
                view.controller.id if view.controller else "",
                view.controller.name if view.controller else "",
                view.since.isoformat() if view.since is not None else "",
                view.status,
                view.corroboration,
                "; ".join(view.reasons),
            )
        )
    return out.getvalue().encode()
