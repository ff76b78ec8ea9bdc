"""GET /metrics: the API's metrics in the Prometheus text format."""

from __future__ import annotations

from fastapi import APIRouter, Request
from prometheus_client.exposition import choose_encoder
from starlette.responses import PlainTextResponse, Response

from sitrep.api.metrics import metrics_of

router = APIRouter(tags=["health"])


@router.get("/metrics", response_class=PlainTextResponse)
async def metrics(request: Request) -> Response:
    """Requests by route and status, latency, the read model's progress, publish outcomes."""
    registry = metrics_of(request).registry
    encode, content_type = choose_encoder(request.headers.get("accept", ""))
    return Response(encode(registry), headers={"Content-Type": content_type})
